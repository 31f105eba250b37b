"""The one door for writes to access data: institutions, users, memberships, the journal."""

from django.db import transaction
from django.utils import timezone

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


def roles_in(user, institution) -> list[str]:
    if user is None or not user.is_authenticated or institution is None:
        return []
    today = timezone.localdate()
    return [
        m.role for m in user.memberships.all()
        if m.institution_id == institution.id and (m.valid_until is None or m.valid_until >= today)
    ]


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
