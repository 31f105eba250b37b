"""Payroll: staff schedule, employees, wage fund, timesheets, dated parameters, monthly runs,
advances and payment registers.

Models are thin: every write goes through payroll/services.py. Amounts are NUMERIC(18,2).
Every tenant row carries `institution` and every unique key includes it (invariant 5).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.models import Institution

MONEY = {"max_digits": 18, "decimal_places": 2, "default": Decimal("0.00")}
ZERO = Decimal("0.00")


class ParamStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("confirmed")
    UNVERIFIED = "unverified", _("unverified")


class PayrollParameter(models.Model):
    """One dated payroll parameter (МРП, МЗП, a rate, a cap in МЗП, a threshold in МРП, the
    rounding unit, an exemption flag). The row in force on a date is the one with the latest
    `valid_from` not after it; an institution's own row wins over the deployment's. Next year's
    figures are rows an administrator adds in the admin, never code."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("institution"))
    key = models.CharField(_("parameter"), max_length=60)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=6)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source act"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ParamStatus.choices,
                              default=ParamStatus.UNVERIFIED)

    class Meta:
        verbose_name = _("payroll parameter")
        verbose_name_plural = _("payroll parameters")
        ordering = ["key", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["key", "valid_from"], condition=models.Q(institution__isnull=True),
                                    name="payroll_param_unique_deployment"),
            models.UniqueConstraint(fields=["institution", "key", "valid_from"],
                                    name="payroll_param_unique_institution"),
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F(
                "valid_from")), name="payroll_param_dates"),
        ]

    def __str__(self):
        return f"{self.key} = {self.value} ({self.valid_from})"


class Category(models.TextChoices):
    CIVIL_SERVANT = "civil_servant", _("civil servant")
    STATE_SERVANT = "state_servant", _("state servant")
    TECHNICAL = "technical", _("technical staff")
    CONTRACT = "contract", _("contract")


class StaffPosition(models.Model):
    """A line of the staff schedule (штатное расписание), dated: a change is a new version
    with a later `valid_from`; the version in force on a month's first day applies."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("position code"), max_length=20)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.CIVIL_SERVANT)
    units = models.DecimalField(_("staff units"), max_digits=8, decimal_places=2, default=Decimal("1"),
                                validators=[MinValueValidator(Decimal("0"))])
    # Salary is coefficient × base official salary (БДО, a dated parameter) or a fixed amount.
    coefficient = models.DecimalField(_("coefficient to the base salary"), max_digits=8, decimal_places=3,
                                      null=True, blank=True)
    fixed_salary = models.DecimalField(_("fixed salary"), max_digits=18, decimal_places=2, null=True, blank=True)
    # [{"name": "...", "kind": "percent"|"fixed", "value": "25", "specific": "112"}]
    allowances = models.JSONField(_("allowances"), default=list, blank=True)
    administrator = models.CharField(_("administrator"), max_length=3)
    programme = models.CharField(_("programme"), max_length=3)
    subprogramme = models.CharField(_("subprogramme"), max_length=3)
    funding_source = models.CharField(_("funding source"), max_length=40, default="budget_local")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff schedule position")
        verbose_name_plural = _("staff schedule")
        ordering = ["code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code", "valid_from"], name="payroll_position_version"),
            models.CheckConstraint(
                condition=(models.Q(coefficient__isnull=False, fixed_salary__isnull=True)
                           | models.Q(coefficient__isnull=True, fixed_salary__isnull=False)),
                name="payroll_position_one_salary_kind"),
        ]

    def __str__(self):
        return f"{self.code} {self.name_ru}"


class Employee(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    personnel_number = models.CharField(_("personnel number"), max_length=20)
    iin = models.CharField(_("IIN"), max_length=12)
    full_name_kk = models.CharField(_("full name (Kazakh)"), max_length=200)
    full_name_ru = models.CharField(_("full name (Russian)"), max_length=200)
    position_code = models.CharField(_("position code"), max_length=20)
    rate = models.DecimalField(_("share of a staff unit"), max_digits=4, decimal_places=2, default=Decimal("1"),
                               validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("2"))])
    contract = models.CharField(_("contract"), max_length=60, blank=True)
    hired_on = models.DateField(_("hired on"))
    transferred_on = models.DateField(_("transferred on"), null=True, blank=True)
    dismissed_on = models.DateField(_("dismissed on"), null=True, blank=True)
    resident = models.BooleanField(_("tax resident"), default=True)
    pensioner = models.BooleanField(_("pensioner"), default=False)
    disability_group = models.PositiveSmallIntegerField(_("disability group"), default=0,
                                                        validators=[MaxValueValidator(3)])
    foreign_national = models.BooleanField(_("foreign national"), default=False)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    court_order_percent = models.DecimalField(_("court-ordered deduction, percent of pay after tax"), max_digits=5,
                                              decimal_places=2, default=Decimal("0"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("user account"))

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["personnel_number"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "personnel_number"], name="payroll_employee_number"),
            models.UniqueConstraint(fields=["institution", "iin"], name="payroll_employee_iin"),
            models.CheckConstraint(condition=models.Q(iin__regex=r"^[0-9]{12}$"), name="payroll_employee_iin_digits"),
            models.CheckConstraint(condition=models.Q(dismissed_on__isnull=True)
                                   | models.Q(dismissed_on__gte=models.F("hired_on")),
                                   name="payroll_employee_dismissed_after_hired"),
        ]

    def __str__(self):
        return f"{self.personnel_number} {self.full_name_ru}"

    def label(self, language: str = "ru") -> str:
        return f"{self.personnel_number} {self.full_name_kk if language == 'kk' else self.full_name_ru}"


class WageFund(models.Model):
    """The wage fund (ФОТ) entered for a month and specific; the financing plan by payments,
    when it has a figure, takes precedence (payroll.services.fund_for)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    specific = models.CharField(_("specific"), max_length=3)
    amount = models.DecimalField(_("wage fund"), max_digits=18, decimal_places=2,
                                 validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("wage fund")
        verbose_name_plural = _("wage fund")
        constraints = [
            models.UniqueConstraint(fields=["institution", "year", "month", "specific"], name="payroll_fund_line"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payroll_fund_not_negative"),
        ]


class Timesheet(models.Model):
    """Days of one employee in one month. Without a row the employee worked the full norm."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="timesheets")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    norm_days = models.PositiveSmallIntegerField(_("working days (norm)"))
    days_worked = models.PositiveSmallIntegerField(_("days worked"))
    hours_worked = models.DecimalField(_("hours worked"), max_digits=6, decimal_places=2, default=Decimal("0"))
    vacation_days = models.PositiveSmallIntegerField(_("vacation days"), default=0)
    sick_days = models.PositiveSmallIntegerField(_("sick-leave days"), default=0)
    unpaid_days = models.PositiveSmallIntegerField(_("unpaid-leave days"), default=0)
    trip_days = models.PositiveSmallIntegerField(_("business-trip days"), default=0)
    bonus = models.DecimalField(_("bonus"), **MONEY)
    one_off = models.DecimalField(_("one-off payment"), **MONEY)

    class Meta:
        verbose_name = _("timesheet")
        verbose_name_plural = _("timesheets")
        constraints = [
            models.UniqueConstraint(fields=["institution", "employee", "year", "month"], name="payroll_timesheet_once"),
            models.CheckConstraint(condition=models.Q(days_worked__lte=models.F("norm_days")),
                                   name="payroll_timesheet_days_within_norm"),
            models.CheckConstraint(condition=models.Q(bonus__gte=0, one_off__gte=0),
                                   name="payroll_timesheet_amounts_not_negative"),
        ]


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    CALCULATING = "calculating", _("calculating")
    CALCULATED = "calculated", _("calculated (preview)")
    FAILED = "failed", _("failed")
    POSTED = "posted", _("posted, month locked")
    REOPENED = "reopened", _("opened for recalculation")


class PayrollRun(models.Model):
    """The month's payroll of an institution: one row a month. Posted, it locks the month's
    timesheets; a recalculation (status reopened) posts only the differences."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    status = models.CharField(_("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    calculated_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    posted_once = models.BooleanField(default=False)
    recalculations = models.PositiveSmallIntegerField(default=0)
    entry_ids = models.JSONField(default=list, blank=True)
    totals = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("payroll run")
        verbose_name_plural = _("payroll runs")
        ordering = ["-year", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "year", "month"], name="payroll_run_month"),
        ]

    def __str__(self):
        return f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


class PayrollLine(models.Model):
    """One employee's figures in a run (the latest calculation). `figures` keeps every
    figure's formula and inputs so the preview and the payslip can show how it was reached."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="lines")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="+")
    days_worked = models.PositiveSmallIntegerField(default=0)
    technical = models.BooleanField(default=False)
    # budget classification of the employee's position (ЕБК), copied so the posting of a run
    # does not depend on the staff schedule changing afterwards
    administrator = models.CharField(max_length=3, default="")
    programme = models.CharField(max_length=3, default="")
    subprogramme = models.CharField(max_length=3, default="")
    funding_source = models.CharField(max_length=40, default="")
    accrued = models.DecimalField(**MONEY)
    opv = models.DecimalField(**MONEY)
    vosms = models.DecimalField(**MONEY)
    ipn = models.DecimalField(**MONEY)
    ipn_base = models.DecimalField(**MONEY)
    court = models.DecimalField(**MONEY)
    withheld = models.DecimalField(**MONEY)
    advance = models.DecimalField(**MONEY)
    to_pay = models.DecimalField(**MONEY)
    opvr = models.DecimalField(**MONEY)
    so = models.DecimalField(**MONEY)
    oosms = models.DecimalField(**MONEY)
    sn = models.DecimalField(**MONEY)
    parts = models.JSONField(default=dict)  # specific → accrued amount (str)
    figures = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "employee"], name="payroll_line_once"),
            # net + withholdings + advance = accrued, for every employee, kept by the database too
            models.CheckConstraint(condition=models.Q(accrued=models.F("to_pay") + models.F("withheld")
                                                      + models.F("advance")),
                                   name="payroll_line_adds_up"),
        ]


class PostedAmount(models.Model):
    """What the ledger holds for a run so far, by operation, amount key and classification:
    a recalculation posts the difference between the new figures and these rows."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="posted")
    operation = models.CharField(max_length=40)
    key = models.CharField(max_length=40)
    specific = models.CharField(max_length=3)
    administrator = models.CharField(max_length=3)
    programme = models.CharField(max_length=3)
    subprogramme = models.CharField(max_length=3)
    funding_source = models.CharField(max_length=40)
    amount = models.DecimalField(**MONEY)
    entry_id = models.BigIntegerField(null=True)  # the first entry that posted this line

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "operation", "key", "specific", "administrator", "programme",
                                            "subprogramme", "funding_source"], name="payroll_posted_line"),
        ]


class Advance(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="advances")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    entry_id = models.BigIntegerField(null=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("advance")
        verbose_name_plural = _("advances")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payroll_advance_positive")]


class RegisterKind(models.TextChoices):
    SALARY = "salary", _("salary transfers (bank / treasury)")
    PENSION = "pension", _("pension contributions (ОПВ, ОПВР)")
    HEALTH = "health", _("health insurance (ВОСМС, ООСМС)")
    SOCIAL = "social", _("social contributions (СО)")
    TAX = "tax", _("taxes (ИПН, СН)")


class PaymentRegister(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="registers")
    kind = models.CharField(_("kind"), max_length=10, choices=RegisterKind.choices)
    number = models.PositiveIntegerField(_("number"))
    paid_on = models.DateField(_("paid on"))
    total = models.DecimalField(_("total"), **MONEY)
    entry_id = models.BigIntegerField(null=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment register")
        verbose_name_plural = _("payment registers")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["institution", "number"], name="payroll_register_number")]


class PaymentLine(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    register = models.ForeignKey(PaymentRegister, on_delete=models.PROTECT, related_name="lines")
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="+")
    item = models.CharField(max_length=10)  # net, opv, opvr, vosms, oosms, so, ipn, sn
    amount = models.DecimalField(**MONEY)
    iban = models.CharField(max_length=34, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payroll_payment_positive")]
