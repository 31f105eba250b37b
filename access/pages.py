"""What every app's pages share: the current institution, refused with a journaled 403 unless
the user's role there holds the capability."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .errors import PermissionRefused
from .middleware import current_institution
from .models import Action
from .services import require


def need_capability(request, capability: str, *, action: str = Action.VIEW, object_type: str = ""):
    """The current institution, if the user's role there holds `capability`; otherwise the
    refusal is journaled (by `require`) and the page answers 403."""
    institution = current_institution(request)
    if institution is None:
        raise PermissionDenied(_("You are not a member of any institution."))
    try:
        require(request.user, institution, capability, request=request, action=action, object_type=object_type)
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused.message)) from None
    return institution
