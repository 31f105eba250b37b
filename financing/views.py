"""Financing pages. Thin: parse (financing/forms.py), check the role, call a service or a
query, render. Objects are fetched within the current institution: another tenant's is a 404."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError
from access.models import Action
from access.pages import need_capability
from access.roles import Capability
from access.services import log_action
from esep.imports import ImportRefused

from . import queries, reports, services
from .forms import ActForm, ContractForm, ObligationForm, PaymentForm, RegisterForm, UploadForm
from .imports import guess_format
from .models import MONTHS, Channel, Contract, PlanDocument, PlanType, StatementLine, TreasuryStatement

_need = need_capability


def _may_edit(request, institution) -> bool:
    from access.roles import capabilities_of
    from access.services import roles_in

    return Capability.EDIT_FINANCING in capabilities_of(roles_in(request.user, institution))


def _viewed(request, institution, what: str, details: str = "") -> None:
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type=what, details=details)


def _year(request, default: int | None = None) -> int:
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or 0)
    except ValueError:
        year = 0
    return year if 2000 <= year <= 2100 else (default or timezone.localdate().year)


def _form_errors(form, error: ControlError) -> None:
    for one in getattr(error, "errors", None) or [error]:
        field = (one.field or "").split(".")[0]
        if field == "years":
            field = "year1"
        form.add_error(field if field in form.fields else None, str(one.message))


# -- plans ------------------------------------------------------------------------------------

def plans(request):
    """The versions of the year's plans and the upload of a plan or a certificate (JSON, XLSX)."""
    institution = _need(request, Capability.VIEW_FINANCING, object_type="plan_document")
    may_edit = _may_edit(request, institution)
    form = UploadForm(request.POST or None, request.FILES or None)
    refused = None
    status = 200
    year = _year(request)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Your role in this institution does not allow this."))
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read()
            fmt = guess_format(upload.name, data)
            try:
                doc, created = services.import_plan(
                    institution=institution, actor=request.user, data=data, fmt=fmt,
                    channel=Channel.XLSX if fmt == "xlsx" else Channel.JSON, request=request)
            except ImportRefused as error:
                refused = error
                status = 422
            except ControlError as error:
                form.add_error("file", str(error.message))
                status = 422
            else:
                if created:
                    messages.success(request, _("Version %(version)s of %(year)s is imported: %(lines)s lines.")
                                     % {"version": doc.version, "year": doc.year, "lines": doc.lines_count})
                else:
                    messages.info(request, _("This document was already imported as version %(version)s; nothing "
                                             "changed.") % {"version": doc.version})
                return redirect(f"{reverse('financing_plans')}?year={doc.year}")
        else:
            status = 422
    years = sorted(set(queries.years(institution)) | {year}, reverse=True)
    versions = queries.versions(institution, year)
    _viewed(request, institution, "plan_documents", str(year))
    return render(request, "financing/plans.html", {
        "form": form, "refused": refused, "year": year, "years": years, "versions": versions,
        "may_edit": may_edit}, status=status)


def plan_version(request, pk: int):
    institution = _need(request, Capability.VIEW_FINANCING, object_type="plan_document")
    doc = get_object_or_404(PlanDocument, pk=pk, institution=institution)
    groups = []
    for plan_type, label in PlanType.choices:
        lines = list(doc.lines.filter(plan_type=plan_type).order_by("administrator", "programme", "subprogramme",
                                                                       "specific"))
        groups.append({"label": label, "lines": lines})
    _viewed(request, institution, "plan_document", str(doc.pk))
    return render(request, "financing/plan_version.html", {"doc": doc, "groups": groups, "months": MONTHS})


def plan_diff(request):
    """What changed between two versions of a year's plans, line by line and month by month."""
    institution = _need(request, Capability.VIEW_FINANCING, object_type="plan_document")
    year = _year(request)
    versions = queries.versions(institution, year)
    numbers = [v.version for v in versions]

    def pick(name, default):
        try:
            value = int(request.GET.get(name) or default)
        except ValueError:
            value = default
        return value if value in numbers else default

    last = numbers[-1] if numbers else 0
    b = pick("b", last)
    a = pick("a", max(b - 1, numbers[0]) if numbers else 0)
    rows = queries.diff(institution, year, a, b) if numbers else []
    _viewed(request, institution, "plan_diff", f"{year} v{a}..v{b}")
    return render(request, "financing/plan_diff.html", {
        "year": year, "versions": versions, "a": a, "b": b, "rows": rows, "months": MONTHS,
        "plan_types": dict(PlanType.choices)})


# -- execution --------------------------------------------------------------------------------

def execution(request):
    """Plan execution by programme → subprogramme → specific → month, a chart, and XLSX."""
    institution = _need(request, Capability.VIEW_FINANCING, object_type="plan_execution")
    year = _year(request)
    programme = (request.GET.get("programme") or "").strip()[:11]
    specific = (request.GET.get("specific") or "").strip()[:3]
    level = "specific" if specific or programme.count(".") >= 2 else ("subprogramme" if programme else "programme")
    report = queries.execution(institution, year, programme=programme, specific=specific)
    _viewed(request, institution, "plan_execution", f"{year} {programme} {specific}")
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(reports.execution_xlsx(report, institution),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="execution-{year}.xlsx"'
        return response
    months = report.rows[0].month_cells() if specific and len(report.rows) == 1 else None
    crumbs = []
    parts = programme.split(".") if programme else []
    for i in range(1, len(parts) + 1):
        crumbs.append(".".join(parts[:i + 1]) if i == 1 and len(parts) > 1 else ".".join(parts[:i]))
    return render(request, "financing/execution.html", {
        "year": year, "years": sorted(set(queries.years(institution)) | {year}, reverse=True), "report": report,
        "rows": queries.group_execution(report, level), "level": level, "programme": programme,
        "specific": specific, "months": months, "chart": reports.chart_svg(report), "totals": report.totals,
        "labels": reports.labels(), "series": reports.SERIES})


# -- contracts --------------------------------------------------------------------------------

def contracts(request):
    institution = _need(request, Capability.VIEW_FINANCING, object_type="contract")
    may_edit = _may_edit(request, institution)
    form = ContractForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Your role in this institution does not allow this."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                contract = services.create_contract(
                    institution=institution, actor=request.user, counterparty_bin=d["counterparty_bin"],
                    counterparty_name=d["counterparty_name"], number=d["number"], date=d["date"],
                    subject=d["subject"], programme=d["programme"], specific=d["specific"], years=form.years(),
                    advance_percent=d["advance_percent"], treasury_number=d["treasury_number"],
                    treasury_date=d["treasury_date"], request=request)
            except ControlError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("Contract %(number)s is in the register.") % {"number": contract.number})
                return redirect("financing_contract", pk=contract.pk)
        status = 422
    rows = Contract.objects.filter(institution=institution).select_related("counterparty").order_by("-date", "-id")
    _viewed(request, institution, "contracts")
    return render(request, "financing/contracts.html", {"form": form, "rows": rows[:500], "may_edit": may_edit},
                  status=status)


def contract_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_FINANCING, object_type="contract")
    contract = get_object_or_404(Contract.objects.select_related("counterparty"), pk=pk, institution=institution)
    may_edit = _may_edit(request, institution)
    which = request.POST.get("form") if request.method == "POST" else ""
    forms = {"register": RegisterForm(request.POST if which == "register" else None, prefix="reg"),
             "act": ActForm(request.POST if which == "act" else None, prefix="act"),
             "payment": PaymentForm(request.POST if which == "payment" else None, prefix="pay"),
             "obligation": ObligationForm(request.POST if which == "obligation" else None, prefix="obl")}
    status = 200
    if which in forms:
        if not may_edit:
            raise PermissionDenied(_("Your role in this institution does not allow this."))
        form = forms[which]
        if form.is_valid():
            d = form.cleaned_data
            try:
                if which == "register":
                    services.register_contract(contract=contract, actor=request.user,
                                               treasury_number=d["treasury_number"], treasury_date=d["treasury_date"],
                                               request=request)
                    done = _("The contract is registered and its obligation accepted.")
                elif which == "act":
                    act = services.record_act(contract=contract, actor=request.user, number=d["number"],
                                              date=d["date"], amount=d["amount"], request=request)
                    done = _("Act %(number)s is recorded; advance offset %(offset)s.") % {
                        "number": act.number, "offset": act.advance_offset}
                elif which == "payment":
                    services.make_payment(contract=contract, actor=request.user, number=d["number"], date=d["date"],
                                          amount=d["amount"], kind=d["kind"], request=request)
                    done = _("The payment order is recorded and posted.")
                else:
                    services.accept_obligation(contract=contract, actor=request.user, date=d["date"],
                                               amount=d["amount"], request=request)
                    done = _("The obligation is accepted.")
            except ControlError as error:
                _form_errors(form, error)
            else:
                messages.success(request, done)
                return redirect("financing_contract", pk=contract.pk)
        status = 422
    _viewed(request, institution, "contract", str(contract.pk))
    return render(request, "financing/contract_detail.html", {
        "contract": contract, "state": services.contract_state(contract), "forms": forms, "may_edit": may_edit,
        "obligations": contract.obligations.all(), "acts": contract.acts.all(), "payments": contract.payments.all(),
        "years": contract.years.all()}, status=status)


# -- exchange: ЭМС contracts and treasury statements -------------------------------------------

def exchange(request):
    institution = _need(request, Capability.VIEW_FINANCING, object_type="treasury_statement")
    may_edit = _may_edit(request, institution)
    which = request.POST.get("form") if request.method == "POST" else ""
    forms = {"ems": UploadForm(request.POST if which == "ems" else None, request.FILES if which == "ems" else None,
                               prefix="ems"),
             "statement": UploadForm(request.POST if which == "statement" else None,
                                     request.FILES if which == "statement" else None, prefix="st")}
    refused = None
    status = 200
    if which in forms:
        if not may_edit:
            raise PermissionDenied(_("Your role in this institution does not allow this."))
        form = forms[which]
        if form.is_valid():
            data = form.cleaned_data["file"].read()
            try:
                if which == "ems":
                    result = services.import_ems_contracts(institution=institution, actor=request.user, data=data,
                                                           request=request)
                    messages.success(request, _("%(created)s contract(s) added, %(skipped)s already in the register.")
                                     % {"created": len(result["created"]), "skipped": result["skipped"]})
                else:
                    st = services.import_treasury_statement(institution=institution, actor=request.user, data=data,
                                                            request=request)
                    messages.success(request, _("Statement %(number)s of %(date)s is imported.")
                                     % {"number": st.number, "date": st.date.strftime("%d.%m.%Y")})
                return redirect("financing_exchange")
            except ImportRefused as error:
                refused = error
            except ControlError as error:
                form.add_error("file", str(error.message))
        status = 422
    statements = list(TreasuryStatement.objects.filter(institution=institution)[:20])
    unmatched = (StatementLine.objects.filter(statement__institution=institution)
                 .filter(payment__isnull=True) | StatementLine.objects.filter(
                     statement__institution=institution, entry_id__isnull=True)).select_related("statement")[:200]
    _viewed(request, institution, "treasury_statements")
    return render(request, "financing/exchange.html", {
        "forms": forms, "refused": refused, "statements": statements, "unmatched": unmatched,
        "may_edit": may_edit, "which": which}, status=status)
