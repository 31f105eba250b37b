"""Reporting pages. Thin: parse (reporting/forms.py), check the role, call a service or a
query, render. Objects are fetched within the current institution, so another tenant's
statement or job is a 404. Every view of a register or statement goes to the action journal."""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from access.errors import ControlError
from access.models import Action
from access.pages import need_capability
from access.roles import Capability
from access.services import log_action

from . import exports, grants, registers, services
from .forms import CardExportForm, MonthForm, NotesForm, RangeForm, StatementForm, YearForm
from .models import FormLine, JobStatus, LineMap, ReportJob, Statement, StatementStatus
from .render import statement_tables, to_pdf, to_xlsx
from .statements import CHECKS, FO5_SECTIONS, valid_on

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_need = need_capability


def _viewed(request, institution, object_type: str, object_id="", details: str = "", action=Action.VIEW) -> None:
    log_action(actor=request.user, action=action, request=request, institution=institution,
               object_type=object_type, object_id=object_id, details=details)


def _errors(request, error: ControlError, form=None) -> None:
    for one in getattr(error, "errors", None) or [error]:
        if form is not None and one.field in getattr(form, "fields", {}):
            form.add_error(one.field, str(one.message))
        else:
            messages.error(request, str(one.message))


def _file(content: bytes, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX if fmt == "xlsx" else "application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _export(request, institution, tables, name: str, fmt: str, title: str):
    if fmt not in ("xlsx", "pdf"):
        raise Http404
    _viewed(request, institution, name, details=fmt, action=Action.EXPORT)
    return _file(to_xlsx(tables) if fmt == "xlsx" else to_pdf(tables, title), name, fmt)


def _default_months(today: dt.date) -> dict:
    return {"period_start": today.replace(month=1, day=1), "period_end": today.replace(day=1)}


# -- statements ----------------------------------------------------------------------------------

def statement_list(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="statement")
    form = StatementForm(request.POST or None, initial=_default_months(timezone.localdate()))
    status = 200
    if request.method == "POST":
        require_prepare = _need(request, Capability.PREPARE_STATEMENTS, action=Action.CREATE,
                                object_type="statement")
        if form.is_valid():
            try:
                statement = services.prepare_statement(institution=require_prepare, actor=request.user,
                                                       request=request, **form.cleaned_data)
            except ControlError as error:
                _errors(request, error, form)
            else:
                messages.success(request, _("The statements are prepared (version %(v)s).") % {"v": statement.version})
                return redirect("statement_detail", pk=statement.pk)
        status = 422
    statements = Statement.objects.filter(institution=institution).select_related(
        "prepared_by", "approved_by")[:100]
    jobs = ReportJob.objects.filter(institution=institution).order_by("-created_at")[:10]
    _viewed(request, institution, "statements")
    return render(request, "reporting/statement_list.html", {
        "form": form, "statements": statements, "jobs": jobs,
        "has_subordinates": institution.subordinates.exists(),
    }, status=status)


def statement_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="statement")
    statement = get_object_or_404(Statement.objects.select_related(
        "prepared_by", "checked_by", "head_signed_by", "approved_by"), pk=pk, institution=institution)
    notes = NotesForm(request.POST or None, initial={"notes": statement.notes})
    if request.method == "POST":
        _need(request, Capability.PREPARE_STATEMENTS, action=Action.EDIT, object_type="statement")
        if notes.is_valid():
            try:
                services.edit_notes(statement=statement, actor=request.user, notes=notes.cleaned_data["notes"],
                                    request=request)
            except ControlError as error:
                _errors(request, error)
            else:
                messages.success(request, _("The explanatory notes are saved."))
        return redirect("statement_detail", pk=pk)
    kk = (get_language() or "").startswith("kk")
    forms = []
    for key in ("FO-1", "FO-2", "FO-3", "FO-4"):
        data = statement.data["forms"][key]
        rows = [{**row, "name": row["name_kk"] if kk else row["name_ru"],
                 "cells": [row["values"].get(c) for c in data["columns"]] if row["values"] else []}
                for row in data["lines"]]
        forms.append({"key": key, "columns": data["columns"], "rows": rows})
    sections = [{"title": FO5_SECTIONS.get(s["key"], s["key"]), "figures": [
        {**f, "name": f["name_kk"] if kk else f["name_ru"]} for f in s["figures"]]}
        for s in statement.data["forms"]["FO-5"]["sections"]]
    checks = [{**c, "name": CHECKS.get(c["code"], c["code"])} for c in statement.checks]
    _viewed(request, institution, "statement", statement.pk)
    return render(request, "reporting/statement_detail.html", {
        "statement": statement, "forms": forms, "sections": sections, "checks": checks, "notes_form": notes,
        "Status": StatementStatus, "unmapped": statement.data.get("unmapped", []),
        "eliminated": statement.data.get("eliminated"),
    })


ACTIONS = {
    "check": (Capability.PREPARE_STATEMENTS, services.check_statement, lambda: _("The statements are checked.")),
    "sign": (Capability.SIGN_AS_HEAD, services.sign_as_head, lambda: _("The head has signed the statements.")),
    "approve": (Capability.APPROVE_PERIOD, services.approve_statement,
                lambda: _("The statements are approved; their months are locked for good.")),
}


@require_POST
def statement_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    capability, run, done = ACTIONS[action]
    institution = _need(request, capability, action=Action.APPROVE, object_type="statement")
    statement = get_object_or_404(Statement, pk=pk, institution=institution)
    try:
        run(statement=statement, actor=request.user, request=request)
    except ControlError as error:
        _errors(request, error)
    else:
        messages.success(request, done())
    return redirect("statement_detail", pk=pk)


@require_GET
def statement_export(request, pk: int, fmt: str):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="statement")
    statement = get_object_or_404(Statement, pk=pk, institution=institution)
    name = f"statements-{statement.period_start:%Y-%m}-{statement.period_end:%Y-%m}-v{statement.version}"
    return _export(request, institution, statement_tables(statement), name, fmt, _("Financial statements"))


@require_POST
def consolidated(request):
    institution = _need(request, Capability.PREPARE_STATEMENTS, action=Action.CREATE, object_type="statement")
    form = StatementForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect("statement_list")
    try:
        start, end = services.validate_range(form.cleaned_data["period_start"], form.cleaned_data["period_end"])
        if not institution.subordinates.exists():
            raise ControlError("no_subordinates",
                               _("This institution has no subordinate institutions to consolidate."))
        job = services.queue_job(institution=institution, actor=request.user, kind="consolidated",
                                 params={"period_start": start.isoformat(), "period_end": end.isoformat()},
                                 language=get_language() or "ru", request=request)
    except ControlError as error:
        _errors(request, error)
        return redirect("statement_list")
    return redirect("report_job", pk=job.pk)


def job_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="report_job")
    job = get_object_or_404(ReportJob, pk=pk, institution=institution)
    template = "reporting/_job.html" if request.htmx else "reporting/job.html"
    return render(request, template, {"job": job, "finished": job.status in (JobStatus.DONE, JobStatus.FAILED)})


def job_download(request, pk: int):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="report_job")
    job = get_object_or_404(ReportJob, pk=pk, institution=institution, status=JobStatus.DONE)
    if not job.result_file:
        raise Http404
    path = Path(settings.MEDIA_ROOT) / job.result_file
    _viewed(request, institution, "report_job", job.pk, action=Action.EXPORT)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name, content_type=XLSX)


# -- registers ----------------------------------------------------------------------------------

@require_GET
def registers_page(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="registers")
    today = timezone.localdate()
    return render(request, "reporting/registers.html", {
        "today": today, "year_start": today.replace(month=1, day=1), "institution": institution,
    })


@require_GET
def memorial_orders(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="memorial_orders")
    today = timezone.localdate()
    form = MonthForm(request.GET or {"year": today.year, "month": today.month})
    orders = None
    if form.is_valid():
        year, month = form.cleaned_data["year"], form.cleaned_data["month"]
        if request.GET.get("format"):
            return _export(request, institution, exports.memorial_orders_tables(institution, year, month),
                           f"memorial-orders-{year}-{month:02d}", request.GET["format"], _("Memorial orders"))
        orders = registers.memorial_orders(institution.id, year, month)
        _viewed(request, institution, "memorial_orders", f"{year}-{month:02d}")
    return render(request, "reporting/memorial_orders.html", {"form": form, "orders": orders,
                                                              "query": request.GET.urlencode()})


@require_GET
def cash_book(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="cash_book")
    today = timezone.localdate()
    form = RangeForm(request.GET or {"date_from": today.replace(day=1), "date_to": today})
    context = {"form": form, "query": request.GET.urlencode()}
    if form.is_valid():
        a, b = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        if request.GET.get("format"):
            return _export(request, institution, [exports.cash_book_table(institution, a, b)],
                           f"cash-book-{a}-{b}", request.GET["format"], _("Cash book"))
        opening, days = registers.cash_book(institution.id, a, b)
        context.update(opening=opening, days=days, closing=days[-1].closing if days else opening)
        _viewed(request, institution, "cash_book", f"{a}..{b}")
    return render(request, "reporting/cash_book.html", context)


BACKGROUND_CARD_LINES = 20_000  # a longer account card is built by a worker


@require_GET
def register_export(request, kind: str):
    institution = _need(request, Capability.VIEW_LEDGER, object_type=kind)
    fmt = request.GET.get("format", "xlsx")
    if kind == "trial_balance":
        form = RangeForm(request.GET)
        if form.is_valid():
            a, b = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
            return _export(request, institution, [exports.trial_balance_table(institution, a, b)],
                           f"trial-balance-{a}-{b}", fmt, _("Trial balance"))
    elif kind == "account_card":
        form = CardExportForm(request.GET)
        if form.is_valid():
            c = form.cleaned_data
            if request.GET.get("background"):
                job = services.queue_job(institution=institution, actor=request.user, kind="account_card",
                                         params={"account": c["account"], "date_from": c["date_from"].isoformat(),
                                                 "date_to": c["date_to"].isoformat()},
                                         language=get_language() or "ru", request=request)
                return redirect("report_job", pk=job.pk)
            try:
                table = exports.account_card_table(institution, c["account"], c["date_from"], c["date_to"])
            except exports.Account.DoesNotExist:
                form.add_error("account", _("Account %(code)s is not in the chart of accounts.")
                               % {"code": c["account"]})
            else:
                return _export(request, institution, [table], f"account-card-{c['account']}", fmt,
                               _("Account card"))
    elif kind == "general_ledger":
        form = YearForm(request.GET)
        if form.is_valid():
            year = form.cleaned_data["year"]
            return _export(request, institution, [exports.general_ledger_table(institution, year)],
                           f"general-ledger-{year}", fmt, _("General ledger"))
    else:
        raise Http404
    for field, errors in form.errors.items():
        for e in errors:
            messages.error(request, f"{form.fields[field].label if field in form.fields else ''}: {e}")
    return redirect("registers")


@require_GET
def grant_report(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="grant_report")
    today = timezone.localdate()
    form = MonthForm(request.GET or {"year": today.year, "month": today.month})
    report = None
    if form.is_valid():
        year, month = form.cleaned_data["year"], form.cleaned_data["month"]
        if request.GET.get("format"):
            return _export(request, institution, [exports.grant_table(institution, year, month)],
                           f"grants-{year}-{month:02d}", request.GET["format"], _("Use of tied grants"))
        report = grants.grant_usage(institution.id, year, month)
        for group in report["groups"]:
            group["label"] = grants.GROUP_LABELS[group["key"]]
        _viewed(request, institution, "grant_report", f"{year}-{month:02d}")
    return render(request, "reporting/grants.html", {"form": form, "report": report,
                                                     "query": request.GET.urlencode()})


@require_GET
def line_maps(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="line_maps")
    today = timezone.localdate()
    lines = {(line.form, line.code): line for line in valid_on(FormLine.objects.all(), today)}
    maps = [(m, lines.get((m.form, m.line))) for m in valid_on(LineMap.objects.all(), today)
            .order_by("form", "line", "account")]
    _viewed(request, institution, "line_maps")
    return render(request, "reporting/line_maps.html", {"maps": maps, "today": today})
