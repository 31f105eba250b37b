"""Tenant scoping: every request works in one institution the user belongs to.

The current institution is chosen in the session (UI switcher) or by the `X-Institution`
header (API, by id or BIN); it must be one of the user's memberships. Views, the API and
querysets take it from `current_institution(request)`; nothing else decides which tenant a
request sees.
"""

from django.utils import timezone

SESSION_KEY = "institution_id"
_CACHE = "_esep_institution"


def institutions_of(user):
    from .models import Institution, Membership

    if user is None or not user.is_authenticated:
        return Institution.objects.none()
    from django.db.models import Q

    from .services import auditor_scope_ids

    today = timezone.localdate()
    members = Membership.objects.filter(user=user).exclude(valid_until__lt=today).values("institution_id")
    # An auditor's grant (order No. 270) scopes him to institutions by jurisdiction: they are
    # "his" institutions for the switcher and the X-Institution header, read-only.
    return Institution.objects.filter(Q(pk__in=members) | Q(pk__in=auditor_scope_ids(user))).order_by("name_ru")


def current_institution(request):
    """The institution this request works in, or None (anonymous, or no membership).

    Works for Django and DRF requests alike: DRF authenticates tokens after the middleware
    ran, so the answer is computed on first use and cached per authenticated user."""
    user = getattr(request, "user", None)
    cached = getattr(request, _CACHE, None)
    if cached is not None and cached[0] == getattr(user, "pk", None):
        return cached[1]
    institution = institution_for(user, request)
    setattr(request, _CACHE, (getattr(user, "pk", None), institution))
    return institution


def institution_for(user, request):
    """The institution `user` works in for this request (header, then session, then the first)."""
    if user is None or not user.is_authenticated:
        return None
    allowed = institutions_of(user)
    wanted = request.headers.get("X-Institution")
    if not wanted and hasattr(request, "session"):
        wanted = request.session.get(SESSION_KEY)
    wanted = str(wanted or "")
    institution = None
    if wanted.isdigit():
        institution = allowed.filter(**{"bin" if len(wanted) == 12 else "pk": wanted}).first()
    if institution is None:
        institution = allowed.first()
    return institution
