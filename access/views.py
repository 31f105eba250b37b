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
