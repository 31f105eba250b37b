from .middleware import current_institution, institutions_of
from .roles import capabilities_of
from .services import roles_in


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    institution = current_institution(request)
    roles = roles_in(user, institution)
    return {
        "current_institution": institution,
        "my_institutions": institutions_of(user),
        "my_roles": roles,
        "can": {cap.replace(".", "_"): True for cap in capabilities_of(roles)},
    }
