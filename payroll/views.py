"""Payroll pages. Thin: parse, check the role, call payroll/services.py or payroll/outputs.py,
render. Every object is fetched within the current institution (another tenant's is a 404)."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from access.errors import ControlError
from access.models import Action
from access.pages import need_capability
from access.roles import Capability
from access.services import log_action

from . import outputs, services
from .models import (
    Advance,
    Category,
    Employee,
    PaymentRegister,
    PayrollLine,
    PayrollParameter,
    PayrollRun,
    RegisterKind,
    RunStatus,
    StaffPosition,
    Timesheet,
    WageFund,
)

PAGE_SIZE = 100


_need = need_capability


def _refused(request, error: ControlError) -> None:
    for one in getattr(error, "errors", None) or [error]:
        messages.error(request, str(one.message))


def _int(raw, default=None):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return default


def _money(raw) -> Decimal | None:
    try:
        value = Decimal(str(raw).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _date(raw, default=None):
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        return default


# -- runs -------------------------------------------------------------------------------------

@require_GET
def runs(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payroll_run")
    today = timezone.localdate()
    return render(request, "payroll/runs.html", {
        "runs": PayrollRun.objects.filter(institution=institution)[:60],
        "year": today.year, "month": today.month, "months": range(1, 13),
    })


@require_POST
def run_start(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="payroll_run")
    year, month = _int(request.POST.get("year")), _int(request.POST.get("month"))
    if not year or not 2000 <= year <= 2100 or not month or not 1 <= month <= 12:
        messages.error(request, _("Choose the year and the month."))
        return redirect("payroll_runs")
    try:
        run = services.start_run(institution=institution, actor=request.user, year=year, month=month,
                                 request=request)
    except ControlError as error:
        _refused(request, error)
        return redirect("payroll_runs")
    return redirect("payroll_run", pk=run.pk)


def _run(request, institution, pk) -> PayrollRun:
    return get_object_or_404(PayrollRun.objects.select_related("institution", "posted_by"), pk=pk,
                             institution=institution)


@require_GET
def run_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payroll_run")
    run = _run(request, institution, pk)
    busy = run.status in (RunStatus.QUEUED, RunStatus.CALCULATING)
    lines = run.lines.select_related("employee").order_by("employee__personnel_number")
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type="payroll_run", object_id=run.pk)
    percent = int(100 * run.progress_done / run.progress_total) if run.progress_total else 0
    return render(request, "payroll/run.html", {
        "run": run, "busy": busy, "percent": percent, "page": page, "Status": RunStatus,
        "fund": services.preview_fund(run) if run.status in (RunStatus.CALCULATED, RunStatus.POSTED) else [],
        "summary": outputs.summary_by_specific(run) if not busy else [],
        "registers": run.registers.all(), "register_kinds": RegisterKind.choices,
        "today": timezone.localdate(),
    })


@require_GET
def run_progress(request, pk: int):
    """The progress fragment the run page reloads while the worker calculates."""
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payroll_run")
    run = _run(request, institution, pk)
    return HttpResponse(f"{run.status} {run.progress_done}/{run.progress_total}", content_type="text/plain")


@require_POST
def run_post(request, pk: int):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.POST, object_type="payroll_run")
    run = _run(request, institution, pk)
    try:
        entries = services.post_run(run=run, actor=request.user, request=request)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("The payroll for %(month)s is posted: %(n)s entries; the month is locked.")
                         % {"month": run.label, "n": len(entries)})
    return redirect("payroll_run", pk=run.pk)


@require_POST
def run_reopen(request, pk: int):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.REOPEN, object_type="payroll_run")
    run = _run(request, institution, pk)
    try:
        services.reopen_run(run=run, actor=request.user, reason=request.POST.get("reason", ""), request=request)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("The month is open for recalculation."))
    return redirect("payroll_run", pk=run.pk)


@require_GET
def line_detail(request, pk: int, line: int):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payroll_line")
    run = _run(request, institution, pk)
    row = get_object_or_404(PayrollLine.objects.select_related("employee"), pk=line, run=run,
                            institution=institution)
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type="payroll_line", object_id=row.pk)
    return render(request, "payroll/line.html", {"run": run, "line": row, "figures": outputs.figure_rows(row)})


@require_GET
def payslip(request, pk: int, line: int):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payslip")
    run = _run(request, institution, pk)
    row = get_object_or_404(PayrollLine.objects.select_related("employee"), pk=line, run=run,
                            institution=institution)
    language = request.GET.get("lang") or translation.get_language()
    if language not in ("kk", "ru"):
        language = "ru"
    log_action(actor=request.user, action=Action.EXPORT, request=request, institution=institution,
               object_type="payslip", object_id=row.pk, details=language)
    pdf = outputs.payslip_pdf(row, language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="payslip-{run.label}-{row.employee.personnel_number}.pdf"'
    return response


@require_GET
def statement(request, pk: int, fmt: str):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payroll_statement")
    run = _run(request, institution, pk)
    language = translation.get_language() if translation.get_language() in ("kk", "ru") else "ru"
    log_action(actor=request.user, action=Action.EXPORT, request=request, institution=institution,
               object_type="payroll_statement", object_id=run.pk, details=fmt)
    if fmt == "xlsx":
        body, kind = outputs.statement_xlsx(run, language), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "pdf":
        body, kind = outputs.statement_pdf(run, language), "application/pdf"
    else:
        raise Http404
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="payroll-{run.label}.{fmt}"'
    return response


@require_POST
def register_create(request, pk: int):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="payment_register")
    run = _run(request, institution, pk)
    try:
        register = services.create_register(
            run=run, actor=request.user, kind=request.POST.get("kind", ""),
            paid_on=_date(request.POST.get("paid_on"), timezone.localdate()), request=request)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Payment register No. %(n)s is made.") % {"n": register.number})
    return redirect("payroll_run", pk=run.pk)


@require_GET
def register_file(request, pk: int):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="payment_register")
    register = get_object_or_404(PaymentRegister.objects.select_related("run"), pk=pk, institution=institution)
    log_action(actor=request.user, action=Action.EXPORT, request=request, institution=institution,
               object_type="payment_register", object_id=register.pk)
    response = HttpResponse(outputs.register_csv(register), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="register-{register.number}-{register.kind}.csv"'
    return response


# -- employees, advances, wage fund, parameters -----------------------------------------------

@require_GET
def employees(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="employee")
    query = (request.GET.get("q") or "").strip()
    qs = Employee.objects.filter(institution=institution)
    if query:
        qs = qs.filter(full_name_ru__icontains=query) | qs.filter(full_name_kk__icontains=query) | qs.filter(
            personnel_number=query) | qs.filter(iin=query)
    page = Paginator(qs.order_by("personnel_number"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "payroll/employees.html", {"page": page, "q": query, "today": timezone.localdate()})


@require_POST
def employees_import(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="employee")
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
        return redirect("payroll_employees")
    try:
        result = services.import_personnel(institution=institution, actor=request.user, data=upload.read(),
                                           request=request)
    except ControlError as error:
        problems = getattr(error, "problems", None) or []
        return render(request, "payroll/employees.html", {
            "page": Paginator(Employee.objects.filter(institution=institution).order_by("personnel_number"),
                              PAGE_SIZE).get_page(1),
            "problems": problems or None, "import_error": None if problems else str(error.message),
            "today": timezone.localdate()}, status=422)
    messages.success(request, _("Imported: %(created)s new, %(updated)s updated.") % result)
    return redirect("payroll_employees")


@require_POST
def employee_dismiss(request, pk: int):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.EDIT, object_type="employee")
    employee = get_object_or_404(Employee, pk=pk, institution=institution)
    try:
        services.dismiss_employee(employee=employee, actor=request.user,
                                  on=_date(request.POST.get("on"), timezone.localdate()), request=request)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("%(employee)s is dismissed.") % {"employee": employee})
    return redirect("payroll_employees")


@require_GET
def advances(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="advance")
    today = timezone.localdate()
    return render(request, "payroll/advances.html", {
        "advances": Advance.objects.filter(institution=institution).select_related("employee").order_by("-id")[:100],
        "employees": Employee.objects.filter(institution=institution, dismissed_on__isnull=True)
        .order_by("personnel_number")[:2000],
        "year": today.year, "month": today.month, "months": range(1, 13), "today": today,
    })


@require_POST
def advance_pay(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="advance")
    employee = get_object_or_404(Employee, pk=_int(request.POST.get("employee"), 0), institution=institution)
    amount = _money(request.POST.get("amount"))
    year, month = _int(request.POST.get("year")), _int(request.POST.get("month"))
    if amount is None or not year or not month or not 1 <= month <= 12:
        messages.error(request, _("Enter the month and the amount of the advance."))
        return redirect("payroll_advances")
    try:
        advance = services.pay_advance(employee=employee, actor=request.user, year=year, month=month, amount=amount,
                                       paid_on=_date(request.POST.get("paid_on"), timezone.localdate()),
                                       request=request)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Advance of %(amount)s ₸ paid to %(employee)s.")
                         % {"amount": advance.amount, "employee": employee})
    return redirect("payroll_advances")


@require_GET
def fund(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="wage_fund")
    year = _int(request.GET.get("year"), timezone.localdate().year)
    rows = []
    for line in WageFund.objects.filter(institution=institution, year=year).order_by("month", "specific"):
        planned = services.planned_fund(institution, year, line.month, line.specific)
        rows.append({"line": line, "planned": planned, "accrued": outputs.accrued(institution, year, line.month,
                                                                                  line.specific)})
    return render(request, "payroll/fund.html", {"rows": rows, "year": year, "months": range(1, 13)})


@require_POST
def fund_set(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.EDIT, object_type="wage_fund")
    year, month = _int(request.POST.get("year")), _int(request.POST.get("month"))
    amount = _money(request.POST.get("amount"))
    specific = (request.POST.get("specific") or "").strip()
    if not year or not month or not 1 <= month <= 12 or amount is None or not specific.isdigit() or len(specific) != 3:
        messages.error(request, _("Enter the month, a three-digit specific and the amount."))
    else:
        try:
            services.set_wage_fund(institution=institution, actor=request.user, year=year, month=month,
                                   specific=specific, amount=amount, request=request)
        except ControlError as error:
            _refused(request, error)
        else:
            messages.success(request, _("Wage fund saved."))
    return redirect(reverse("payroll_fund") + f"?year={year or ''}")


@require_GET
def parameters(request):
    _need(request, Capability.VIEW_PAYROLL, object_type="payroll_parameter")
    return render(request, "payroll/parameters.html", {
        "parameters": PayrollParameter.objects.filter(institution__isnull=True).order_by("key", "-valid_from")})


# -- staff schedule, new employees, timesheets ------------------------------------------------

@require_GET
def staff(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="staff_position")
    return render(request, "payroll/staff.html", {
        "positions": StaffPosition.objects.filter(institution=institution).order_by("code", "-valid_from"),
        "categories": Category.choices, "today": timezone.localdate(),
        "administrator": institution.administrator_code})


@require_POST
def staff_add(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="staff_position")
    post = request.POST
    fixed, coefficient = _money(post.get("fixed_salary")) if post.get("fixed_salary") else None, \
        _money(post.get("coefficient")) if post.get("coefficient") else None
    allowance = _money(post.get("allowance_percent")) if post.get("allowance_percent") else None
    try:
        services.save_position(
            institution=institution, actor=request.user, request=request, code=post.get("code", "").strip(),
            name_ru=post.get("name_ru", "").strip(), name_kk=post.get("name_kk", "").strip(),
            category=post.get("category", ""), fixed_salary=fixed, coefficient=coefficient,
            units=_money(post.get("units") or "1") or Decimal("1"),
            allowances=[{"name": "", "kind": "percent", "value": str(allowance), "specific": "112"}]
            if allowance else [],
            administrator=post.get("administrator", "").strip(), programme=post.get("programme", "").strip(),
            subprogramme=post.get("subprogramme", "").strip(),
            funding_source=post.get("funding_source", "").strip() or "budget_local",
            valid_from=_date(post.get("valid_from"), timezone.localdate()))
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Staff schedule position saved."))
    return redirect("payroll_staff")


@require_POST
def employee_add(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.CREATE, object_type="employee")
    post = request.POST
    try:
        services.create_employee(
            institution=institution, actor=request.user, request=request,
            personnel_number=post.get("personnel_number", "").strip(), iin=post.get("iin", "").strip(),
            full_name_kk=post.get("full_name_kk", "").strip(), full_name_ru=post.get("full_name_ru", "").strip(),
            position_code=post.get("position_code", "").strip(), iban=post.get("iban", ""),
            hired_on=_date(post.get("hired_on"), timezone.localdate()), resident=post.get("resident") == "1",
            pensioner=post.get("pensioner") == "1")
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Employee added."))
    return redirect("payroll_employees")


@require_GET
def timesheets(request):
    institution = _need(request, Capability.VIEW_PAYROLL, object_type="timesheet")
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year)
    month = _int(request.GET.get("month"), today.month)
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        raise Http404
    first, last = services.month_bounds(year, month)
    sheets = {t.employee_id: t for t in Timesheet.objects.filter(institution=institution, year=year, month=month)}
    people = services._active(institution, first, last)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "payroll/timesheets.html", {
        "year": year, "month": month, "months": range(1, 13), "norm": services.working_days(first, last),
        "rows": [(e, sheets.get(e.pk)) for e in page.object_list], "page": page,
        "locked": services._month_locked(institution, year, month)})


@require_POST
def timesheet_save(request):
    institution = _need(request, Capability.EDIT_PAYROLL, action=Action.EDIT, object_type="timesheet")
    employee = get_object_or_404(Employee, pk=_int(request.POST.get("employee"), 0), institution=institution)
    year, month = _int(request.POST.get("year"), 0), _int(request.POST.get("month"), 0)
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        raise Http404
    days = {}
    for name in ("norm_days", "days_worked", "vacation_days", "sick_days", "unpaid_days", "trip_days"):
        value = _int(request.POST.get(name))
        if value is not None and value >= 0:
            days[name] = value
    for name in ("bonus", "one_off"):
        value = _money(request.POST.get(name) or "0")
        days[name] = value if value is not None and value >= 0 else Decimal("0")
    days.setdefault("days_worked", 0)
    try:
        services.save_timesheet(employee=employee, actor=request.user, year=year, month=month, request=request,
                                **days)
    except ControlError as error:
        _refused(request, error)
    else:
        messages.success(request, _("Timesheet saved: %(employee)s.") % {"employee": employee})
    return redirect(reverse("payroll_timesheets") + f"?year={year}&month={month}")
