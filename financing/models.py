"""Financing plans (ИПФ) and their certificates of change, contracts, obligations, acceptance
acts, payments, treasury statements.

Guarantees (PostgreSQL, not only Python):
- a plan line's year total equals the sum of its twelve months (CHECK)
- a plan document is accepted once per institution and document id (UNIQUE): a pushed
  document sent twice is one version
- versions of an institution's year are numbered 1, 2, 3… (UNIQUE institution, year, version)
- amounts are NUMERIC(18,2); contract, act, payment and obligation amounts are positive (CHECK)
- an act's advance offset lies between 0 and the act amount (CHECK)
- a contract spans at most three budget years (CHECK on ContractYear.year_index)
Plan documents and their lines are never updated: a change is a new certificate.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from access.triggers import refuse_change

MONEY = {"max_digits": 18, "decimal_places": 2}
MONTHS = tuple(range(1, 13))
MONTH_FIELDS = tuple(f"m{m:02d}" for m in MONTHS)


class DocumentKind(models.TextChoices):
    PLAN = "plan", _("Approved plan")
    CURRENT = "current", _("Current certificate")
    CERTIFICATE = "certificate", _("Certificate of change")
    REFINEMENT = "refinement", _("Refinement")
    ADJUSTMENT = "adjustment", _("Adjustment")


class PlanType(models.TextChoices):
    OBLIGATIONS = "obligations", _("Plan by obligations")
    PAYMENTS = "payments", _("Plan by payments")


class Channel(models.TextChoices):
    JSON = "json", _("JSON file")
    XLSX = "xlsx", _("XLSX file")
    PUSH = "push", _("Planning system push")
    DEMO = "demo", _("Demo data")


class SendingSystem(models.Model):
    """A system allowed to push financing plans (the planning system of a region). Only the
    SHA-256 of its token is stored; the token is shown once when issued."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    token_sha256 = models.CharField(max_length=64, unique=True)
    institutions = models.ManyToManyField(Institution, related_name="+", verbose_name=_("institutions"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sending system")
        verbose_name_plural = _("sending systems")

    def __str__(self):
        return self.code


class PlanDocument(models.Model):
    """One version of an institution's financing plans for a year: the approved plan (version
    1) or a certificate of change, whose lines are the changes (signed amounts)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    document_id = models.CharField(_("document id"), max_length=100)
    year = models.PositiveSmallIntegerField(_("year"))
    version = models.PositiveSmallIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    number = models.CharField(_("number"), max_length=60)
    date = models.DateField(_("date"))
    channel = models.CharField(_("received by"), max_length=8, choices=Channel.choices)
    sender = models.CharField(_("sender"), max_length=150, blank=True)
    content_sha256 = models.CharField(max_length=64)
    lines_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("financing plan document")
        verbose_name_plural = _("financing plan documents")
        ordering = ["institution", "year", "version"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "document_id"], name="plandoc_unique_id"),
            models.UniqueConstraint(fields=["institution", "year", "version"], name="plandoc_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="plandoc_version_positive"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="plandoc_year_range"),
            # version 1 is the approved plan and only version 1 is
            models.CheckConstraint(condition=Q(version=1, kind="plan") | (~Q(version=1) & ~Q(kind="plan")),
                                   name="plandoc_plan_is_first"),
        ]
        triggers = [refuse_change("plandoc_immutable", "financing plan document")]

    def __str__(self):
        return f"{self.year} v{self.version} {self.get_kind_display()} № {self.number}"


class PlanLine(models.Model):
    """One row of a plan document: a classification with twelve months and the year."""

    document = models.ForeignKey(PlanDocument, on_delete=models.PROTECT, related_name="lines")
    plan_type = models.CharField(max_length=12, choices=PlanType.choices)
    administrator = models.CharField(max_length=3)
    programme = models.CharField(max_length=3)
    subprogramme = models.CharField(max_length=3)
    specific = models.CharField(max_length=3)
    m01 = models.DecimalField(**MONEY)
    m02 = models.DecimalField(**MONEY)
    m03 = models.DecimalField(**MONEY)
    m04 = models.DecimalField(**MONEY)
    m05 = models.DecimalField(**MONEY)
    m06 = models.DecimalField(**MONEY)
    m07 = models.DecimalField(**MONEY)
    m08 = models.DecimalField(**MONEY)
    m09 = models.DecimalField(**MONEY)
    m10 = models.DecimalField(**MONEY)
    m11 = models.DecimalField(**MONEY)
    m12 = models.DecimalField(**MONEY)
    year_total = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(year_total=F("m01") + F("m02") + F("m03") + F("m04") + F("m05") + F("m06") + F("m07")
                            + F("m08") + F("m09") + F("m10") + F("m11") + F("m12")),
                name="planline_year_is_sum"),
            models.UniqueConstraint(fields=["document", "plan_type", "administrator", "programme", "subprogramme",
                                            "specific"], name="planline_unique"),
            models.CheckConstraint(condition=Q(administrator__regex=r"^[0-9]{3}$", programme__regex=r"^[0-9]{3}$",
                                               subprogramme__regex=r"^[0-9]{3}$", specific__regex=r"^[0-9]{3}$"),
                                   name="planline_codes_digits"),
        ]
        triggers = [refuse_change("planline_immutable", "financing plan line")]

    def months(self) -> list:
        return [getattr(self, f) for f in MONTH_FIELDS]


class ContractSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    EMS = "ems", _("E-procurement (ЭМС)")
    DEMO = "demo", _("Demo data")


class Contract(models.Model):
    """A contract with a supplier (BIN), registered with the treasury; amounts by year
    (up to three years for block-budget pilots), an advance percentage."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    counterparty = models.ForeignKey("ledger.Counterparty", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("counterparty"))
    number = models.CharField(_("number"), max_length=60)
    date = models.DateField(_("date"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    administrator = models.CharField(_("administrator"), max_length=3)
    programme = models.CharField(_("programme"), max_length=3)
    subprogramme = models.CharField(_("subprogramme"), max_length=3)
    specific = models.CharField(_("specific"), max_length=3)
    funding_source = models.CharField(_("funding source"), max_length=30, default="budget_local")
    amount = models.DecimalField(_("contract amount"), **MONEY)
    advance_percent = models.DecimalField(_("advance, %"), max_digits=5, decimal_places=2, default=0)
    treasury_number = models.CharField(_("treasury registration number"), max_length=60, blank=True)
    treasury_date = models.DateField(_("treasury registration date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=ContractSource.choices,
                              default=ContractSource.MANUAL)
    ems_id = models.CharField(_("ЭМС id"), max_length=60, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "number"], name="contract_unique_number"),
            models.UniqueConstraint(fields=["institution", "ems_id"], condition=~Q(ems_id=""),
                                    name="contract_unique_ems"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contract_amount_positive"),
            models.CheckConstraint(condition=Q(advance_percent__gte=0, advance_percent__lte=100),
                                   name="contract_advance_range"),
            models.CheckConstraint(condition=Q(treasury_number="", treasury_date__isnull=True)
                                   | (~Q(treasury_number="") & Q(treasury_date__isnull=False)),
                                   name="contract_treasury_pair"),
        ]

    def __str__(self):
        return f"№ {self.number} {self.date:%d.%m.%Y}"

    @property
    def registered(self) -> bool:
        return bool(self.treasury_number)

    @property
    def programme_code(self) -> str:
        return f"{self.administrator}.{self.programme}.{self.subprogramme}"


class ContractYear(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField(_("year"))
    year_index = models.PositiveSmallIntegerField()  # 0, 1, 2: year - the contract's first year
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "year"], name="contractyear_unique"),
            models.CheckConstraint(condition=Q(year_index__lte=2), name="contractyear_three_years"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contractyear_amount_positive"),
        ]


class Obligation(models.Model):
    """An obligation accepted (registered with the treasury) under a contract for a year."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="obligations")
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    administrator = models.CharField(max_length=3)
    programme = models.CharField(max_length=3)
    subprogramme = models.CharField(max_length=3)
    specific = models.CharField(max_length=3)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="obligation_amount_positive")]
        indexes = [models.Index(fields=["institution", "specific", "date"], name="obligation_inst_spec_date")]
        triggers = [refuse_change("obligation_immutable", "obligation")]


class AcceptanceAct(models.Model):
    """Work or goods accepted under a contract; part of the advance paid is offset on it."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="acts")
    number = models.CharField(_("number"), max_length=60)
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    advance_offset = models.DecimalField(_("advance offset"), **MONEY, default=0)
    entry_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="act_amount_positive"),
            models.CheckConstraint(condition=Q(advance_offset__gte=0, advance_offset__lte=F("amount")),
                                   name="act_offset_range"),
            models.UniqueConstraint(fields=["contract", "number"], name="act_unique_number"),
        ]
        triggers = [refuse_change("act_immutable", "acceptance act")]


class PaymentKind(models.TextChoices):
    ADVANCE = "advance", _("Advance")
    SETTLEMENT = "settlement", _("Settlement")


class Payment(models.Model):
    """A treasury payment order under a contract. `executed_on` is set when the treasury
    statement shows it executed."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    number = models.CharField(_("payment order number"), max_length=60)
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentKind.choices)
    entry_id = models.BigIntegerField(null=True, blank=True)
    executed_on = models.DateField(_("executed on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(fields=["institution", "number", "date"], name="payment_unique_number"),
        ]


class TreasuryStatement(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=60)
    date = models.DateField(_("date"))
    content_sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["institution", "content_sha256"], name="statement_once")]


class StatementLine(models.Model):
    statement = models.ForeignKey(TreasuryStatement, on_delete=models.CASCADE, related_name="lines")
    row = models.PositiveIntegerField()
    number = models.CharField(max_length=60)
    date = models.DateField()
    amount = models.DecimalField(**MONEY)
    payee_bin = models.CharField(max_length=12)
    specific = models.CharField(max_length=3)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "row"]

    @property
    def matched(self) -> bool:
        return self.payment_id is not None and self.entry_id is not None
