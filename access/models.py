"""Institutions (tenants), users, memberships and the action journal.

Guarantees:
- an institution's BIN and a user's IIN pass their check digit (validators + CHECK on length)
- the action journal is append-only: UPDATE, DELETE and TRUNCATE are refused by triggers
- every journal row is hash-chained to the one before it; the chain is computed in the
  database at insert, so no writer can add a row outside the chain
"""

import pgtrigger
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .identifiers import validate_bin, validate_iin
from .roles import Role
from .triggers import only_from_trigger, refuse_change, refuse_truncate


class BudgetLevel(models.TextChoices):
    REPUBLICAN = "republican", _("Republican budget")
    REGIONAL = "regional", _("Regional budget")
    DISTRICT = "district", _("District (city) budget")


class Institution(models.Model):
    """State institution (ГУ), the tenant. An administrator (АБП) is an institution whose
    subordinates point to it through `parent`."""

    bin = models.CharField(_("BIN"), max_length=12, unique=True, validators=[validate_bin])
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300)
    name_ru = models.CharField(_("name (Russian)"), max_length=300)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="subordinates",
        verbose_name=_("parent administrator"),
    )
    budget_level = models.CharField(_("budget level"), max_length=20, choices=BudgetLevel.choices)
    region = models.CharField(_("region"), max_length=100)
    administrator_code = models.CharField(
        _("administrator code (АБП)"), max_length=3,
        help_text=_("Three digits of the budget programme administrator."),
    )
    is_block_budget_pilot = models.BooleanField(_("block-budget pilot"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name_ru"]
        constraints = [
            models.CheckConstraint(condition=models.Q(bin__regex=r"^[0-9]{12}$"), name="institution_bin_digits"),
            models.CheckConstraint(
                condition=models.Q(administrator_code__regex=r"^[0-9]{3}$"), name="institution_abp_digits"
            ),
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="institution_not_own_parent"),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_kk if (get_language() or "").startswith("kk") else self.name_ru

    def subtree_ids(self) -> list[int]:
        """This institution and every institution below it (consolidation, auditor scope)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH RECURSIVE tree(id) AS (
                    SELECT id FROM access_institution WHERE id = %s
                    UNION ALL
                    SELECT i.id FROM access_institution i JOIN tree t ON i.parent_id = t.id
                )
                SELECT id FROM tree
                """,
                [self.id],
            )
            return [row[0] for row in cursor.fetchall()]


class User(AbstractUser):
    """A person who works in Esep. `last_name` is the surname, `first_name` the given name."""

    patronymic = models.CharField(_("patronymic"), max_length=150, blank=True)
    iin = models.CharField(_("IIN"), max_length=12, unique=True, null=True, blank=True,
                           validators=[validate_iin])
    preferred_language = models.CharField(_("language"), max_length=5, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(iin__regex=r"^[0-9]{12}$"), name="user_iin_digits"),
        ]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p) or self.username


class Membership(models.Model):
    """A user's role in one institution. A user may hold several, in several institutions."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "institution", "role"], name="membership_unique_role"),
        ]

    def __str__(self):
        return f"{self.user} · {self.institution_id} · {self.role}"


class Action(models.TextChoices):
    LOGIN = "login", _("Login")
    LOGOUT = "logout", _("Logout")
    LOGIN_FAILED = "login_failed", _("Failed login")
    VIEW = "view", _("View")
    CREATE = "create", _("Create")
    POST = "post", _("Post")
    CORRECT = "correct", _("Correct")
    CLOSE = "close", _("Close")
    REOPEN = "reopen", _("Reopen")
    APPROVE = "approve", _("Approve")
    EXPORT = "export", _("Export")
    EDIT = "edit", _("Edit")
    SWITCH = "switch", _("Switch institution")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


class ActionLog(models.Model):
    """Registration journal of user actions (R4, order No. 254 p.27).

    Guarantees:
    - rows are only ever inserted (triggers refuse UPDATE, DELETE, TRUNCATE)
    - `seq` is gap-free and `hash` = sha256(prev_hash || canonical row text), set by the
      database at insert under a lock on the chain head (trigger `journal_chain`)
    - the person's full name and IIN are copied into the row, so renaming a user later
      does not rewrite history
    """

    seq = models.BigIntegerField(unique=True, editable=False, default=0)
    at = models.DateTimeField(_("time"), db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    username = models.CharField(_("login"), max_length=150, blank=True)
    full_name = models.CharField(_("full name"), max_length=460, blank=True)
    iin = models.CharField(_("IIN"), max_length=12, blank=True)
    role = models.CharField(_("role"), max_length=100, blank=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    details = models.TextField(_("details"), blank=True)
    prev_hash = models.CharField(max_length=64, editable=False, default="")
    hash = models.CharField(max_length=64, editable=False, default="")

    class Meta:
        verbose_name = _("action journal record")
        verbose_name_plural = _("action journal")
        ordering = ["-seq"]
        indexes = [models.Index(fields=["institution", "-at"], name="actionlog_inst_at")]
        triggers = [
            refuse_change("journal_append_only", "action journal record"),
            refuse_truncate("journal_no_truncate"),
            pgtrigger.Trigger(
                name="journal_chain",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                declare=[("head_seq", "bigint"), ("head_hash", "text")],
                func="""
                    SELECT seq, hash INTO head_seq, head_hash
                      FROM access_chainhead WHERE chain = 'journal' FOR UPDATE;
                    IF NOT FOUND THEN
                        INSERT INTO access_chainhead(chain, seq, hash) VALUES ('journal', 0, '')
                        ON CONFLICT (chain) DO NOTHING;
                        SELECT seq, hash INTO head_seq, head_hash
                          FROM access_chainhead WHERE chain = 'journal' FOR UPDATE;
                    END IF;
                    NEW.seq := head_seq + 1;
                    NEW.prev_hash := head_hash;
                    NEW.hash := encode(sha256(convert_to(
                        head_hash || '|' || access_journal_text(NEW), 'UTF8')), 'hex');
                    UPDATE access_chainhead SET seq = NEW.seq, hash = NEW.hash WHERE chain = 'journal';
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self):
        return f"{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.full_name} {self.action} {self.outcome}"


class ChainHead(models.Model):
    """The last link of a hash chain. Locked FOR UPDATE by the trigger that extends it."""

    chain = models.CharField(max_length=40, primary_key=True)
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        triggers = only_from_trigger("chainhead")


class PlusOneYear(models.Func):
    """date + interval '1 year' (a calendar year, leap days included) for CHECK constraints."""

    template = "(%(expressions)s + interval '1 year')"
    output_field = models.DateTimeField()


class ScopeKind(models.TextChoices):
    SUBTREE = "subtree", _("An administrator's institutions (subtree)")
    REGION = "region", _("A region")
    ADMINISTRATOR_CODE = "administrator_code", _("An administrator code (АБП)")


class GrantStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    REVOKED = "revoked", _("Revoked")


class AuditorGrant(models.Model):
    """Read-only access of an audit body's employee (order No. 270, its annex form).

    Guarantees:
    - the columns of the order's form are kept as requested: full name, IIN, position and unit,
      E-qyzmet QR reference, phone, e-mail, purpose
    - an approved grant lasts at most one calendar year (CHECK valid_until < valid_from + 1 year)
      and ends by itself: nothing reads a grant after valid_until
    - the scope is data (subtree / region / administrator code), resolved at every request, so a
      new institution in the region is in scope the day it is created
    - the grant carries no write capability: the role it gives is `auditor`
    """

    full_name = models.CharField(_("full name"), max_length=300)
    iin = models.CharField(_("IIN"), max_length=12, validators=[validate_iin])
    position = models.CharField(_("position and unit"), max_length=300)
    eqyzmet_qr = models.CharField(_("E-qyzmet QR reference"), max_length=500)
    phone = models.CharField(_("phone"), max_length=40)
    email = models.EmailField(_("e-mail"))
    purpose = models.TextField(_("purpose"))
    audit_body = models.CharField(_("audit body"), max_length=300)
    scope_kind = models.CharField(_("scope"), max_length=20, choices=ScopeKind.choices)
    scope_institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("administrator (top of the subtree)"),
    )
    scope_region = models.CharField(_("region"), max_length=100, blank=True)
    scope_administrator_code = models.CharField(_("administrator code (АБП)"), max_length=3, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=10, choices=GrantStatus.choices,
                              default=GrantStatus.REQUESTED)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="auditor_grants")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("auditor access grant")
        verbose_name_plural = _("auditor access grants")
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(iin__regex=r"^[0-9]{12}$"), name="grant_iin_digits"),
            # Order No. 270 p.9: access is given for one calendar year at most.
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from"))
                & models.Q(valid_until__lt=PlusOneYear(models.F("valid_from"))),
                name="grant_at_most_one_year",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope_kind="subtree", scope_institution__isnull=False)
                    | models.Q(scope_kind="region", scope_region__gt="")
                    | models.Q(scope_kind="administrator_code", scope_administrator_code__regex=r"^[0-9]{3}$")
                ),
                name="grant_scope_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="approved") | models.Q(user__isnull=False, decided_by__isnull=False),
                name="grant_approved_has_user_and_approver",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} · {self.get_scope_kind_display()} · {self.valid_from}–{self.valid_until}"

    def scope_label(self) -> str:
        if self.scope_kind == ScopeKind.SUBTREE:
            return str(self.scope_institution)
        if self.scope_kind == ScopeKind.REGION:
            return self.scope_region
        return self.scope_administrator_code

    def institutions(self):
        if self.scope_kind == ScopeKind.SUBTREE:
            return Institution.objects.filter(pk__in=self.scope_institution.subtree_ids())
        if self.scope_kind == ScopeKind.REGION:
            return Institution.objects.filter(region=self.scope_region)
        return Institution.objects.filter(administrator_code=self.scope_administrator_code)


class TrainingAttestation(models.Model):
    """One completed training of a user (R16: every quarter; order No. 270 p.13).
    Rows are only added: a mistaken attestation is outweighed by a later one, not erased."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="attestations")
    date = models.DateField(_("date"))
    course = models.CharField(_("course"), max_length=300)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("training attestation")
        verbose_name_plural = _("training attestations")
        ordering = ["-date"]
        indexes = [models.Index(fields=["user", "-date"], name="attestation_user_date")]
        triggers = [refuse_change("attestation_append_only", "training attestation")]


class TrainingOverride(models.Model):
    """An administrator lets an untrained user work until a date (logged, with a reason)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="training_overrides")
    until = models.DateField(_("until"))
    reason = models.TextField(_("reason"))
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("training override")
        verbose_name_plural = _("training overrides")
        triggers = [refuse_change("training_override_append_only", "training override")]
