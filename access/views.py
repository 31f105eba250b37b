"""Access pages: login, logout, the institution switcher and the action journal (R4)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .errors import PermissionRefused
from .forms import ActionJournalFilterForm, LoginForm
from .middleware import SESSION_KEY, current_institution, institutions_of
from .models import Action, ActionLog, Membership, Outcome, User
from .roles import Capability
from .services import log_action, require

PAGE_SIZE = 50  # journal rows a page


class LoginView(auth_views.LoginView):
    """Django's login (already exempt from LoginRequiredMiddleware) with our template and form.
    Success, failure and logout reach the action journal through access/signals.py."""

    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot log anyone out."""


def _safe_next(request, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    from django.urls import reverse

    return reverse(fallback)


@require_POST
def switch_institution(request):
    """Work in another of the user's institutions: membership is checked, the choice is kept
    in the session and journaled."""
    wanted = request.POST.get("institution", "")
    institution = institutions_of(request.user).filter(pk=wanted).first() if wanted.isdigit() else None
    if institution is None:
        log_action(actor=request.user, action=Action.SWITCH, outcome=Outcome.REFUSED, request=request,
                   object_type="institution", object_id=wanted[:20], details="not a member")
        raise PermissionDenied(_("You are not a member of this institution."))
    request.session[SESSION_KEY] = institution.pk
    log_action(actor=request.user, action=Action.SWITCH, request=request, institution=institution,
               object_type="institution", object_id=institution.pk)
    messages.success(request, _("You now work in %(name)s.") % {"name": institution.name})
    # A page of the previous institution (an entry, a period) would be a 404 in the new one.
    return redirect("home")


@require_GET
def action_journal(request):
    """The registration journal of user actions: the current institution's rows, plus the
    logins, logouts and failed logins of its people (those carry no institution)."""
    institution = current_institution(request)
    if institution is None:
        raise PermissionDenied(_("You are not a member of any institution."))
    try:
        require(request.user, institution, Capability.VIEW_JOURNAL, request=request, object_type="action_journal")
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused.message)) from None
    members = Membership.objects.filter(institution=institution).values("user_id")
    usernames = User.objects.filter(memberships__institution=institution).values("username")
    qs = ActionLog.objects.filter(
        Q(institution=institution)
        | Q(institution__isnull=True, user_id__in=members)
        | Q(institution__isnull=True, user__isnull=True, username__in=usernames)
    )
    form = ActionJournalFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["date_from"]:
            qs = qs.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(at__date__lte=data["date_to"])
        if data["action"]:
            qs = qs.filter(action=data["action"])
        if data["outcome"]:
            qs = qs.filter(outcome=data["outcome"])
        if data["full_name"]:
            qs = qs.filter(Q(full_name__icontains=data["full_name"]) | Q(username__icontains=data["full_name"]))
        if data["iin"]:
            qs = qs.filter(iin__startswith=data["iin"].strip())
    page = Paginator(qs.select_related("institution").order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type="action_journal", details=request.GET.urlencode()[:500])
    template = "access/_journal_rows.html" if request.htmx and not request.htmx.boosted else "access/journal.html"
    return render(request, template, {"form": form, "page": page})


# ---------------------------------------------------------------------------------------------
# Auditor grants (R17), training (R16), second factor. Kept by administrators
# (access.manage_users); every decision is journaled by the services.

def _manager_or_403(request):
    from .services import may_manage_users

    if not may_manage_users(request.user):
        log_action(actor=request.user, action=Action.VIEW, outcome=Outcome.REFUSED, request=request,
                   object_type=request.path[:100], details="missing access.manage_users")
        raise PermissionDenied(_("Only an administrator may do this."))


def _add_errors(form, error):
    from .errors import ControlErrors

    for item in (error.errors if isinstance(error, ControlErrors) else [error]):
        form.add_error(item.field if item.field in form.fields else None, str(item.message))


def auditor_grants(request):
    """Requests for auditor access (order No. 270) and the form of a new one."""
    from .errors import ControlError
    from .forms import AuditorGrantForm
    from .models import AuditorGrant
    from .services import request_auditor_grant

    _manager_or_403(request)
    form = AuditorGrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = request_auditor_grant(actor=request.user, request=request, **form.cleaned_data)
        except ControlError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The request is recorded. Approve it to give access."))
            return redirect("auditor_grant", pk=grant.pk)
    grants = AuditorGrant.objects.select_related("user", "scope_institution").order_by("-requested_at")
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "access/grants.html", {"form": form, "page": page})


def auditor_grant(request, pk: int):
    from django.shortcuts import get_object_or_404

    from .errors import ControlError
    from .forms import DecisionForm
    from .models import AuditorGrant
    from .services import approve_auditor_grant, end_auditor_grant

    _manager_or_403(request)
    grant = get_object_or_404(AuditorGrant.objects.select_related("user", "scope_institution"), pk=pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decision = request.POST.get("decision")
        reason = form.cleaned_data["reason"]
        try:
            if decision == "approve":
                approve_auditor_grant(grant=grant, actor=request.user, request=request, note=reason)
                messages.success(request, _("Access is granted."))
            elif decision in ("refuse", "revoke"):
                end_auditor_grant(grant=grant, actor=request.user, request=request, reason=reason,
                                  refuse=decision == "refuse")
                messages.success(request, _("Access is closed."))
        except ControlError as error:
            _add_errors(form, error)
        else:
            return redirect("auditor_grant", pk=grant.pk)
    return render(request, "access/grant_detail.html", {"grant": grant, "form": form,
                                                         "scope": grant.institutions().order_by("name_ru")[:200]})


def training(request):
    """Training attestations (R16) and administrators' overrides."""
    from .errors import ControlError
    from .forms import AttestationForm, OverrideForm
    from .models import TrainingAttestation, TrainingOverride
    from .services import override_training, record_attestation

    _manager_or_403(request)
    which = request.POST.get("form")
    attest = AttestationForm(request.POST if which == "attest" else None, prefix="a")
    override = OverrideForm(request.POST if which == "override" else None, prefix="o")
    if request.method == "POST":
        form = attest if which == "attest" else override
        if form.is_valid():
            try:
                if which == "attest":
                    record_attestation(actor=request.user, request=request, **form.cleaned_data)
                else:
                    override_training(actor=request.user, request=request, **form.cleaned_data)
            except ControlError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("training")
    rows = TrainingAttestation.objects.select_related("user").order_by("-date", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    overrides = TrainingOverride.objects.select_related("user", "granted_by").order_by("-granted_at")[:50]
    return render(request, "access/training.html", {"attest": attest, "override": override, "page": page,
                                                     "overrides": overrides})


def training_required(request):
    """The page the training gate shows: why access is refused, and whom to contact."""
    from django.conf import settings

    from .gate import training_message
    from .models import TrainingAttestation
    from .roles import Role

    last = TrainingAttestation.objects.filter(user=request.user).order_by("-date").first()
    admins = (User.objects.filter(memberships__role=Role.ADMINISTRATOR,
                                  memberships__institution__memberships__user=request.user)
              .exclude(pk=request.user.pk).distinct().order_by("last_name")[:10])
    return render(request, "access/training_required.html", {
        "message": training_message(), "last": last, "admins": admins,
        "contact": getattr(settings, "ESEP_TRAINING_CONTACT", ""),
    }, status=403)


def otp_enrol(request):
    """Switch on the second factor: scan the QR code into an authenticator, confirm one code."""
    import qrcode
    import qrcode.image.svg
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .forms import OTPTokenForm

    confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    device = confirmed or TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="Esep", confirmed=False)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and confirmed is None and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            log_action(actor=request.user, action=Action.EDIT, request=request, object_type="otp_device",
                       object_id=device.pk, details="second factor switched on")
            messages.success(request, _("The second factor is on. You will enter a code at every login."))
            return redirect("home")
        form.add_error("token", _("The code is wrong or expired. Enter the current code."))
    svg = ""
    if confirmed is None:
        image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
        svg = image.to_string(encoding="unicode")
    return render(request, "access/otp_enrol.html", {"form": form, "confirmed": confirmed, "qr_svg": svg,
                                                      "secret": device.bin_key.hex() if confirmed is None else ""})


def otp_verify(request):
    """The second step of the login for a user with a confirmed device."""
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .forms import OTPTokenForm
    from .gate import OTP_PENDING

    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                request.session.pop(OTP_PENDING, None)
                log_action(actor=request.user, action=Action.LOGIN, request=request, institution=None,
                           details="second factor verified")
                return redirect(_safe_next(request))
        log_action(actor=request.user, action=Action.LOGIN_FAILED, outcome=Outcome.FAILED, request=request,
                   institution=None, details="wrong second-factor code")
        form.add_error("token", _("The code is wrong or expired. Enter the current code."))
    return render(request, "access/otp_verify.html", {"form": form, "next": request.GET.get("next", "")})
