"""API wiring shared by every app: the error shape of refused controls."""

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from access.errors import ControlError, PermissionRefused


def exception_handler(exc, context):
    if isinstance(exc, PermissionRefused):
        return Response(exc.as_dict(), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ControlError):
        # A control refused the operation: 422 with the rule code and the message in the
        # user's language (activated by LocaleMiddleware from Accept-Language or the cookie).
        return Response(exc.as_dict(), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 404:
        response.data = {"code": "not_found", "message": _("Not found.")}
    return response
