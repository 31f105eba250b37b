"""Registers and financial statements: form lines and line maps (dated data), memorial-order
numbering (dated data), statements with their approval, and background report jobs.

Guarantees (database, not only Python):
- a statement's status is one of prepared/checked/approved; an approved statement names who
  approved it and the head who signed it (CHECK), and never changes again (trigger)
- a statement's range is whole months (CHECK on the day of the dates)
- one approved statement per institution, range and kind (partial unique index)
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from access.triggers import refuse_truncate
from ledger.models import Dated, Named


class Form(models.TextChoices):
    FO1 = "FO-1", _("FO-1 Balance sheet")
    FO2 = "FO-2", _("FO-2 Statement of financial performance")
    FO3 = "FO-3", _("FO-3 Cash flow statement (direct method)")
    FO4 = "FO-4", _("FO-4 Statement of changes in net assets")
    FO5 = "FO-5", _("FO-5 Explanatory note")


MAPPED_FORMS = (Form.FO1, Form.FO2, Form.FO3, Form.FO4)


class FormLine(Named, Dated):
    """A line of a statement form: mapped from the ledger (formula blank) or a total of other
    lines (formula "010+020-030"). `memo` lines are shown but kept out of every total."""

    form = models.CharField(_("form"), max_length=4, choices=Form.choices)
    code = models.CharField(_("line code"), max_length=5)
    order = models.PositiveSmallIntegerField(_("order"))
    formula = models.CharField(_("formula"), max_length=300, blank=True,
                               help_text=_("Blank: the line takes what the line maps send to it; otherwise "
                                           "a sum of other lines of the form, such as 010+020-030."))
    is_heading = models.BooleanField(_("heading"), default=False)

    class Meta:
        verbose_name = _("statement form line")
        verbose_name_plural = _("statement form lines")
        ordering = ["form", "order"]
        constraints = [
            models.UniqueConstraint(fields=["form", "code", "valid_from"], name="formline_unique_dated"),
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9A-Z]{3,5}$"), name="formline_code"),
        ]

    def __str__(self):
        return f"{self.form} {self.code} {self.name}"


class Measure(models.TextChoices):
    BALANCE = "balance", _("Balance at the date")
    NET = "net", _("Net turnover of the range")
    GROSS = "gross", _("Turnover of one side in the range")


class Scope(models.TextChoices):
    ALL = "all", _("Whole history")
    YEAR = "year", _("Since the start of the date's year")
    BEFORE_YEAR = "before_year", _("Before the start of the date's year")


class LineMap(Dated):
    """Account (code or prefix), side and specific (prefix or blank) → line of a form.

    The longest matching account prefix wins, then the longest specific prefix; an amount
    that no row matches is reported by the completeness check instead of being lost.
    `side` orients the amount: D takes debit minus credit, C credit minus debit (a contra
    account mapped with the other side subtracts). For the cash-flow form (measure gross) D
    takes the debit turnover (receipts), C the credit turnover (payments)."""

    form = models.CharField(_("form"), max_length=4, choices=Form.choices)
    account = models.CharField(_("account or prefix"), max_length=4)
    side = models.CharField(_("side"), max_length=1, choices=[("D", _("Debit")), ("C", _("Credit"))])
    specific = models.CharField(_("specific or prefix"), max_length=3, blank=True)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.ALL)
    line = models.CharField(_("line code"), max_length=5)

    class Meta:
        verbose_name = _("statement line map")
        verbose_name_plural = _("statement line maps")
        ordering = ["form", "account", "side", "specific", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["form", "account", "side", "specific", "scope", "valid_from"],
                                    name="linemap_unique_dated"),
            models.CheckConstraint(condition=models.Q(account__regex=r"^[0-9]{1,4}$"), name="linemap_account"),
            models.CheckConstraint(condition=models.Q(specific__regex=r"^[0-9]{0,3}$"), name="linemap_specific"),
            models.CheckConstraint(condition=models.Q(side__in=["D", "C"]), name="linemap_side"),
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True)
                                   | models.Q(valid_to__gte=models.F("valid_from")), name="linemap_range"),
        ]

    def __str__(self):
        return f"{self.form}: {self.account}/{self.side}/{self.specific or '*'} → {self.line}"


class MemorialOrderType(Named, Dated):
    """Numbering of memorial orders (мемориальные ордера) as data: an entry carries its order
    number, or is filed under the order whose credit-account prefixes match its first credit
    line (longest prefix wins)."""

    number = models.PositiveSmallIntegerField(_("number"))
    credit_accounts = models.CharField(_("credit accounts (prefixes)"), max_length=200, blank=True,
                                       help_text=_("Comma-separated account codes or prefixes."))

    class Meta:
        verbose_name = _("memorial order")
        verbose_name_plural = _("memorial orders")
        ordering = ["number", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["number", "valid_from"], name="memorial_order_unique_dated"),
        ]

    def __str__(self):
        return f"№ {self.number} {self.name}"

    def prefixes(self) -> list[str]:
        return [p.strip() for p in self.credit_accounts.split(",") if p.strip()]


class StatementKind(models.TextChoices):
    SINGLE = "single", _("Institution")
    CONSOLIDATED = "consolidated", _("Consolidated")


class StatementStatus(models.TextChoices):
    PREPARED = "prepared", _("Statements prepared")
    CHECKED = "checked", _("Statements checked")
    APPROVED = "approved", _("Statements approved")


class Statement(models.Model):
    """A set of statements FO-1…FO-5 of an institution (or consolidated over an administrator's
    subtree) for a range of whole months, frozen when prepared. Workflow: prepared → checked
    (every cross-form check passes) → signed by the head → approved by the chief accountant,
    which approves the months for good (R3)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=StatementKind.choices, default=StatementKind.SINGLE)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices,
                              default=StatementStatus.PREPARED)
    data = models.JSONField(_("figures"))
    checks = models.JSONField(_("checks"), default=list)
    notes = models.TextField(_("explanatory notes"), blank=True)
    prepared_at = models.DateTimeField(_("prepared at"))
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    head_signed_at = models.DateTimeField(_("signed by the head at"), null=True, blank=True)
    head_signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")

    class Meta:
        verbose_name = _("financial statements")
        verbose_name_plural = _("financial statements")
        ordering = ["-period_end", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "kind", "period_start", "period_end", "version"],
                                    name="statement_unique_version"),
            models.UniqueConstraint(fields=["institution", "kind", "period_start", "period_end"],
                                    condition=models.Q(status="approved"), name="statement_one_approved"),
            models.CheckConstraint(condition=models.Q(status__in=["prepared", "checked", "approved"]),
                                   name="statement_status"),
            models.CheckConstraint(condition=models.Q(period_start__day=1) & models.Q(period_end__gte=models.F(
                "period_start")), name="statement_whole_months"),
            models.CheckConstraint(
                condition=~models.Q(status="approved") | (
                    models.Q(approved_by__isnull=False, head_signed_by__isnull=False, checked_by__isnull=False)),
                name="statement_approved_signed"),
            models.CheckConstraint(
                condition=~models.Q(status="checked") | models.Q(checked_by__isnull=False),
                name="statement_checked_by"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="statement_approved_final", when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="approved"),
                func="""
                    RAISE EXCEPTION USING ERRCODE = 'check_violation',
                        MESSAGE = format('statement_approved: statement %s is approved and never changes', OLD.id);
                """,
            ),
            refuse_truncate("statement_no_truncate"),
        ]

    def __str__(self):
        return f"{self.period_start:%m.%Y}–{self.period_end:%m.%Y} v{self.version}"

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.checks if not c.get("ok")]


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportJob(models.Model):
    """A large report built by a Celery worker; the page polls its progress."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("report"), max_length=40)
    params = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress, %"), default=0)
    stage = models.CharField(_("stage"), max_length=200, blank=True)
    result_file = models.CharField(max_length=300, blank=True)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=5, default="ru")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="reportjob_progress"),
        ]


def localized(obj, field: str = "name") -> str:
    return getattr(obj, f"{field}_kk") if (get_language() or "").startswith("kk") else getattr(obj, f"{field}_ru")
