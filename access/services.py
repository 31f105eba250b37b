"""The one door for writes to access data: institutions, users, memberships, the journal."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .errors import PermissionRefused
from .models import Action, ActionLog, Institution, Membership, Outcome, User
from .roles import Role, capabilities_of


def client_ip(request) -> str | None:
    if request is None:
        return None
    # Behind the deployment's reverse proxy the address comes in X-Forwarded-For; only the
    # proxy may set it, which the deployment guarantees (docs/operations.md).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


_GRANT_CACHE = "_esep_auditor_scope"


def auditor_scope_ids(user) -> frozenset[int]:
    """Institutions an approved, unexpired auditor grant lets the user read (order No. 270).

    Computed once per user object (a request loads its user afresh, so a grant approved or
    revoked takes effect at the user's next request); `forget_auditor_scope` clears it."""
    if user is None or not user.is_authenticated:
        return frozenset()
    today = timezone.localdate()
    cached = getattr(user, _GRANT_CACHE, None)
    if cached is not None and cached[0] == today:
        return cached[1]
    from .models import AuditorGrant, GrantStatus

    ids: set[int] = set()
    grants = AuditorGrant.objects.filter(user=user, status=GrantStatus.APPROVED, valid_from__lte=today,
                                         valid_until__gte=today).select_related("scope_institution")
    for grant in grants:
        ids.update(grant.institutions().values_list("pk", flat=True))
    result = frozenset(ids)
    setattr(user, _GRANT_CACHE, (today, result))
    return result


def forget_auditor_scope(user) -> None:
    if user is not None and hasattr(user, _GRANT_CACHE):
        delattr(user, _GRANT_CACHE)


def roles_in(user, institution) -> list[str]:
    if user is None or not user.is_authenticated or institution is None:
        return []
    today = timezone.localdate()
    roles = [
        m.role for m in user.memberships.all()
        if m.institution_id == institution.id and (m.valid_until is None or m.valid_until >= today)
    ]
    if Role.AUDITOR not in roles and institution.id in auditor_scope_ids(user):
        roles.append(Role.AUDITOR)
    return roles


def is_read_only(user, institution) -> bool:
    """True when the user works in the institution only as an auditor: nothing may be written."""
    roles = roles_in(user, institution)
    return bool(roles) and set(roles) <= {Role.AUDITOR}


def log_action(*, actor, action: str, outcome: str = Outcome.SUCCESS, request=None, institution=None,
               object_type: str = "", object_id="", details: str = "", username: str = "",
               roles: list[str] | None = None) -> ActionLog:
    """Append one record to the action journal (R4). Identity is copied, not referenced only,
    so the record reads the same after the user is renamed or disabled."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if institution is None and request is not None:
        from .middleware import current_institution

        institution = current_institution(request)
    return ActionLog.objects.create(
        at=timezone.now(),
        user=user,
        username=user.username if user else username,
        full_name=user.full_name if user else "",
        iin=(user.iin or "") if user else "",
        role=",".join(sorted(roles if roles is not None else roles_in(user, institution))) if user else "",
        institution=institution,
        ip=client_ip(request),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        outcome=outcome,
        details=details[:4000],
    )


def require(user, institution, capability: str, *, request=None, action: str = Action.VIEW,
            object_type: str = "") -> list[str]:
    """Refuse (and journal the refusal) unless the user holds the capability there. Returns the
    user's roles there, which the caller hands to log_action instead of reading them again."""
    roles = roles_in(user, institution)
    if capability in capabilities_of(roles):
        return roles
    log_action(actor=user, action=action, outcome=Outcome.REFUSED, request=request,
               institution=institution, object_type=object_type, details=f"missing {capability}", roles=roles)
    from django.utils.translation import gettext as _

    raise PermissionRefused("permission_refused", _("Your role in this institution does not allow this."),
                            capability=capability)


@transaction.atomic
def create_institution(*, actor, bin: str, name_kk: str, name_ru: str, budget_level: str, region: str,
                       administrator_code: str, parent: Institution | None = None,
                       is_block_budget_pilot: bool = False) -> Institution:
    institution = Institution(
        bin=bin, name_kk=name_kk, name_ru=name_ru, budget_level=budget_level, region=region,
        administrator_code=administrator_code, parent=parent, is_block_budget_pilot=is_block_budget_pilot,
    )
    institution.full_clean()
    institution.save()
    log_action(actor=actor, action=Action.CREATE, institution=institution, object_type="institution",
               object_id=institution.pk, details=f"BIN {bin}")
    return institution


@transaction.atomic
def create_user(*, actor, username: str, password: str, last_name: str, first_name: str,
                patronymic: str = "", iin: str, email: str = "") -> User:
    user = User(username=username, last_name=last_name, first_name=first_name, patronymic=patronymic,
                iin=iin, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    log_action(actor=actor, action=Action.CREATE, object_type="user", object_id=user.pk,
               details=f"{user.full_name} IIN {iin}")
    return user


@transaction.atomic
def grant_role(*, actor, user: User, institution: Institution, role: Role, valid_until=None) -> Membership:
    membership, _created = Membership.objects.get_or_create(
        user=user, institution=institution, role=role, defaults={"valid_until": valid_until}
    )
    if role == Role.ADMINISTRATOR and not user.is_staff:
        # administrators edit reference data in the admin site (access/admin.py ReferenceAdmin)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    log_action(actor=actor, action=Action.EDIT, institution=institution, object_type="membership",
               object_id=membership.pk, details=f"{user.username} → {role}")
    return membership


@transaction.atomic
def shut_off_access(*, user: User, reason: str, actor=None, request=None, institution=None) -> int:
    """Switch a user's access off at once (R15: dismissal, transfer or change of contract,
    whether reported by payroll or by an HR import): the account is disabled, every session
    of the user is deleted and every API token revoked, and the journal says who, why and
    how many sessions ended. Idempotent: a second call finds nothing more to end. Returns the
    number of sessions ended."""
    from django.contrib.sessions.models import Session
    from rest_framework.authtoken.models import Token

    if not (reason or "").strip():
        from django.utils.translation import gettext as _

        from .errors import ControlError

        raise ControlError("reason_required", _("Switching access off needs a reason."), field="reason")
    ended = 0
    # Sessions are stored signed and encoded; the user id is inside. The table holds only
    # live sessions (expired ones are cleared), so reading them is bounded by concurrent users.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    tokens = Token.objects.filter(user=user).delete()[0]
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=institution, object_type="user",
               object_id=user.pk, username="system" if actor is None else "",
               details=f"access shut off ({reason}): {user.username}, {ended} session(s), {tokens} token(s)")
    return ended


# ---------------------------------------------------------------------------------------------
# Auditor access (R17, order No. 270): request → administrator's decision → expiry by itself.

def may_manage_users(user) -> bool:
    """Auditor grants and training records are kept by administrators (capability
    access.manage_users in some institution) or superusers."""
    from .roles import Capability

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    today = timezone.localdate()
    return Capability.MANAGE_USERS in capabilities_of(
        m.role for m in user.memberships.all() if m.valid_until is None or m.valid_until >= today
    )


def _require_manager(actor, request, object_type: str):
    if not may_manage_users(actor):
        log_action(actor=actor, action=Action.EDIT, outcome=Outcome.REFUSED, request=request,
                   object_type=object_type, details="missing access.manage_users")
        raise PermissionRefused("permission_refused", gettext("Only an administrator may do this."),
                                capability="access.manage_users")


def _manager_action(object_type: str):
    """Check the administrator's capability outside the transaction (so the refusal stays in the
    journal), then run the action in one transaction."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, actor, request=None, **kwargs):
            _require_manager(actor, request, object_type)
            with transaction.atomic():
                return fn(*args, actor=actor, request=request, **kwargs)
        return inner
    return wrap


def one_year_after(start):
    """The last day of a one-calendar-year grant that starts on `start` (order No. 270 p.9)."""
    import datetime as dt

    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = dt.date(start.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


@_manager_action("auditor_grant")
def request_auditor_grant(*, actor, request=None, full_name: str, iin: str, position: str, eqyzmet_qr: str,
                          phone: str, email: str, purpose: str, audit_body: str, scope_kind: str,
                          scope_institution=None, scope_region: str = "", scope_administrator_code: str = "",
                          valid_from, valid_until=None):
    """Record a request with the columns of order No. 270's form. Every problem is reported at
    once (ControlErrors) and nothing is saved unless all is well."""
    from django.core.exceptions import ValidationError

    from .errors import ControlError, ControlErrors
    from .models import AuditorGrant, ScopeKind

    valid_until = valid_until or one_year_after(valid_from)
    grant = AuditorGrant(
        full_name=full_name.strip(), iin=iin.strip(), position=position.strip(), eqyzmet_qr=eqyzmet_qr.strip(),
        phone=phone.strip(), email=email.strip(), purpose=purpose.strip(), audit_body=audit_body.strip(),
        scope_kind=scope_kind, scope_institution=scope_institution if scope_kind == ScopeKind.SUBTREE else None,
        scope_region=scope_region.strip() if scope_kind == ScopeKind.REGION else "",
        scope_administrator_code=(scope_administrator_code.strip()
                                  if scope_kind == ScopeKind.ADMINISTRATOR_CODE else ""),
        valid_from=valid_from, valid_until=valid_until, requested_by=actor,
    )
    errors: list[ControlError] = []
    if valid_until > one_year_after(valid_from):
        errors.append(ControlError("grant_longer_than_a_year",
                                   gettext("Access is granted for one calendar year at most (order No. 270 p.9)."),
                                   field="valid_until"))
    if valid_until < valid_from:
        errors.append(ControlError("grant_dates_reversed", gettext("The end date is before the start date."),
                                   field="valid_until"))
    scope_field = {ScopeKind.SUBTREE: ("scope_institution", grant.scope_institution_id),
                   ScopeKind.REGION: ("scope_region", grant.scope_region),
                   ScopeKind.ADMINISTRATOR_CODE: ("scope_administrator_code", grant.scope_administrator_code)}
    if scope_kind in scope_field and not scope_field[scope_kind][1]:
        errors.append(ControlError("grant_scope_missing", gettext("Name the jurisdiction of the access."),
                                   field=scope_field[scope_kind][0]))
    try:
        grant.full_clean(exclude=["requested_by", "user", "decided_by"], validate_constraints=False)
    except ValidationError as invalid:
        for field, messages in invalid.message_dict.items():
            if not any(e.field == field for e in errors):
                errors.append(ControlError("invalid", "; ".join(messages), field=field))
    if errors:
        raise ControlErrors(errors)
    grant.save()
    log_action(actor=actor, action=Action.CREATE, request=request, object_type="auditor_grant", object_id=grant.pk,
               details=f"{grant.full_name} IIN {grant.iin}, {grant.audit_body}: {grant.scope_kind} "
                       f"{grant.scope_label()} {grant.valid_from}–{grant.valid_until}")
    return grant


@_manager_action("auditor_grant")
def approve_auditor_grant(*, grant, actor, request=None, note: str = ""):
    """The administrator approves: the auditor's account (found by IIN, or created without a
    usable password: the administrator sets one) gets read-only access to the scope."""
    from .errors import ControlError
    from .models import AuditorGrant, GrantStatus

    grant = AuditorGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.status != GrantStatus.REQUESTED:
        raise ControlError("grant_already_decided", gettext("This request has already been decided."),
                           field="status")
    user = User.objects.filter(iin=grant.iin).first()
    if user is None:
        parts = grant.full_name.split()
        user = User(username=f"audit-{grant.iin}", iin=grant.iin, email=grant.email,
                    last_name=parts[0] if parts else "", first_name=parts[1] if len(parts) > 1 else "",
                    patronymic=" ".join(parts[2:]))
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        log_action(actor=actor, action=Action.CREATE, request=request, object_type="user", object_id=user.pk,
                   details=f"auditor account for grant {grant.pk}")
    grant.user = user
    grant.status = GrantStatus.APPROVED
    grant.decided_by = actor
    grant.decided_at = timezone.now()
    grant.decision_note = note
    grant.save()
    forget_auditor_scope(user)
    log_action(actor=actor, action=Action.APPROVE, request=request, object_type="auditor_grant", object_id=grant.pk,
               details=f"{user.username}: {grant.scope_kind} {grant.scope_label()} until {grant.valid_until}")
    return grant


@_manager_action("auditor_grant")
def end_auditor_grant(*, grant, actor, reason: str, request=None, refuse: bool = False):
    """Refuse a request, or revoke an approved grant before its end (order No. 270 p.9: the
    auditor's body reports dismissal or transfer within three working days)."""
    from .errors import ControlError
    from .models import AuditorGrant, GrantStatus

    if not (reason or "").strip():
        raise ControlError("reason_required", gettext("Give a reason."), field="reason")
    grant = AuditorGrant.objects.select_for_update().get(pk=grant.pk)
    wanted_from = GrantStatus.REQUESTED if refuse else GrantStatus.APPROVED
    if grant.status != wanted_from:
        raise ControlError("grant_already_decided", gettext("This request has already been decided."),
                           field="status")
    grant.status = GrantStatus.REFUSED if refuse else GrantStatus.REVOKED
    grant.decided_by = grant.decided_by or actor
    grant.decided_at = timezone.now()
    grant.decision_note = reason
    grant.save()
    if grant.user is not None:
        forget_auditor_scope(grant.user)
    log_action(actor=actor, action=Action.EDIT, request=request, object_type="auditor_grant", object_id=grant.pk,
               details=f"{grant.status}: {reason}")
    return grant


# ---------------------------------------------------------------------------------------------
# Training gate (R16, order No. 270 p.13): every quarter.

def quarter_start(day):
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def quarter_end(day):
    import datetime as dt

    start = quarter_start(day)
    month = start.month + 3
    nxt = dt.date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def training_valid_until(user, today=None):
    """The last day the user may work without another training, or None when he may not
    work now: the quarter's end if he was attested this quarter, or an override's end."""
    from django.db.models import Max

    from .models import TrainingAttestation, TrainingOverride

    today = today or timezone.localdate()
    last = TrainingAttestation.objects.filter(user=user).aggregate(last=Max("date"))["last"]
    ends = []
    if last is not None and quarter_start(today) <= last <= today:
        ends.append(quarter_end(today))
    override = TrainingOverride.objects.filter(user=user, until__gte=today).aggregate(u=Max("until"))["u"]
    if override is not None:
        ends.append(override)
    return max(ends) if ends else None


@_manager_action("training_attestation")
def record_attestation(*, user, date, course: str, actor, request=None):
    from .errors import ControlError
    from .models import TrainingAttestation

    if not (course or "").strip():
        raise ControlError("course_required", gettext("Name the course."), field="course")
    if date > timezone.localdate():
        raise ControlError("attestation_in_future", gettext("The training date cannot be in the future."),
                           field="date")
    row = TrainingAttestation.objects.create(user=user, date=date, course=course.strip(), recorded_by=actor)
    log_action(actor=actor, action=Action.CREATE, request=request, object_type="training_attestation",
               object_id=row.pk, details=f"{user.username}: {course.strip()} {date}")
    return row


@_manager_action("training_override")
def override_training(*, user, until, reason: str, actor, request=None):
    """Let an untrained user work until a date (at most the end of the current quarter)."""
    from .errors import ControlError
    from .models import TrainingOverride

    today = timezone.localdate()
    if not (reason or "").strip():
        raise ControlError("reason_required", gettext("Give a reason."), field="reason")
    if until < today or until > quarter_end(today):
        raise ControlError("override_out_of_quarter",
                           gettext("An override ends within the current quarter."), field="until")
    row = TrainingOverride.objects.create(user=user, until=until, reason=reason.strip(), granted_by=actor)
    log_action(actor=actor, action=Action.EDIT, request=request, object_type="training_override",
               object_id=row.pk, details=f"{user.username} may work untrained until {until}: {reason.strip()}")
    return row
