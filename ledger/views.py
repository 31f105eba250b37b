"""Ledger pages. Thin: parse (ledger/forms.py), check the role, call a service or a query,
render. Every object is fetched within the current institution, so another tenant's entry,
correction or period is a 404. Every view of a register or report goes to the action journal.
"""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.postgres.aggregates import StringAgg
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import OuterRef, Q, Subquery, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from access.errors import ControlError
from access.middleware import current_institution
from access.models import Action
from access.pages import need_capability
from access.roles import Capability, capabilities_of
from access.services import log_action, roles_in

from . import queries, reference, services
from .forms import (
    DOC_TYPES,
    AccountCardForm,
    CorrectionForm,
    CounterpartyForm,
    EntryEditor,
    EntryHeaderForm,
    JournalFilterForm,
    LineRow,
    ReasonForm,
    TrialBalanceForm,
    blank_rows,
    rows_from_lines,
    rows_from_post,
)
from .models import (
    Account,
    CorrectionLog,
    Counterparty,
    EntryKind,
    EntrySeal,
    FundingSource,
    JournalEntry,
    Period,
    PeriodStatus,
    PeriodTransition,
    Posting,
    Side,
)

PAGE_SIZE = 50  # rows a page: one screen of a journal, and a bounded query
DATALIST_COUNTERPARTIES_MAX = 2000  # a bigger directory is searched, not listed


# -- helpers ----------------------------------------------------------------------------------

def _institution(request):
    institution = current_institution(request)
    if institution is None:
        raise PermissionDenied(_("You are not a member of any institution."))
    return institution


_need = need_capability


def _can(request, institution, capability: str) -> bool:
    return capability in capabilities_of(roles_in(request.user, institution))


def _viewed(request, institution, object_type: str, object_id="", details: str = "") -> None:
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type=object_type, object_id=object_id, details=details)


def _with_summary(qs):
    """Entries with their debit total and the accounts debited and credited (one subquery
    each, per row of the page only)."""
    postings = Posting.objects.filter(entry_id=OuterRef("pk")).order_by().values("entry_id")

    def accounts(side):
        return Subquery(postings.filter(side=side).annotate(
            codes=StringAgg("account__code", ", ", distinct=True, order_by="account__code")).values("codes"))

    return qs.annotate(
        debit_total=Subquery(postings.filter(side=Side.DEBIT).annotate(s=Sum("amount")).values("s")),
        debit_accounts=accounts(Side.DEBIT),
        credit_accounts=accounts(Side.CREDIT),
    )


def _summarised(page):
    """The page's entries with their summary. The page is chosen on the bare entries first:
    summarising before OFFSET would compute the subqueries for every skipped row."""
    ids = [e.pk for e in page.object_list]
    page.object_list = list(_with_summary(JournalEntry.objects.filter(pk__in=ids)).order_by("-date", "-id"))
    return page


def _datalists(institution, *, editor: bool = True):
    """Suggestions for code fields (<datalist>): accounts and specifics valid today, and for
    the entry editor the institution's counterparties and common document types."""
    day = timezone.localdate()
    ref = reference.snapshot()
    lists = {
        "dl_accounts": [a for a in sorted(ref.accounts.values(), key=lambda a: a.code) if a.is_valid_on(day)],
        "dl_specifics": [s for s in sorted(ref.specifics.values(), key=lambda s: s.code) if s.is_valid_on(day)],
    }
    if editor:
        lists["dl_counterparties"] = (Counterparty.objects.filter(institution=institution)
                                      .only("iin_bin", "name")[:DATALIST_COUNTERPARTIES_MAX])
        lists["dl_doc_types"] = DOC_TYPES
    return lists


def _parse_date(raw, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _int(raw, default: int) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return default


# -- home and search --------------------------------------------------------------------------

def home(request):
    institution = current_institution(request)
    if institution is None:
        return render(request, "ledger/no_institution.html", status=403)
    today = timezone.localdate()
    context = {"year": today.year, "today": today}
    if _can(request, institution, Capability.VIEW_LEDGER):
        periods = {p.month: p for p in Period.objects.filter(institution=institution, year=today.year)}
        context["months"] = [(m, periods.get(m)) for m in range(1, 13)]
        context["entries"] = _with_summary(
            JournalEntry.objects.filter(institution=institution).select_related("author")
        ).order_by("-created_at", "-id")[:10]
    return render(request, "ledger/home.html", context)


@require_GET
def search(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="search")
    query = (request.GET.get("q") or "").strip()[:200]
    entries = []
    if query:
        ids = [e.id for e in queries.search_entries(institution.id, query)]
        entries = _with_summary(JournalEntry.objects.filter(id__in=ids)).order_by("-date", "-id")
        _viewed(request, institution, "search", details=query)
    return render(request, "ledger/search.html", {
        "query": query, "entries": entries, "limit": queries.SEARCH_LIMIT,
    })


# -- journal and entries ----------------------------------------------------------------------

@require_GET
def journal(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="journal")
    form = JournalFilterForm(request.GET or None)
    qs = JournalEntry.objects.filter(institution=institution)
    if form.is_valid():
        data = form.cleaned_data
        if data["date_from"]:
            qs = qs.filter(date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(date__lte=data["date_to"])
        if data["account"]:
            qs = qs.filter(id__in=Posting.objects.filter(institution_id=institution.id,
                                                         account__code=data["account"]).values("entry_id"))
        if data["kind"]:
            qs = qs.filter(kind=data["kind"])
        if data["doc_number"]:
            qs = qs.filter(doc_number__icontains=data["doc_number"])
        if data["q"]:
            qs = qs.filter(id__in=[e.id for e in queries.search_entries(institution.id, data["q"])])
    paginator = Paginator(qs.order_by("-date", "-id"), PAGE_SIZE)
    page = _summarised(paginator.get_page(request.GET.get("page")))
    _viewed(request, institution, "journal", details=request.GET.urlencode()[:500])
    template = "ledger/_journal_results.html" if request.htmx and not request.htmx.boosted else "ledger/journal.html"
    return render(request, template, {"form": form, "page": page, "paginator": paginator,
                                      **_datalists(institution, editor=False)})


@require_GET
def entry_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="journal_entry")
    entry = get_object_or_404(JournalEntry.objects.select_related("author", "period", "reverses"), pk=pk,
                              institution=institution)
    postings = list(entry.postings.select_related("account", "funding_source", "counterparty").order_by("line_no"))
    seal = EntrySeal.objects.filter(entry=entry).first()
    correction = CorrectionLog.objects.filter(original=entry).select_related("reversal", "corrected").first()
    produced_by = (CorrectionLog.objects.filter(Q(reversal=entry) | Q(corrected=entry))
                   .select_related("original").first())
    debit = sum((p.amount for p in postings if p.side == Side.DEBIT), Decimal(0))
    credit = sum((p.amount for p in postings if p.side == Side.CREDIT), Decimal(0))
    _viewed(request, institution, "journal_entry", entry.pk)
    return render(request, "ledger/entry_detail.html", {
        "entry": entry, "postings": postings, "seal": seal, "correction": correction,
        "produced_by": produced_by, "debit": debit, "credit": credit,
        "correctable": entry.kind != EntryKind.REVERSAL and correction is None,
    })


def _editor_context(institution, editor) -> dict:
    return {
        "editor": editor, "header": editor.header,
        "programme_options": editor.header.fields["programme"].choices,
        "funding_options": editor.header.fields["funding_source"].choices,
        "template_row": {"row": LineRow(n="__n__"), "errors": {}, "hints": {}},
        **_datalists(institution),
    }


def _entry_page(request, institution, editor, *, status=200):
    return render(request, "ledger/entry_form.html", _editor_context(institution, editor), status=status)


def _refused_by_database(editor, error: DatabaseError) -> None:
    # The service validated first; the database's own checks are the last word.
    text = str(error).split("\n")[0]
    editor.add("general", _("The database refused the operation: %(error)s") % {"error": text})


def entry_new(request):
    institution = _need(request, Capability.POST_ENTRY, action=Action.POST, object_type="journal_entry")
    ref = reference.snapshot()
    if request.method == "POST":
        header = EntryHeaderForm(request.POST, institution=institution)
        editor = EntryEditor(header, rows_from_post(request.POST), institution=institution, ref=ref)
        draft = editor.build()
        if draft is not None and not editor.has_errors:
            try:
                entry = services.post_entry(institution=institution, actor=request.user, draft=draft,
                                            request=request)
            except ControlError as error:
                editor.add_control(error)
            except DatabaseError as error:
                _refused_by_database(editor, error)
            else:
                messages.success(request, _("Entry %(doc)s is posted.") % {"doc": entry.doc_number})
                return redirect("entry_detail", pk=entry.pk)
        return _entry_page(request, institution, editor, status=422)
    header = EntryHeaderForm(institution=institution, initial={
        "date": timezone.localdate(), "doc_type": str(DOC_TYPES[0]),
    })
    editor = EntryEditor(header, blank_rows(2), institution=institution, ref=ref)
    return _entry_page(request, institution, editor)


@require_POST
def entry_validate(request):
    """Live check of the entry form (htmx): pure validation, nothing written."""
    institution = _need(request, Capability.POST_ENTRY, action=Action.POST, object_type="journal_entry")
    header = EntryHeaderForm(request.POST, institution=institution)
    editor = EntryEditor(header, rows_from_post(request.POST), institution=institution, ref=reference.snapshot())
    editor.build()
    return render(request, "ledger/_entry_check.html", {"editor": editor, "oob": True})


# -- corrections ------------------------------------------------------------------------------

def _correction_editor(request, institution, entry: JournalEntry, data=None):
    original_lines = services.lines_of(entry)
    first = original_lines[0] if original_lines else None
    default_programme = f"{first.administrator}.{first.programme}.{first.subprogramme}" if first else ""
    default_funding = first.funding_source if first else ""
    form = CorrectionForm(data, institution=institution, initial={
        "date": timezone.localdate(), "description": entry.description,
        "programme": default_programme, "funding_source": default_funding,
    })
    # The original's classification may be outside today's list: keep it choosable.
    choices = form.fields["programme"].choices
    keys = {key for key, _label in choices}
    for line in original_lines:
        key = f"{line.administrator}.{line.programme}.{line.subprogramme}"
        if key not in keys:
            keys.add(key)
            choices.append((key, key))
    form.fields["programme"].choices = choices
    if data is None:
        counterparties = dict(Counterparty.objects.filter(
            institution=institution, id__in=[line.counterparty_id for line in original_lines if line.counterparty_id]
        ).values_list("id", "iin_bin"))
        rows = rows_from_lines(original_lines, default_programme, default_funding, counterparties)
    else:
        rows = rows_from_post(data)
    return EntryEditor(form, rows, institution=institution, ref=reference.snapshot(), doc_type=entry.doc_type,
                       doc_number=f"{entry.doc_number}-И", description_default=entry.description)


def _correctable_entry(request, institution, pk):
    entry = get_object_or_404(JournalEntry.objects.select_related("author"), pk=pk, institution=institution)
    if entry.kind == EntryKind.REVERSAL:
        messages.error(request, _("A reversal cannot be corrected; correct the corrected entry instead."))
        return entry, False
    if CorrectionLog.objects.filter(original=entry).exists():
        messages.error(request, _("This entry has already been corrected."))
        return entry, False
    return entry, True


def entry_correct(request, pk: int):
    institution = _need(request, Capability.CORRECT_ENTRY, action=Action.CORRECT, object_type="journal_entry")
    entry, correctable = _correctable_entry(request, institution, pk)
    if not correctable:
        return redirect("entry_detail", pk=entry.pk)
    if request.method == "POST":
        editor = _correction_editor(request, institution, entry, request.POST)
        cancel_only = bool(request.POST.get("cancel_only"))
        if cancel_only:
            editor.header.is_valid()
            for name, errors in editor.header.errors.items():
                for message in errors:
                    editor.add(name, message)
        else:
            editor.build()
        form = editor.header
        reason = (form.cleaned_data.get("reason") or "").strip() if hasattr(form, "cleaned_data") else ""
        if not reason:
            editor.add("reason", _("A correction needs a reason."))
        if not editor.has_errors and (cancel_only or editor.draft is not None):
            try:
                log = services.correct_entry(
                    entry=entry, actor=request.user, reason=reason,
                    lines=None if cancel_only else editor.draft.lines, date=form.cleaned_data["date"],
                    description=form.cleaned_data.get("description") or None, request=request,
                )
            except ControlError as error:
                editor.add_control(error)
            except DatabaseError as error:
                _refused_by_database(editor, error)
            else:
                messages.success(request, _("Entry %(doc)s is corrected.") % {"doc": entry.doc_number})
                return redirect("correction_detail", pk=log.pk)
        status = 422
    else:
        editor = _correction_editor(request, institution, entry)
        status = 200
    return render(request, "ledger/correction_form.html", {
        "entry": entry,
        "original_postings": entry.postings.select_related("account", "funding_source").order_by("line_no"),
        **_editor_context(institution, editor),
    }, status=status)


@require_POST
def entry_correct_validate(request, pk: int):
    institution = _need(request, Capability.CORRECT_ENTRY, action=Action.CORRECT, object_type="journal_entry")
    entry = get_object_or_404(JournalEntry, pk=pk, institution=institution)
    editor = _correction_editor(request, institution, entry, request.POST)
    if request.POST.get("cancel_only"):
        editor.header.is_valid()
    else:
        editor.build()
    return render(request, "ledger/_entry_check.html", {"editor": editor, "oob": True,
                                                         "cancel_only": bool(request.POST.get("cancel_only"))})


@require_GET
def correction_log(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="correction_log")
    qs = (CorrectionLog.objects.filter(institution=institution)
          .select_related("original", "reversal", "corrected").order_by("-corrected_at", "-id"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    _viewed(request, institution, "correction_log", details=f"page {page.number}")
    return render(request, "ledger/correction_log.html", {"page": page})


@require_GET
def correction_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="correction_log")
    log = get_object_or_404(CorrectionLog.objects.select_related("original", "reversal", "corrected"), pk=pk,
                            institution=institution)
    snapshot = log.original_data or {}
    postings = snapshot.get("postings", [])
    accounts = Account.objects.in_bulk([p.get("account") for p in postings], field_name="code")
    funding = FundingSource.objects.in_bulk([p.get("funding_source") for p in postings], field_name="code")
    rows = [{**p, "account_name": getattr(accounts.get(p.get("account")), "name", ""),
             "funding_name": getattr(funding.get(p.get("funding_source")), "name", p.get("funding_source"))}
            for p in postings]
    _viewed(request, institution, "correction", log.pk)
    return render(request, "ledger/correction_detail.html", {
        "log": log, "snapshot": snapshot, "snapshot_postings": rows,
        "snapshot_created_at": _parse_datetime(snapshot.get("created_at")),
        "snapshot_date": _parse_date(snapshot.get("date"), None),
    })


def _parse_datetime(raw):
    try:
        return dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


# -- reports ----------------------------------------------------------------------------------

def _year_start(today: dt.date) -> dt.date:
    return today.replace(month=1, day=1)


@require_GET
def trial_balance(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="trial_balance")
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("date_from", _year_start(today).isoformat())
    data.setdefault("date_to", today.isoformat())
    form = TrialBalanceForm(data)
    tb = None
    if form.is_valid():
        c = form.cleaned_data
        funding_id = int(c["funding_source"]) if c["funding_source"] else None
        tb = queries.trial_balance(institution.id, c["date_from"], c["date_to"], specific=c["specific"] or None,
                                   funding_source_id=funding_id)
        _viewed(request, institution, "trial_balance", f"{c['date_from']}..{c['date_to']}",
                details=f"specific={c['specific'] or '*'} funding={funding_id or '*'}")
    return render(request, "ledger/trial_balance.html", {
        "form": form, "tb": tb, "totals": tb.totals() if tb else None,
        **_datalists(institution, editor=False),
    })


@require_GET
def account_card(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="account_card")
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("date_from", _year_start(today).isoformat())
    data.setdefault("date_to", today.isoformat())
    form = AccountCardForm(data if request.GET.get("account") else None,
                           initial={"date_from": data["date_from"], "date_to": data["date_to"]})
    context = {"form": form, **_datalists(institution, editor=False)}
    if form.is_bound and form.is_valid():
        c = form.cleaned_data
        account = Account.objects.filter(code=c["account"]).first()
        if account is None:
            form.add_error("account", _("Account %(code)s is not in the chart of accounts.") % {"code": c["account"]})
        else:
            funding_id = int(c["funding_source"]) if c["funding_source"] else None
            opening, lines, truncated = queries.account_card(
                institution.id, account, c["date_from"], c["date_to"], specific=c["specific"] or None,
                funding_source_id=funding_id,
            )
            debit = sum((cl.posting.amount for cl in lines if cl.posting.side == Side.DEBIT), Decimal(0))
            credit = sum((cl.posting.amount for cl in lines if cl.posting.side == Side.CREDIT), Decimal(0))
            context.update(account=account, opening=opening, lines=lines, truncated=truncated, debit=debit,
                           credit=credit, closing=lines[-1].balance if lines else opening,
                           date_from=c["date_from"], date_to=c["date_to"])
            _viewed(request, institution, "account_card", account.code, details=f"{c['date_from']}..{c['date_to']}")
    return render(request, "ledger/account_card.html", context)


@require_GET
def general_ledger(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="general_ledger")
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year)
    if not 2000 <= year <= 2100:
        raise Http404
    by_account: dict[str, dict] = {}
    zero = Decimal(0)
    for row in queries.general_ledger(institution.id, year):
        item = by_account.setdefault(row["account"], {"code": row["account"], "debit": [zero] * 12,
                                                      "credit": [zero] * 12})
        item["debit"][row["month"] - 1] += row["debit"]
        item["credit"][row["month"] - 1] += row["credit"]
    names = {a.code: a.name for a in Account.objects.filter(code__in=by_account)}
    rows = []
    for code in sorted(by_account):
        item = by_account[code]
        item["name"] = names.get(code, "")
        item["debit_total"] = sum(item["debit"], zero)
        item["credit_total"] = sum(item["credit"], zero)
        rows.append(item)
    month_debit = [sum((r["debit"][m] for r in rows), zero) for m in range(12)]
    month_credit = [sum((r["credit"][m] for r in rows), zero) for m in range(12)]
    _viewed(request, institution, "general_ledger", year)
    return render(request, "ledger/general_ledger.html", {
        "year": year, "rows": rows, "months": range(1, 13), "years": range(today.year - 5, today.year + 2),
        "month_debit": month_debit, "month_credit": month_credit,
        "debit_total": sum(month_debit, zero), "credit_total": sum(month_credit, zero),
    })


# -- periods ----------------------------------------------------------------------------------

@require_GET
def periods(request):
    institution = _need(request, Capability.VIEW_LEDGER, object_type="period")
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year)
    if not 2000 <= year <= 2100:
        raise Http404
    existing = {p.month: p for p in Period.objects.filter(institution=institution, year=year)
                .select_related("changed_by")}
    transitions = (PeriodTransition.objects.filter(institution=institution, period__year=year)
                   .select_related("period", "actor").order_by("-at")[:100])
    _viewed(request, institution, "periods", year)
    return render(request, "ledger/periods.html", {
        "year": year, "months": [(m, existing.get(m)) for m in range(1, 13)], "missing": len(existing) < 12,
        "transitions": transitions, "years": range(today.year - 5, today.year + 2), "Status": PeriodStatus,
    })


def _periods_url(year: int) -> str:
    return reverse("periods") + "?" + urlencode({"year": year})


def _period_action(request, pk: int, capability: str, action: str, run):
    institution = _need(request, capability, action=action, object_type="period")
    period = get_object_or_404(Period, pk=pk, institution=institution)
    try:
        done = run(period)
    except ControlError as error:
        for one in getattr(error, "errors", None) or [error]:
            messages.error(request, str(one.message))
    except DatabaseError as error:
        messages.error(request, _("The database refused the operation: %(error)s")
                       % {"error": str(error).split("\n")[0]})
    else:
        messages.success(request, _("Period %(period)s: %(status)s.")
                         % {"period": str(done), "status": done.get_status_display().lower()})
    return redirect(_periods_url(period.year))


@require_POST
def period_close(request, pk: int):
    return _period_action(request, pk, Capability.CLOSE_PERIOD, Action.CLOSE,
                          lambda p: services.close_period(period=p, actor=request.user, request=request))


@require_POST
def period_reopen(request, pk: int):
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _period_action(request, pk, Capability.CLOSE_PERIOD, Action.REOPEN,
                          lambda p: services.reopen_period(period=p, actor=request.user, reason=reason,
                                                           request=request))


@require_POST
def period_approve(request, pk: int):
    return _period_action(request, pk, Capability.APPROVE_PERIOD, Action.APPROVE,
                          lambda p: services.approve_period(period=p, actor=request.user, request=request))


@require_POST
def periods_open_year(request):
    institution = _need(request, Capability.CLOSE_PERIOD, action=Action.CREATE, object_type="period")
    year = _int(request.POST.get("year"), 0)
    if not 2000 <= year <= 2100:
        raise Http404
    services.open_year(institution=institution, year=year, actor=request.user, request=request)
    messages.success(request, _("The months of %(year)s are open.") % {"year": year})
    return redirect(_periods_url(year))


# -- counterparties ---------------------------------------------------------------------------

def counterparties(request):
    """The institution's counterparty directory: search by name or IIN/BIN, add by hand."""
    institution = _need(request, Capability.VIEW_LEDGER, object_type="counterparty")
    caps = capabilities_of(roles_in(request.user, institution))
    form = CounterpartyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if Capability.POST_ENTRY not in caps:
            raise PermissionDenied(_("Your role in this institution does not allow this."))
        if form.is_valid():
            try:
                created = services.create_counterparty(institution=institution, actor=request.user,
                                                       request=request, **form.cleaned_data)
            except ControlError as error:
                for one in getattr(error, "errors", None) or [error]:
                    form.add_error(one.field if one.field in form.fields else None, str(one.message))
            else:
                messages.success(request, _("Counterparty %(name)s is added.") % {"name": created.name})
                return redirect("counterparties")
        status = 422
    query = (request.GET.get("q") or "").strip()
    rows = Counterparty.objects.filter(institution=institution)
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(iin_bin__startswith=query))
    page = Paginator(rows.order_by("name"), PAGE_SIZE).get_page(request.GET.get("page"))
    _viewed(request, institution, "counterparties", details=query)
    return render(request, "ledger/counterparties.html", {
        "form": form, "page": page, "query": query, "may_add": Capability.POST_ENTRY in caps,
    }, status=status)
