from django.apps import apps

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
        # Order No. 270: an auditor sees that his access is read-only.
        "read_only": bool(roles) and set(roles) <= {"auditor"},
        "app_nav_templates": app_nav_templates(),
    }


def app_nav_templates() -> list[str]:
    """Each app's part of the side menu (AppConfig.nav_template), in INSTALLED_APPS order."""
    return [config.nav_template for config in apps.get_app_configs() if getattr(config, "nav_template", None)]
