"""The one write path of payroll: staff, employees (R15), wage fund, timesheets, the monthly
run (calculate → preview → post, R7), advances (R8), payment registers (R9), the personnel
import (R19). Each function is one transaction; decisions lock what they read.

The arithmetic lives in payroll/calculator.py (pure); this module reads the database, hands the
calculator plain values and writes what comes back.
"""

import calendar
import csv
import datetime as dt
import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors
from access.identifiers import validate_iin
from access.models import Action
from access.roles import Capability
from access.services import log_action, require, shut_off_access
from esep.imports import Problems
from ledger.drafts import EntryDraft
from ledger.models import EntryKind
from ledger.schemes import Classification, SchemeAmount, entry_from_scheme, scheme_for
from ledger.services import post_entries
from rules import services as rules_services

from . import calculator
from .calculator import ZERO, Allowance, EmployeeMonth, Params
from .models import (
    Advance,
    Category,
    Employee,
    PaymentLine,
    PaymentRegister,
    PayrollLine,
    PayrollParameter,
    PayrollRun,
    PostedAmount,
    RegisterKind,
    RunStatus,
    StaffPosition,
    Timesheet,
    WageFund,
)

log = logging.getLogger(__name__)

PARAMETERS_FILE = Path(__file__).resolve().parent / "data" / "parameters.csv"
CENT = Decimal("0.01")
PROGRESS_STEP = 500  # employees between progress updates: a few writes a second on a 10,000 run
EMPLOYEES_MAX = 50_000  # a run holds one institution's staff; bounded so memory stays ~100 MB
DOC_TYPE = "Расчетная ведомость"
LABEL = "Esep payroll"  # marks entries made by this app (the ledger demo posts summary payroll too)


def tiyn(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def month_label(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def working_days(first: dt.date, last: dt.date) -> int:
    """Monday to Friday between the two dates inclusive. Public holidays are not subtracted
    (no holiday calendar yet): the clerk enters the norm in the timesheet when it differs."""
    days = 0
    day = first
    while day <= last:
        days += day.weekday() < 5
        day += dt.timedelta(days=1)
    return days


# -- parameters -------------------------------------------------------------------------------

def load_parameters(path: Path = PARAMETERS_FILE, model=PayrollParameter) -> int:
    """Load the deployment's dated parameters from payroll/data/parameters.csv. A row already
    there (same key and start) is kept as an administrator may have corrected it."""
    created = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            _obj, made = model.objects.get_or_create(
                institution=None, key=row["key"], valid_from=dt.date.fromisoformat(row["valid_from"]),
                defaults={"value": Decimal(row["value"]), "source": row["source"], "status": row["status"],
                          "valid_to": dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None})
            created += made
    return created


def parameter_values(institution, day: dt.date) -> dict[str, Decimal]:
    rows = (PayrollParameter.objects.filter(valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
            .filter(Q(institution__isnull=True) | Q(institution=institution))
            .order_by("key", "valid_from"))
    values: dict[str, tuple[bool, dt.date, Decimal]] = {}
    for row in rows:
        rank = (row.institution_id is not None, row.valid_from)
        if row.key not in values or rank >= values[row.key][:2]:
            values[row.key] = (*rank, row.value)
    return {k: v[2] for k, v in values.items()}


def params_for(institution, day: dt.date) -> Params:
    try:
        return Params.from_mapping(parameter_values(institution, day))
    except KeyError as missing:
        raise ControlError("payroll_parameters_missing",
                           _("Payroll parameters are missing on %(date)s: %(keys)s; an administrator adds them.")
                           % {"date": day.isoformat(), "keys": missing.args[0]}) from None


# -- identifiers ------------------------------------------------------------------------------

def validate_iban(value: str) -> None:
    """Kazakh IBAN: KZ, two check digits, 16 characters of bank code and account (ISO 13616
    mod 97)."""
    iban = (value or "").replace(" ", "").upper()
    if len(iban) != 20 or not iban.startswith("KZ") or not iban[2:4].isdigit() or not iban.isalnum():
        raise ValidationError(_("IBAN must be KZ, two check digits and 16 letters or digits (20 characters)."),
                              code="iban_format")
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValidationError(_("IBAN check digits are wrong."), code="iban_check")


def iban_with_check(body: str) -> str:
    """Complete a Kazakh IBAN from its 16-character body (test data, the demo)."""
    digits = "".join(str(int(ch, 36)) for ch in body.upper() + "KZ00")
    return f"KZ{98 - int(digits) % 97:02d}{body.upper()}"


# -- staff schedule, employees ----------------------------------------------------------------

def _edit(actor, institution, request=None, object_type=""):
    return require(actor, institution, Capability.EDIT_PAYROLL, request=request, action=Action.EDIT,
                   object_type=object_type)


@transaction.atomic
def save_position(*, institution, actor, request=None, **fields) -> StaffPosition:
    """A new version of a staff-schedule line (same code, later valid_from) or the first."""
    _edit(actor, institution, request, "staff_position")
    position = StaffPosition(institution=institution, **fields)
    try:
        position.full_clean(exclude=["institution"])
    except ValidationError as error:
        raise _errors(error) from None
    position.save()
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
               object_type="staff_position", object_id=position.pk,
               details=f"{position.code} from {position.valid_from}")
    return position


def _errors(error: ValidationError) -> ControlErrors:
    return ControlErrors([ControlError("invalid", message, field=field)
                          for field, messages in error.message_dict.items() for message in messages])


def _check_employee(employee: Employee) -> None:
    problems: dict[str, list] = {}
    try:
        validate_iin(employee.iin)
    except ValidationError as error:
        problems["iin"] = error.messages
    if employee.iban:
        try:
            validate_iban(employee.iban)
        except ValidationError as error:
            problems["iban"] = error.messages
    try:
        employee.full_clean(exclude=["institution", "user"], validate_unique=False)
    except ValidationError as error:
        for key, messages in error.message_dict.items():
            problems.setdefault(key, []).extend(messages)
    if problems:
        raise _errors(ValidationError(problems))


@transaction.atomic
def create_employee(*, institution, actor, request=None, **fields) -> Employee:
    _edit(actor, institution, request, "employee")
    if "iban" in fields:
        fields["iban"] = (fields["iban"] or "").replace(" ", "").upper()
    employee = Employee(institution=institution, **fields)
    _check_employee(employee)
    if Employee.objects.filter(institution=institution, iin=employee.iin).exists():
        raise ControlError("employee_exists", _("An employee with this IIN already exists."), field="iin")
    if Employee.objects.filter(institution=institution, personnel_number=employee.personnel_number).exists():
        raise ControlError("employee_exists", _("This personnel number is taken."), field="personnel_number")
    employee.save()
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution, object_type="employee",
               object_id=employee.pk, details=employee.personnel_number)
    return employee


def _shut_off(employee: Employee, actor, request, reason: str) -> None:
    """R15: an employee who is also a user loses access at once on dismissal, transfer or a
    change of contract; sessions and tokens end, and the journal says why."""
    if employee.user_id:
        shut_off_access(user=employee.user, reason=reason, actor=actor, request=request,
                        institution=employee.institution)


def _locked_employee(employee: Employee) -> Employee:
    return Employee.objects.select_for_update(of=("self",)).select_related("user", "institution").get(pk=employee.pk)


@transaction.atomic
def dismiss_employee(*, employee: Employee, actor, on: dt.date, request=None) -> Employee:
    _edit(actor, employee.institution, request, "employee")
    employee = _locked_employee(employee)
    if on < employee.hired_on:
        raise ControlError("invalid", _("The dismissal date cannot precede the hiring date."), field="dismissed_on")
    employee.dismissed_on = on
    employee.save(update_fields=["dismissed_on"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=employee.institution,
               object_type="employee", object_id=employee.pk, details=f"dismissed on {on}")
    _shut_off(employee, actor, request, f"dismissal of {employee.personnel_number} on {on}")
    return employee


@transaction.atomic
def transfer_employee(*, employee: Employee, actor, position_code: str, on: dt.date, request=None) -> Employee:
    _edit(actor, employee.institution, request, "employee")
    employee = _locked_employee(employee)
    if not StaffPosition.objects.filter(institution=employee.institution, code=position_code).exists():
        raise ControlError("invalid", _("No such position in the staff schedule."), field="position_code")
    old = employee.position_code
    employee.position_code, employee.transferred_on = position_code, on
    employee.save(update_fields=["position_code", "transferred_on"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=employee.institution,
               object_type="employee", object_id=employee.pk, details=f"transfer {old} → {position_code} on {on}")
    _shut_off(employee, actor, request, f"transfer of {employee.personnel_number} on {on}")
    return employee


@transaction.atomic
def change_contract(*, employee: Employee, actor, contract: str, request=None) -> Employee:
    _edit(actor, employee.institution, request, "employee")
    employee = _locked_employee(employee)
    old = employee.contract
    employee.contract = contract
    employee.save(update_fields=["contract"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=employee.institution,
               object_type="employee", object_id=employee.pk, details=f"contract {old!r} → {contract!r}")
    _shut_off(employee, actor, request, f"change of contract of {employee.personnel_number}")
    return employee


# -- wage fund and timesheets -----------------------------------------------------------------

@transaction.atomic
def set_wage_fund(*, institution, actor, year: int, month: int, specific: str, amount: Decimal,
                  request=None) -> WageFund:
    _edit(actor, institution, request, "wage_fund")
    if amount < 0:
        raise ControlError("invalid", _("The wage fund cannot be negative."), field="amount")
    fund, _created = WageFund.objects.update_or_create(
        institution=institution, year=year, month=month, specific=specific, defaults={"amount": amount})
    log_action(actor=actor, action=Action.EDIT, request=request, institution=institution, object_type="wage_fund",
               object_id=fund.pk, details=f"{month_label(year, month)} {specific}: {amount}")
    return fund


def planned_fund(institution, year: int, month: int, specific: str) -> Decimal | None:
    """The financing plan by payments for the month and specific, when the financing app has
    one (financing.queries.payments_plan); None otherwise."""
    try:
        from financing import queries as financing_queries
    except ImportError:
        return None
    plan = getattr(financing_queries, "payments_plan", None)
    if plan is None:
        return None
    return plan(institution, year, month, specific)


def fund_for(institution, year: int, month: int, specific: str) -> tuple[Decimal, str]:
    """(fund, source): the plan by payments when it has a figure, otherwise the entered fund,
    otherwise zero (nothing approved: nothing may be accrued, R7)."""
    planned = planned_fund(institution, year, month, specific)
    if planned is not None:
        return Decimal(planned), "plan"
    entered = (WageFund.objects.filter(institution=institution, year=year, month=month, specific=specific)
               .values_list("amount", flat=True).first())
    if entered is not None:
        return entered, "entered"
    return ZERO, "none"


def _month_locked(institution, year: int, month: int) -> bool:
    return PayrollRun.objects.filter(institution=institution, year=year, month=month,
                                     status=RunStatus.POSTED).exists()


@transaction.atomic
def save_timesheet(*, employee: Employee, actor, year: int, month: int, request=None, **days) -> Timesheet:
    institution = employee.institution
    _edit(actor, institution, request, "timesheet")
    # Lock the month's run row: a post in flight and a timesheet change queue behind each other.
    list(PayrollRun.objects.select_for_update().filter(institution=institution, year=year, month=month))
    if _month_locked(institution, year, month):
        raise ControlError("payroll_month_locked",
                           _("The payroll for %(month)s is posted and locked; open it for recalculation first.")
                           % {"month": month_label(year, month)})
    first, last = month_bounds(year, month)
    days.setdefault("norm_days", working_days(first, last))
    sheet = Timesheet(institution=institution, employee=employee, year=year, month=month, **days)
    used = sheet.days_worked + sheet.vacation_days + sheet.sick_days + sheet.unpaid_days
    errors = []
    if sheet.days_worked > sheet.norm_days:
        errors.append(ControlError("invalid", _("Days worked cannot exceed the norm of the month."),
                                   field="days_worked"))
    if used > last.day:
        errors.append(ControlError("invalid", _("The days of the timesheet exceed the days of the month."),
                                   field="days_worked"))
    if errors:
        raise ControlErrors(errors)
    Timesheet.objects.filter(institution=institution, employee=employee, year=year, month=month).delete()
    sheet.save()
    log_action(actor=actor, action=Action.EDIT, request=request, institution=institution, object_type="timesheet",
               object_id=sheet.pk, details=f"{employee.personnel_number} {month_label(year, month)}")
    return sheet


# -- the monthly run --------------------------------------------------------------------------

def _positions(institution, day: dt.date) -> dict[str, StaffPosition]:
    """The staff-schedule version of each position in force on `day`."""
    chosen: dict[str, StaffPosition] = {}
    for position in (StaffPosition.objects.filter(institution=institution, valid_from__lte=day)
                     .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day)).order_by("code", "valid_from")):
        chosen[position.code] = position
    return chosen


def monthly_salary(position: StaffPosition, employee: Employee, params: Params) -> Decimal:
    base = position.fixed_salary if position.fixed_salary is not None else position.coefficient * params.bdo
    return (base * employee.rate).quantize(CENT)


def _active(institution, first: dt.date, last: dt.date):
    return (Employee.objects.filter(institution=institution, hired_on__lte=last)
            .filter(Q(dismissed_on__isnull=True) | Q(dismissed_on__gte=first)).order_by("personnel_number"))


def _posted_runs(institution):
    return PayrollRun.objects.filter(institution=institution, posted_once=True)


def _inputs(run: PayrollRun, params: Params) -> list[tuple[Employee, StaffPosition, EmployeeMonth]]:
    institution = run.institution
    first, last = month_bounds(run.year, run.month)
    norm = working_days(first, last)
    positions = _positions(institution, first) or {}
    later = _positions(institution, last)
    employees = list(_active(institution, first, last)[:EMPLOYEES_MAX + 1])
    if len(employees) > EMPLOYEES_MAX:
        raise ControlError("payroll_too_large", _("A run holds at most %(n)s employees.") % {"n": EMPLOYEES_MAX})
    sheets = {t.employee_id: t for t in Timesheet.objects.filter(institution=institution, year=run.year,
                                                                 month=run.month)}
    earlier = (PayrollLine.objects.filter(institution=institution, run__in=_posted_runs(institution),
                                          run__year=run.year, run__month__lt=run.month)
               .values("employee_id").annotate(base=Sum("ipn_base")))
    ytd = {row["employee_id"]: row["base"] for row in earlier}
    window_start = dt.date(run.year - 1, run.month, 1)
    history = (PayrollLine.objects.filter(institution=institution, run__in=_posted_runs(institution))
               .filter(Q(run__year__gt=window_start.year) | Q(run__year=window_start.year,
                                                             run__month__gte=window_start.month))
               .filter(Q(run__year__lt=run.year) | Q(run__year=run.year, run__month__lt=run.month))
               .values("employee_id").annotate(accrued=Sum("accrued"), days=Sum("days_worked")))
    average = {row["employee_id"]: (row["accrued"] / row["days"]).quantize(CENT)
               for row in history if row["days"]}
    advances = {row["employee_id"]: row["total"] for row in
                Advance.objects.filter(institution=institution, year=run.year, month=run.month)
                .values("employee_id").annotate(total=Sum("amount"))}
    result = []
    problems = []
    for employee in employees:
        position = positions.get(employee.position_code) or later.get(employee.position_code)
        if position is None:
            problems.append(ControlError(
                "payroll_no_position",
                _("%(employee)s: position %(code)s is not in the staff schedule for %(month)s.")
                % {"employee": employee, "code": employee.position_code, "month": run.label},
                field="position_code"))
            continue
        salary = monthly_salary(position, employee, params)
        sheet = sheets.get(employee.pk)
        if sheet is not None:
            norm_days, worked = sheet.norm_days, sheet.days_worked
            extra = {"vacation_days": sheet.vacation_days, "sick_days": sheet.sick_days, "bonus": sheet.bonus,
                     "one_off": sheet.one_off}
        else:
            # no timesheet: worked every working day the employee was on staff that month
            start = max(first, employee.hired_on)
            end = min(last, employee.dismissed_on or last)
            norm_days = norm
            worked = norm if (start, end) == (first, last) else working_days(start, end)
            extra = {}
        flags = set()
        if employee.pensioner:
            flags.add("pensioner")
        if employee.disability_group:
            flags.add("disabled")
        if employee.foreign_national:
            flags.add("foreign")
        allowances = tuple(Allowance(a.get("name", ""), a.get("kind", "percent"), Decimal(str(a.get("value", 0))),
                                     a.get("specific") or calculator.SPECIFIC_ADDITIONAL)
                           for a in position.allowances or ())
        month = EmployeeMonth(
            salary=salary, norm_days=norm_days, days_worked=worked, allowances=allowances,
            average_daily=average.get(employee.pk) or ((salary / norm_days).quantize(CENT) if norm_days else ZERO),
            ytd_ipn_base=ytd.get(employee.pk) or ZERO, advance=advances.get(employee.pk) or ZERO,
            court_order_percent=employee.court_order_percent, resident=employee.resident,
            technical=position.category == Category.TECHNICAL, flags=frozenset(flags), **extra)
        result.append((employee, position, month))
    if problems:
        raise ControlErrors(problems)
    return result


def start_run(*, institution, actor, year: int, month: int, request=None, inline: bool = False) -> PayrollRun:
    """Queue the month's calculation (Celery). A posted month must be opened for
    recalculation first. `inline` calculates at once in this process (benchmarks, demo)."""
    _edit(actor, institution, request, "payroll_run")
    with transaction.atomic():
        run, _created = PayrollRun.objects.select_for_update().get_or_create(
            institution=institution, year=year, month=month)
        if run.status == RunStatus.POSTED:
            raise ControlError("payroll_month_locked",
                               _("The payroll for %(month)s is posted and locked; open it for recalculation first.")
                               % {"month": run.label})
        # A second start while one calculates is harmless: each calculation replaces the lines
        # in one transaction under the run's row lock, and the last one wins.
        run.status, run.progress_done, run.progress_total, run.error = RunStatus.QUEUED, 0, 0, ""
        run.save(update_fields=["status", "progress_done", "progress_total", "error"])
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="payroll_run", object_id=run.pk, details=f"calculate {run.label}")
        if not inline:
            from .tasks import queue_calculation

            transaction.on_commit(lambda: queue_calculation(run.pk))
    if inline:
        calculate_run(run.pk)
        run.refresh_from_db()
    return run


def calculate_run(run_id: int, progress: Callable[[int, int], None] | None = None) -> PayrollRun:
    """Calculate every employee of the run and store the lines (the preview). Progress goes
    to the run row in its own short transactions so the page sees it while this works."""
    run = PayrollRun.objects.select_related("institution").get(pk=run_id)
    PayrollRun.objects.filter(pk=run_id).update(status=RunStatus.CALCULATING)
    try:
        first, _last = month_bounds(run.year, run.month)
        params = params_for(run.institution, first)
        inputs = _inputs(run, params)
        total = len(inputs)
        PayrollRun.objects.filter(pk=run_id).update(progress_total=total, progress_done=0)
        rows: list[tuple] = []
        totals = dict.fromkeys(TOTAL_FIELDS, ZERO)
        for i, (employee, position, month) in enumerate(inputs, start=1):
            result = calculator.calculate(params, month)
            # plain rows for COPY: no model instance per employee (a third of the time at 10,000)
            rows.append((run.institution_id, run.pk, employee.pk, month.days_worked, month.technical,
                         position.administrator, position.programme, position.subprogramme,
                         position.funding_source, result.accrued, result.opv, result.vosms, result.ipn,
                         result.ipn_base, result.court, result.withheld, result.advance, result.to_pay, result.opvr,
                         result.so, result.oosms, result.sn,
                         json.dumps({k: str(v) for k, v in result.parts.items()}),
                         json.dumps([f.as_dict() for f in result.figures], ensure_ascii=False)))
            for name in TOTAL_FIELDS:
                totals[name] += getattr(result, name)
            if i % PROGRESS_STEP == 0:
                PayrollRun.objects.filter(pk=run_id).update(progress_done=i)
                if progress:
                    progress(i, total)
        with transaction.atomic():
            locked = PayrollRun.objects.select_for_update().get(pk=run_id)
            if locked.status == RunStatus.POSTED:
                raise ControlError("payroll_month_locked", _("The payroll for %(month)s is posted and locked.")
                                   % {"month": locked.label})
            PayrollLine.objects.filter(run_id=run_id).delete()
            _copy_lines(rows)
            totals["employees"] = Decimal(total)
            PayrollRun.objects.filter(pk=run_id).update(
                status=RunStatus.CALCULATED, progress_done=total, progress_total=total,
                calculated_at=timezone.now(), totals={k: str(v) for k, v in totals.items()})
    except ControlError as error:
        messages = [str(e.message) for e in getattr(error, "errors", None) or [error]]
        PayrollRun.objects.filter(pk=run_id).update(status=RunStatus.FAILED, error="\n".join(messages)[:4000])
        raise
    except Exception as error:
        PayrollRun.objects.filter(pk=run_id).update(status=RunStatus.FAILED, error=str(error)[:4000])
        raise
    run.refresh_from_db()
    return run


LINE_COLUMNS = ("institution_id", "run_id", "employee_id", "days_worked", "technical", "administrator", "programme",
                "subprogramme", "funding_source", "accrued", "opv", "vosms", "ipn", "ipn_base", "court", "withheld",
                "advance", "to_pay", "opvr", "so", "oosms", "sn", "parts", "figures")


def _copy_lines(rows: list[tuple]) -> None:
    """Store a run's lines with COPY: 10,000 lines with their formulas are ~25 MB, and COPY
    takes them several times faster than INSERT batches (bench/payroll.py). The table has
    no trigger; its CHECK constraints (the line adds up) hold for COPY as for INSERT."""
    table = PayrollLine._meta.db_table
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


TOTAL_FIELDS = ("accrued", "opv", "vosms", "ipn", "court", "withheld", "advance", "to_pay", "opvr", "so", "oosms",
                "sn")


def _budget(line: PayrollLine) -> tuple[str, str, str, str]:
    return line.administrator, line.programme, line.subprogramme, line.funding_source


def amounts_of(lines: Iterable[PayrollLine]) -> dict[tuple, Decimal]:
    """What the run's entries must hold: (operation, key, specific, administrator, programme,
    subprogramme, funding) → amount. Withholdings follow the accrual's specifics in proportion
    (exactly, to the tiyn); employer charges land on the scheme's specific (116/121/122/124,
    135 for technical staff), so their specific here is empty."""
    out: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        budget = _budget(line)
        parts = {k: Decimal(v) for k, v in line.parts.items()}
        for specific, amount in parts.items():
            out[("payroll.accrual", "accrual", specific, *budget)] += amount
        for key in ("opv", "vosms", "ipn", "court"):
            for specific, amount in calculator.split(getattr(line, key), parts).items():
                out[("payroll.withholding", key, specific, *budget)] += amount
        suffix = "_tech" if line.technical else ""
        for key in ("opvr", "so", "oosms", "sn"):
            amount = getattr(line, key)
            if amount:
                out[("payroll.employer", key + suffix, "", *budget)] += amount
    return {k: v for k, v in out.items() if v}


OPERATION_TEXT = {
    "payroll.accrual": "Начислена заработная плата",
    "payroll.withholding": "Удержаны ОПВ, ВОСМС, ИПН и по исполнительным документам",
    "payroll.employer": "Начислены ОПВР, социальный налог, социальные отчисления и ООСМС",
}


def _drafts(run: PayrollRun, diffs: dict[tuple, Decimal], originals: dict[str, int], day: dt.date,
            recalculation: int) -> list[tuple[str, EntryDraft]]:
    """One entry per operation and sign: increases as a regular entry (the first posting) or a
    corrected entry (a recalculation); decreases as a red storno of the operation's first
    entry. Each balances, because every amount makes a debit and a credit line."""
    drafts = []
    number = f"ЗП-{run.label}" + (f"/{recalculation}" if recalculation else "")
    for operation in ("payroll.accrual", "payroll.withholding", "payroll.employer"):
        scheme = scheme_for(run.institution, operation, day)
        for sign in (1, -1):
            amounts = [SchemeAmount(key, amount, Classification(specific or "111", adm, prog, sub, fund))
                       for (op, key, specific, adm, prog, sub, fund), amount in sorted(diffs.items())
                       if op == operation and (amount > 0) == (sign > 0)]
            if not amounts:
                continue
            text = f"{LABEL}: {OPERATION_TEXT[operation]} за {run.label}"
            if sign < 0:
                kind, text = EntryKind.REVERSAL, f"{text} (уменьшение при перерасчете № {recalculation})"
            elif recalculation:
                kind, text = EntryKind.CORRECTED, f"{text} (доначисление при перерасчете № {recalculation})"
            else:
                kind = EntryKind.REGULAR
            draft = entry_from_scheme(institution=run.institution, operation=operation, date=day, amounts=amounts,
                                      doc_type=DOC_TYPE, doc_number=number, description=text, kind=kind,
                                      scheme=scheme)
            draft = replace(draft, memorial_order=5,
                            reverses_id=originals.get(operation) if sign < 0 else None)
            drafts.append((operation, draft))
    return drafts


def fund_check(run: PayrollRun, diffs: dict[tuple, Decimal], posted: dict[tuple, Decimal]) -> list[dict]:
    """FLC-PAY-001 facts per accrual specific the run increases."""
    this: dict[str, Decimal] = defaultdict(lambda: ZERO)
    before: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key, amount in diffs.items():
        if key[0] == "payroll.accrual":
            this[key[2]] += amount
    for key, amount in posted.items():
        if key[0] == "payroll.accrual":
            before[key[2]] += amount
    facts = []
    for specific in sorted(this):
        if this[specific] <= 0:
            continue
        fund, source = fund_for(run.institution, run.year, run.month, specific)
        facts.append({"month": run.label, "specific": specific, "fund_tiyn": tiyn(fund),
                      "accrued_tiyn": tiyn(before[specific]), "this_tiyn": tiyn(this[specific]),
                      "_source": source})
    return facts


def preview_fund(run: PayrollRun) -> list[dict]:
    """The wage fund against the run's accrual per specific, with FLC-PAY-001's verdict on what
    a post would add (read-only: nothing is recorded until the clerk posts)."""
    new: dict[str, Decimal] = defaultdict(lambda: ZERO)
    before: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key, amount in amounts_of(run.lines.defer("figures")).items():
        if key[0] == "payroll.accrual":
            new[key[2]] += amount
    for key, amount in _posted(run).items():
        if key[0] == "payroll.accrual":
            before[key[2]] += amount
    first, _last = month_bounds(run.year, run.month)
    rows = []
    for specific in sorted(set(new) | set(before)):
        fund, source = fund_for(run.institution, run.year, run.month, specific)
        this = new[specific] - before[specific]
        blocked, texts = False, []
        if this > 0:
            facts = {"month": run.label, "specific": specific, "fund_tiyn": tiyn(fund),
                     "accrued_tiyn": tiyn(before[specific]), "this_tiyn": tiyn(this)}
            verdict = rules_services.preview("payroll_accrual", facts, institution=run.institution, on_date=first)
            blocked = verdict.blocked
            texts = [h.text(rules_services.language()) for h in verdict.blocks]
        rows.append({"specific": specific, "fund": fund, "source": source, "accrued": before[specific],
                     "this": this, "blocked": blocked, "messages": texts})
    return rows


def _posted(run: PayrollRun) -> dict[tuple, Decimal]:
    return {(p.operation, p.key, p.specific, p.administrator, p.programme, p.subprogramme, p.funding_source):
            p.amount for p in run.posted.all()}


def post_run(*, run: PayrollRun, actor, request=None) -> list:
    """Post the calculated run: FLC-PAY-001 per specific, then the entries through the posting
    schemes, under payroll.edit; the month is locked. A recalculated month posts only the
    difference from what the ledger already holds; an unchanged one posts nothing. A refusal
    writes nothing (one transaction)."""
    institution = run.institution
    require(actor, institution, Capability.EDIT_PAYROLL, request=request, action=Action.POST,
            object_type="payroll_run")
    with transaction.atomic():
        run = PayrollRun.objects.select_for_update().select_related("institution").get(pk=run.pk)
        if run.status == RunStatus.POSTED:
            raise ControlError("payroll_month_locked", _("The payroll for %(month)s is already posted.")
                               % {"month": run.label})
        if run.status != RunStatus.CALCULATED:
            raise ControlError("payroll_not_calculated",
                               _("Calculate the payroll for %(month)s and check the preview before posting.")
                               % {"month": run.label})
        lines = list(run.lines.defer("figures"))  # the formulas are for people, not for posting
        new = amounts_of(lines)
        posted = _posted(run)
        diffs = {k: new.get(k, ZERO) - posted.get(k, ZERO) for k in set(new) | set(posted)}
        diffs = {k: v for k, v in diffs.items() if v}
        _first, day = month_bounds(run.year, run.month)
        for facts in fund_check(run, diffs, posted):
            facts.pop("_source")
            rules_services.enforce("payroll_accrual", facts, institution=institution, actor=actor, on_date=day,
                                   request=request)
        originals = {}
        for row in run.posted.exclude(entry_id=None).order_by("entry_id"):
            originals.setdefault(row.operation, row.entry_id)
        recalculation = run.recalculations + 1 if run.posted_once else 0
        drafts = _drafts(run, diffs, originals, day, recalculation)
        entries = []
        if drafts:
            entries = post_entries(institution=institution, actor=actor, drafts=[d for _op, d in drafts],
                                   request=request, source=f"payroll run {run.label}",
                                   capability=Capability.EDIT_PAYROLL)
        first_entry = {}
        for (operation, _draft), entry in zip(drafts, entries, strict=True):
            first_entry.setdefault(operation, entry.pk)
        for key, amount in diffs.items():
            row, created = PostedAmount.objects.get_or_create(
                run=run, operation=key[0], key=key[1], specific=key[2], administrator=key[3], programme=key[4],
                subprogramme=key[5], funding_source=key[6],
                defaults={"institution": institution, "amount": amount, "entry_id": first_entry.get(key[0])})
            if not created:
                row.amount += amount
                row.save(update_fields=["amount"])
        run.recalculations = recalculation
        run.status, run.posted_at, run.posted_by, run.posted_once = RunStatus.POSTED, timezone.now(), actor, True
        run.entry_ids = [*run.entry_ids, *[e.pk for e in entries]]
        run.save(update_fields=["status", "posted_at", "posted_by", "posted_once", "entry_ids", "recalculations"])
        log_action(actor=actor, action=Action.POST, request=request, institution=institution,
                   object_type="payroll_run", object_id=run.pk,
                   details=f"{run.label}: {len(entries)} entries" + (" (recalculation)" if recalculation else ""))
    return entries


@transaction.atomic
def reopen_run(*, run: PayrollRun, actor, reason: str, request=None) -> PayrollRun:
    """Unlock a posted month for recalculation: timesheets may change again and the next post
    posts only the differences."""
    _edit(actor, run.institution, request, "payroll_run")
    if not (reason or "").strip():
        raise ControlError("reason_required", _("Opening a posted month for recalculation needs a reason."),
                           field="reason")
    run = PayrollRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.POSTED:
        raise ControlError("payroll_not_posted", _("Only a posted month can be opened for recalculation."))
    run.status = RunStatus.REOPENED
    run.save(update_fields=["status"])
    log_action(actor=actor, action=Action.REOPEN, request=request, institution=run.institution,
               object_type="payroll_run", object_id=run.pk, details=f"{run.label}: {reason.strip()}")
    return run


# -- advances (R8) ----------------------------------------------------------------------------

def _single(institution, operation: str, key: str, amount: Decimal, employee: Employee, specific: str,
            position: StaffPosition | None, day: dt.date, number: str, text: str) -> EntryDraft:
    budget = ((position.administrator, position.programme, position.subprogramme, position.funding_source)
              if position else (institution.administrator_code, "", "", "budget_local"))
    draft = entry_from_scheme(
        institution=institution, operation=operation, date=day, doc_type="Платежная ведомость", doc_number=number,
        description=text,
        amounts=[SchemeAmount(key, amount, Classification(specific, *budget), employee_id=employee.pk)])
    return replace(draft, memorial_order=5)


def pay_advance(*, employee: Employee, actor, year: int, month: int, amount: Decimal, paid_on: dt.date,
                request=None) -> Advance:
    """A mid-month advance, within the established share of the monthly salary (FLC-PAY-002)."""
    institution = employee.institution
    _edit(actor, institution, request, "advance")
    if amount is None or amount <= 0:
        raise ControlError("invalid", _("The advance must be a positive amount."), field="amount")
    with transaction.atomic():
        employee = _locked_employee(employee)
        first, last = month_bounds(year, month)
        params = params_for(institution, first)
        position = _positions(institution, first).get(employee.position_code) or _positions(
            institution, last).get(employee.position_code)
        salary = monthly_salary(position, employee, params) if position else ZERO
        paid = (Advance.objects.filter(institution=institution, employee=employee, year=year, month=month)
                .aggregate(s=Sum("amount"))["s"] or ZERO)
        facts = {"month": month_label(year, month), "employee": employee.label(rules_services.language()),
                 "monthly_salary_tiyn": tiyn(salary), "advances_paid_tiyn": tiyn(paid), "this_tiyn": tiyn(amount)}
        rules_services.enforce("advance", facts, institution=institution, actor=actor, on_date=paid_on,
                               request=request)
        if _month_locked(institution, year, month):
            raise ControlError("payroll_month_locked",
                               _("The payroll for %(month)s is posted and locked; open it for recalculation first.")
                               % {"month": month_label(year, month)})
        specific = calculator.SPECIFIC_TECHNICAL if position and position.category == Category.TECHNICAL else "111"
        draft = _single(institution, "payroll.advance", "advance", amount, employee, specific, position, paid_on,
                        f"АВ-{month_label(year, month)}-{employee.personnel_number}",
                        f"{LABEL}: аванс за {month_label(year, month)}, {employee}")
        entry = post_entries(institution=institution, actor=actor, drafts=[draft], request=request,
                             source=f"payroll advance {month_label(year, month)}",
                             capability=Capability.EDIT_PAYROLL)[0]
        advance = Advance.objects.create(institution=institution, employee=employee, year=year, month=month,
                                         amount=amount, paid_on=paid_on, entry_id=entry.pk, created_by=actor)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="advance", object_id=advance.pk, details=f"{employee.personnel_number} {amount}")
    return advance


# -- payment registers (R9) -------------------------------------------------------------------

REGISTER_ITEMS = {
    RegisterKind.SALARY: ("net",),
    RegisterKind.PENSION: ("opv", "opvr"),
    RegisterKind.HEALTH: ("vosms", "oosms"),
    RegisterKind.SOCIAL: ("so",),
    RegisterKind.TAX: ("ipn", "sn"),
}


def _paid(run: PayrollRun, item: str) -> dict[int, Decimal]:
    return {row["employee_id"]: row["s"] for row in
            PaymentLine.objects.filter(register__run=run, item=item).values("employee_id").annotate(s=Sum("amount"))}


def create_register(*, run: PayrollRun, actor, kind: str, paid_on: dt.date, amounts: dict[int, Decimal] | None = None,
                    request=None) -> PaymentRegister:
    """A payment register of a posted run. Salary transfers are per employee and each is held
    to the pay due (FLC-PAY-003: accrued − withheld − advances − already transferred); by
    default each employee gets what is still due. Contribution and tax lists pay what the run
    withheld or charged and was not yet paid. One entry per register (Dr payable, Cr 6010)."""
    institution = run.institution
    _edit(actor, institution, request, "payment_register")
    if kind not in REGISTER_ITEMS:
        raise ControlError("invalid", _("Unknown register kind."), field="kind")
    with transaction.atomic():
        run = PayrollRun.objects.select_for_update().select_related("institution").get(pk=run.pk)
        if not run.posted_once:
            raise ControlError("payroll_not_posted", _("Post the payroll for %(month)s before paying it.")
                               % {"month": run.label})
        lines = {line.employee_id: line for line in run.lines.select_related("employee").defer("figures")}
        rows: list[tuple[PayrollLine, str, Decimal]] = []
        errors = []
        language = rules_services.language()
        for item in REGISTER_ITEMS[kind]:
            paid = _paid(run, "net" if item == "net" else item)
            for employee_id, line in lines.items():
                if item == "net":
                    due = line.to_pay - (paid.get(employee_id) or ZERO)
                    amount = due if amounts is None else amounts.get(employee_id, ZERO)
                    if not amount:
                        continue
                    facts = {"month": run.label, "employee": line.employee.label(language),
                             "accrued_tiyn": tiyn(line.accrued), "withheld_tiyn": tiyn(line.withheld),
                             "advances_paid_tiyn": tiyn(line.advance),
                             "transferred_tiyn": tiyn(paid.get(employee_id) or ZERO), "this_tiyn": tiyn(amount)}
                    try:
                        rules_services.enforce("salary_payment", facts, institution=institution, actor=actor,
                                               on_date=paid_on, request=request)
                    except ControlError as error:
                        errors.extend(getattr(error, "errors", None) or [error])
                        continue
                else:
                    amount = getattr(line, item) - (paid.get(employee_id) or ZERO)
                if amount > 0:
                    rows.append((line, item, amount))
        if errors:
            raise errors[0] if len(errors) == 1 else ControlErrors(errors)
        if not rows:
            raise ControlError("payroll_nothing_to_pay", _("Nothing is left to pay in this register."))
        number = (PaymentRegister.objects.filter(institution=institution).aggregate(n=Max("number"))["n"] or 0) + 1
        by_class: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
        for line, item, amount in rows:
            parts = {k: Decimal(v) for k, v in line.parts.items()}
            if item in ("opvr", "so", "oosms", "sn"):
                spec = {"opvr": "116", "sn": "121", "so": "122", "oosms": "124"}[item]
                shares = {("135" if line.technical else spec): amount}
            else:
                shares = calculator.split(amount, parts)
            for specific, part in shares.items():
                by_class[(item, specific, *_budget(line))] += part
        amounts_list = [SchemeAmount(item, amount, Classification(specific, adm, prog, sub, fund))
                        for (item, specific, adm, prog, sub, fund), amount in sorted(by_class.items())]
        draft = entry_from_scheme(institution=institution, operation="payroll.payment", date=paid_on,
                                  amounts=amounts_list, doc_type="Реестр платежей", doc_number=f"РП-{number}",
                                  description=f"{LABEL}: реестр № {number} ({kind}) за {run.label}")
        entry = post_entries(institution=institution, actor=actor, drafts=[replace(draft, memorial_order=2)],
                             request=request, source=f"payroll register {number}",
                             capability=Capability.EDIT_PAYROLL)[0]
        register = PaymentRegister.objects.create(
            institution=institution, run=run, kind=kind, number=number, paid_on=paid_on,
            total=sum((a for _l, _i, a in rows), ZERO), entry_id=entry.pk, created_by=actor)
        PaymentLine.objects.bulk_create([
            PaymentLine(institution=institution, register=register, employee_id=line.employee_id, item=item,
                        amount=amount, iban=line.employee.iban if item == "net" else "")
            for line, item, amount in rows])
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="payment_register", object_id=register.pk,
                   details=f"{kind} {run.label}: {register.total}")
    return register


# -- personnel import (labour ministry format, docs/exchange/payroll-personnel.md) ---------------

PERSONNEL_COLUMNS = ("personnel_number", "iin", "full_name_kk", "full_name_ru", "position_code", "category",
                     "hired_on", "dismissed_on", "iban", "resident", "pensioner", "disability_group",
                     "foreign_national")
BOOLEAN = {"1": True, "0": False, "true": True, "false": False, "": False}


def import_personnel(*, institution, actor, data: bytes, request=None) -> dict:
    """Import civil-servant personnel data, all-or-nothing: every problem of the file is
    reported (sheet, row, column, value, rule, message) and nothing is written unless there
    are none. An employee is matched by IIN; a new dismissal date of an employee who is a user
    switches the access off (R15)."""
    _edit(actor, institution, request, "employee")
    problems = Problems()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add("encoding", _("The file must be UTF-8 text."), sheet="personnel")
        problems.raise_if_any()
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    header = tuple(reader.fieldnames or ())
    if header != PERSONNEL_COLUMNS:
        problems.add("header", _("The header must be: %(columns)s.") % {"columns": ";".join(PERSONNEL_COLUMNS)},
                     sheet="personnel", row=1, value=";".join(header))
        problems.raise_if_any()
    positions = set(StaffPosition.objects.filter(institution=institution).values_list("code", flat=True))
    existing = {e.iin: e for e in Employee.objects.filter(institution=institution)}
    numbers = {e.personnel_number: e.iin for e in existing.values()}
    seen_iin, seen_number = set(), set()
    parsed = []
    for row_no, row in enumerate(reader, start=2):
        def bad(column, rule, message, value=None, _row=row_no, _data=row):
            problems.add(rule, message, sheet="personnel", row=_row, column=column,
                         value=_data.get(column, "") if value is None else value)

        values = {k: (row.get(k) or "").strip() for k in PERSONNEL_COLUMNS}
        try:
            validate_iin(values["iin"])
        except ValidationError as error:
            bad("iin", error.code or "iin", error.messages[0])
        if values["iin"] in seen_iin:
            bad("iin", "duplicate", _("This IIN appears twice in the file."))
        seen_iin.add(values["iin"])
        if not values["personnel_number"]:
            bad("personnel_number", "required", _("The personnel number is required."))
        elif values["personnel_number"] in seen_number or numbers.get(values["personnel_number"], values["iin"]) \
                != values["iin"]:
            bad("personnel_number", "duplicate", _("This personnel number belongs to another employee."))
        seen_number.add(values["personnel_number"])
        for column in ("full_name_kk", "full_name_ru"):
            if not values[column]:
                bad(column, "required", _("The full name is required in Kazakh and in Russian."))
        if values["position_code"] not in positions:
            bad("position_code", "unknown_position", _("No such position in the staff schedule."))
        if values["category"] not in Category.values:
            bad("category", "unknown_category",
                _("The category must be one of: %(values)s.") % {"values": ", ".join(Category.values)})
        dates = {}
        for column in ("hired_on", "dismissed_on"):
            if not values[column] and column == "dismissed_on":
                dates[column] = None
                continue
            try:
                dates[column] = dt.date.fromisoformat(values[column])
            except ValueError:
                bad(column, "date", _("A date is written YYYY-MM-DD."))
        if dates.get("hired_on") and dates.get("dismissed_on") and dates["dismissed_on"] < dates["hired_on"]:
            bad("dismissed_on", "dismissed_before_hired", _("The dismissal date cannot precede the hiring date."))
        if values["iban"]:
            try:
                validate_iban(values["iban"])
            except ValidationError as error:
                bad("iban", error.code or "iban", error.messages[0])
        flags = {}
        for column in ("resident", "pensioner", "foreign_national"):
            if values[column].lower() not in BOOLEAN:
                bad(column, "boolean", _("Write 1 or 0."))
            flags[column] = BOOLEAN.get(values[column].lower(), False) if column != "resident" or values[column] \
                else True
        try:
            group = int(values["disability_group"] or 0)
            if not 0 <= group <= 3:
                raise ValueError
        except ValueError:
            bad("disability_group", "disability_group", _("The disability group is 0, 1, 2 or 3."))
            group = 0
        parsed.append((values, dates, flags, group))
    if not parsed and not problems:
        problems.add("empty", _("The file has no rows."), sheet="personnel", row=2)
    problems.raise_if_any()
    created = updated = dismissed = 0
    with transaction.atomic():
        for values, dates, flags, group in parsed:
            fields = {"personnel_number": values["personnel_number"], "full_name_kk": values["full_name_kk"],
                      "full_name_ru": values["full_name_ru"], "position_code": values["position_code"],
                      "hired_on": dates["hired_on"], "dismissed_on": dates["dismissed_on"],
                      "iban": values["iban"].replace(" ", "").upper(), "disability_group": group, **flags}
            employee = existing.get(values["iin"])
            if employee is None:
                Employee.objects.create(institution=institution, iin=values["iin"], **fields)
                created += 1
                continue
            was_dismissed, old_position = employee.dismissed_on, employee.position_code
            for name, value in fields.items():
                setattr(employee, name, value)
            employee.save()
            updated += 1
            if (dates["dismissed_on"] and dates["dismissed_on"] != was_dismissed) or old_position != \
                    values["position_code"]:
                dismissed += bool(employee.user_id)
                _shut_off(employee, actor, request, f"personnel import: {employee.personnel_number} dismissed or "
                                                    f"transferred")
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="employee", details=f"personnel import: {created} new, {updated} updated")
    return {"created": created, "updated": updated, "access_shut_off": dismissed}
