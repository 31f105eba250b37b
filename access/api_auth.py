"""DRF authentication with the access gates (training, auditors read-only) applied to API token
users, whom the middleware cannot see: DRF authenticates tokens inside the view."""

from rest_framework import authentication, exceptions

from .gate import read_only_message, training_message, training_refusal, write_refusal
from .middleware import institution_for
from .models import Action, Outcome
from .services import log_action


def _gate(request, result):
    if result is None:
        return None
    user = result[0]
    django_request = request._request
    if training_refusal(user):
        log_action(actor=user, action=Action.VIEW, outcome=Outcome.REFUSED, request=django_request,
                   institution=None, object_type="training_gate", object_id=django_request.path[:100],
                   details="no training this quarter")
        raise exceptions.PermissionDenied(training_message())
    institution = institution_for(user, django_request)
    if write_refusal(user, django_request, institution):
        log_action(actor=user, action=Action.EDIT, outcome=Outcome.REFUSED, request=django_request,
                   institution=institution, object_type="read_only", object_id=django_request.path[:100],
                   details=f"{django_request.method} by an auditor")
        raise exceptions.PermissionDenied(read_only_message())
    return result


class GatedTokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        return _gate(request, super().authenticate(request))
