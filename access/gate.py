"""Per-request access gates, in the order they apply to a logged-in user:

1. idle timeout: a session unused for ESEP_SESSION_IDLE_SECONDS is ended;
2. second factor: a user with a confirmed TOTP device is sent to the code page until verified;
3. training (R16): with ESEP_TRAINING_GATE on, a user without an attestation this quarter (or an
   administrator's override) is refused with a page saying why and whom to contact;
4. read-only auditors (R17): a user who works in the current institution only as an auditor
   cannot send a write (POST/PUT/PATCH/DELETE) anywhere;
and, after the response, every page and API answer an auditor reads is journaled.

Session users are gated here (process_view, where the URL name is known); API token users are
gated by the same functions from access.api_auth, because DRF authenticates tokens only inside
the view.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from .middleware import current_institution
from .models import Action, Outcome
from .roles import Role
from .services import is_read_only, log_action, roles_in, training_valid_until

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Pages every logged-in user reaches whatever the gates say: leaving, choosing a language, and
# the gates' own pages.
ALWAYS_OPEN = {"login", "logout", "set_language", "otp_verify", "training_required"}
# Writes an auditor may make: they change only his own session or second factor.
AUDITOR_MAY_POST = {"logout", "set_language", "switch_institution", "otp_verify", "otp_enrol"}
LAST_SEEN = "esep_last_seen"
OTP_PENDING = "esep_otp_pending"
TRAINING_OK = "esep_training_ok_until"


def training_required() -> bool:
    return bool(getattr(settings, "ESEP_TRAINING_GATE", False))


def training_refusal(user) -> bool:
    """True when the training gate refuses this user now (superusers are exempt: they are the
    break-glass account that records attestations)."""
    return training_required() and not user.is_superuser and training_valid_until(user) is None


def write_refusal(user, request, institution) -> bool:
    return request.method not in SAFE_METHODS and is_read_only(user, institution)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _refuse(request, code: str, message: str, status: int = 403, template: str | None = None, context=None):
    if _is_api(request) or template is None:
        if _is_api(request):
            return JsonResponse({"code": code, "message": message}, status=status)
        return render(request, "403.html", {"exception": message}, status=status)
    return render(request, template, {"message": message, **(context or {})}, status=status)


class AccessGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        self._journal_auditor(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            return None
        url_name = getattr(request.resolver_match, "url_name", None)
        return (self._idle(request, user) or self._otp(request, user, url_name)
                or self._training(request, user, url_name) or self._read_only(request, user, url_name))

    def _idle(self, request, user):
        idle = getattr(settings, "ESEP_SESSION_IDLE_SECONDS", 0)
        now = int(time.time())
        last = request.session.get(LAST_SEEN)
        if idle and last is not None and now - int(last) > idle:
            log_action(actor=user, action=Action.LOGOUT, request=request, institution=None,
                       details=f"session idle for more than {idle} s")
            logout(request)
            if _is_api(request):
                return JsonResponse({"code": "session_expired", "message": _("Your session has expired.")},
                                    status=401)
            return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
        # Written at most once a minute, so an idle check costs no session save per request.
        if last is None or now - int(last) >= 60:
            request.session[LAST_SEEN] = now
        return None

    def _otp(self, request, user, url_name):
        if not request.session.get(OTP_PENDING) or url_name in ALWAYS_OPEN:
            return None
        if getattr(user, "is_verified", lambda: False)():
            request.session.pop(OTP_PENDING, None)
            return None
        if _is_api(request):
            return JsonResponse({"code": "otp_required", "message": _("Enter the code of your authenticator.")},
                                status=403)
        return redirect(f"{reverse('otp_verify')}?{urlencode({'next': request.get_full_path()})}")

    def _training(self, request, user, url_name):
        if not training_required() or user.is_superuser or url_name in ALWAYS_OPEN:
            return None
        today = timezone.localdate()
        ok_until = request.session.get(TRAINING_OK)
        # Attestations and overrides are append-only, so "trained until the quarter's end" stays
        # true once found; the session keeps it and spares two queries a request.
        if ok_until and ok_until >= today.isoformat():
            return None
        valid = training_valid_until(user, today)
        if valid is not None:
            request.session[TRAINING_OK] = valid.isoformat()
            return None
        log_action(actor=user, action=Action.VIEW, outcome=Outcome.REFUSED, request=request,
                   object_type="training_gate", object_id=request.path[:100], details="no training this quarter")
        if _is_api(request):
            return JsonResponse({"code": "training_required", "message": training_message()}, status=403)
        return redirect("training_required")

    def _read_only(self, request, user, url_name):
        if request.method in SAFE_METHODS or url_name in AUDITOR_MAY_POST:
            return None
        institution = current_institution(request)
        if not is_read_only(user, institution):
            return None
        log_action(actor=user, action=Action.EDIT, outcome=Outcome.REFUSED, request=request,
                   institution=institution, object_type="read_only", object_id=request.path[:100],
                   details=f"{request.method} by an auditor")
        return _refuse(request, "read_only", read_only_message())

    def _journal_auditor(self, request, response):
        """Order No. 270 / R17: every page and report an auditor opens is journaled."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.method not in SAFE_METHODS:
            return
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")) or response.status_code >= 400:
            return
        institution = current_institution(request)
        roles = roles_in(user, institution)
        if Role.AUDITOR not in roles:
            return
        log_action(actor=user, action=Action.VIEW, request=request, institution=institution, roles=roles,
                   object_type="api" if _is_api(request) else "page", object_id=request.path[:100],
                   details=request.META.get("QUERY_STRING", "")[:500])


def training_message() -> str:
    return _("Your last training in Esep is older than the current quarter. Access is refused until you "
             "complete the quarterly training.")


def read_only_message() -> str:
    return _("Auditors have read-only access: nothing can be changed.")
