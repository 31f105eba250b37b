"""The one door for writes to the ledger.

Each function runs in one transaction (joining its caller's, so payroll or an import can
post many entries atomically), checks the actor's role, validates, locks what its decision
reads, writes, and appends to the action journal. The database re-checks the invariants at
insert and at commit.
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors
from access.models import Action, Institution
from access.roles import Capability
from access.services import log_action, require
from rules import services as rules_services

from . import facts, reference
from .drafts import ENTRIES_PER_BATCH_MAX, EntryDraft, LineDraft
from .models import (
    CorrectionLog,
    Counterparty,
    EntryKind,
    JournalEntry,
    Period,
    PeriodStatus,
    PeriodTransition,
    Posting,
)
from .validation import SUPERSEDED_BY_RULES, validate_entry


def ensure_year(institution: Institution, year: int) -> list[Period]:
    """Create the twelve monthly periods of a year (open) where missing."""
    Period.objects.bulk_create(
        [Period(institution=institution, year=year, month=m) for m in range(1, 13)], ignore_conflicts=True
    )
    return list(Period.objects.filter(institution=institution, year=year).order_by("month"))


PERIOD_LOCK_SPACE = 1885696620  # advisory key space of periods ('per')


def open_year(*, institution: Institution, year: int, actor, request=None) -> list[Period]:
    """Open the twelve months of a year (those missing), journaled. Needs the chief accountant."""
    require(actor, institution, Capability.CLOSE_PERIOD, request=request, action=Action.CREATE,
            object_type="period")
    with transaction.atomic():
        periods = ensure_year(institution, year)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="period", object_id=year, details=f"periods of {year}")
    return periods


PERIODS_SQL = (
    # The advisory lock in the target list is taken as each row is read, before LockRows
    # takes the row lock, so the fair queue still comes first.
    "SELECT id, year, month, status, pg_advisory_xact_lock_shared(%s, id::int) FROM ledger_period "
    "WHERE institution_id = %s AND (year, month) IN (SELECT * FROM unnest(%s::int[], %s::int[])) "
    "ORDER BY id FOR SHARE"
)


def lock_for_posting(institution: Institution, drafts: Sequence[EntryDraft], ref: reference.Reference,
                     *, cash: bool = True) -> tuple[dict[tuple[int, int], Period], dict[str, int]]:
    """Lock what the posting controls read, in one round trip: the periods the entries fall in
    (shared, behind the fair advisory queue, so a close in flight finishes first and no close
    starts until this transaction ends; row locks alone do not queue, and a stream of posters
    would starve a close) and, with `cash`, the cash accounts paid out of (FLC-LED-004), whose
    balances are read after their locks. Returns the periods and the balances in tiyn."""
    months = sorted({(d.date.year, d.date.month) for d in drafts})
    statements = [(PERIODS_SQL, [PERIOD_LOCK_SPACE, institution.id, [y for y, _m in months],
                                 [m for _y, m in months]])]
    cash_part, paying = facts.cash_statements(institution.id, drafts, ref) if cash else ([], [])
    results = facts.execute_together(statements + cash_part)
    return _periods(institution, results[0]), (facts.cash_balances(results[-1], paying, ref) if paying else {})


def _periods(institution: Institution, rows) -> dict[tuple[int, int], Period]:
    return {
        (y, m): Period(id=pid, institution=institution, year=y, month=m, status=status)
        for pid, y, m, status, _locked in rows
    }


def _period_errors(drafts: Sequence[EntryDraft], periods: dict[tuple[int, int], Period]) -> list[ControlError]:
    errors = []
    for draft in drafts:
        period = periods.get((draft.date.year, draft.date.month))
        if period is None:
            errors.append(ControlError(
                "period_missing", _("There is no accounting period for %(date)s.") % {"date": draft.date.isoformat()},
                field="date",
            ))
        elif period.status != PeriodStatus.OPEN:
            errors.append(ControlError(
                "period_closed",
                _("Period %(period)s is %(status)s: entries dated %(date)s are not accepted.")
                % {"period": str(period), "status": period.get_status_display().lower(),
                   "date": draft.date.isoformat()},
                field="date",
            ))
    return errors


def _counterparty_errors(institution: Institution, drafts: Sequence[EntryDraft]) -> list[ControlError]:
    wanted = {line.counterparty_id for d in drafts for line in d.lines if line.counterparty_id is not None}
    if not wanted:
        return []
    found = set(Counterparty.objects.filter(institution=institution, id__in=wanted).values_list("id", flat=True))
    prefix = len(drafts) > 1
    return [
        ControlError("counterparty_unknown", _("Counterparty %(id)s is not in this institution's directory.")
                     % {"id": line.counterparty_id},
                     field=(f"entries[{e}]." if prefix else "") + f"lines[{i}].counterparty")
        for e, d in enumerate(drafts) for i, line in enumerate(d.lines)
        if line.counterparty_id is not None and line.counterparty_id not in found
    ]


def _write(institution: Institution, actor, drafts: Sequence[EntryDraft]) -> list[JournalEntry]:
    """Validate and insert; the caller holds the transaction and writes the journal."""
    if not drafts:
        return []
    if len(drafts) > ENTRIES_PER_BATCH_MAX:
        raise ControlError("batch_too_large", _("At most %(max)s entries may be posted at once.")
                           % {"max": ENTRIES_PER_BATCH_MAX})
    ref = reference.snapshot()
    errors: list[ControlError] = []
    for draft in drafts:
        errors.extend(validate_entry(draft, ref))
    errors.extend(_counterparty_errors(institution, drafts))
    # A malformed form is refused with every fault at once, before any lock. The faults the
    # ФЛК catalogue owns (balance, classification) come from the rules engine otherwise.
    if any(e.code not in SUPERSEDED_BY_RULES for e in errors):
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]
    periods, balances = lock_for_posting(institution, drafts, ref)
    for draft in drafts:
        rules_services.enforce(
            "posting", facts.posting_facts(draft, ref, periods.get((draft.date.year, draft.date.month)), balances),
            institution=institution, actor=actor, on_date=draft.date,
        )

    now = timezone.now()
    entries = JournalEntry.objects.bulk_create([
        JournalEntry(
            institution=institution, period_id=periods[(d.date.year, d.date.month)].id, date=d.date,
            doc_type=d.doc_type, doc_number=d.doc_number, memorial_order=d.memorial_order,
            description=d.description, basis=d.basis, author=actor, created_at=now, kind=d.kind,
            reverses_id=d.reverses_id,
        )
        for d in drafts
    ])
    postings = []
    for entry, draft in zip(entries, drafts, strict=True):
        for no, line in enumerate(draft.lines, start=1):
            postings.append(Posting(
                institution_id=institution.id, entry_id=entry.id, line_no=no, date=draft.date,
                account_id=ref.accounts[line.account].id, side=line.side, amount=Decimal(line.amount),
                administrator=line.administrator, programme=line.programme, subprogramme=line.subprogramme,
                specific=line.specific, funding_source_id=ref.funding_sources[line.funding_source].id,
                counterparty_id=line.counterparty_id, employee_id=line.employee_id, asset_id=line.asset_id,
                description=line.description[:300],
            ))
    # One statement: the admission trigger and the turnover upsert run once, set-based.
    Posting.objects.bulk_create(postings, batch_size=None)
    return entries


def post_entry(*, institution: Institution, actor, draft: EntryDraft, request=None) -> JournalEntry:
    """Post one entry (R1). Raises ControlError naming every field that is wrong."""
    roles = require(actor, institution, Capability.POST_ENTRY, request=request, action=Action.POST,
                    object_type="journal_entry")
    with transaction.atomic():
        (entry,) = _write(institution, actor, [draft])
        log_action(actor=actor, action=Action.POST, request=request, institution=institution, roles=roles,
                   object_type="journal_entry", object_id=entry.id,
                   details=f"{draft.doc_type} {draft.doc_number} {draft.date.isoformat()}")
    return entry


def post_entries(*, institution: Institution, actor, drafts: Sequence[EntryDraft], request=None,
                 source: str = "batch", capability: str = Capability.POST_ENTRY) -> list[JournalEntry]:
    """Post many entries all-or-nothing (imports, payroll, the batch API): one journal row.

    A sub-ledger (payroll, financing, inventory) posts what its own operation produced under
    its own capability (a payroll clerk posts a payroll run, not arbitrary entries); the
    entries still pass every control of the ledger."""
    roles = require(actor, institution, capability, request=request, action=Action.POST,
                    object_type="journal_entry")
    with transaction.atomic():
        entries = _write(institution, actor, drafts)
        if entries:
            log_action(actor=actor, action=Action.POST, request=request, institution=institution, roles=roles,
                       object_type="journal_entry", object_id=f"{entries[0].id}..{entries[-1].id}",
                       details=f"{source}: {len(entries)} entries")
    return entries


def entry_snapshot(entry: JournalEntry) -> dict:
    """The original entry's data as the correction log keeps it (R2)."""
    return {
        "id": entry.id,
        "date": entry.date.isoformat(),
        "doc_type": entry.doc_type,
        "doc_number": entry.doc_number,
        "memorial_order": entry.memorial_order,
        "description": entry.description,
        "basis": entry.basis,
        "author_id": entry.author_id,
        "created_at": entry.created_at.isoformat(),
        "kind": entry.kind,
        "postings": [
            {
                "line_no": p.line_no, "account": p.account.code, "side": p.side, "amount": str(p.amount),
                "administrator": p.administrator, "programme": p.programme, "subprogramme": p.subprogramme,
                "specific": p.specific, "funding_source": p.funding_source.code,
                "counterparty_id": p.counterparty_id, "employee_id": p.employee_id, "asset_id": p.asset_id,
                "description": p.description,
            }
            for p in entry.postings.select_related("account", "funding_source").order_by("line_no")
        ],
    }


def lines_of(entry: JournalEntry) -> tuple[LineDraft, ...]:
    return tuple(
        LineDraft(
            account=p.account.code, side=p.side, amount=p.amount, specific=p.specific,
            administrator=p.administrator, programme=p.programme, subprogramme=p.subprogramme,
            funding_source=p.funding_source.code, counterparty_id=p.counterparty_id,
            employee_id=p.employee_id, asset_id=p.asset_id, description=p.description,
        )
        for p in entry.postings.select_related("account", "funding_source").order_by("line_no")
    )


def correct_entry(*, entry: JournalEntry, actor, reason: str, lines: Sequence[LineDraft] | None = None,
                  date: dt.date | None = None, description: str | None = None, request=None) -> CorrectionLog:
    """Correct a posted entry by adding, never editing (R2): a reversal (red storno: the same
    lines with negative amounts) and, when `lines` are given, the corrected entry, both dated
    in an open period, plus one correction-log row. Without `lines` the entry is cancelled."""
    institution = entry.institution
    require(actor, institution, Capability.CORRECT_ENTRY, request=request, action=Action.CORRECT,
            object_type="journal_entry")
    if not (reason or "").strip():
        raise ControlError("reason_required", _("A correction needs a reason."), field="reason")
    if entry.kind == EntryKind.REVERSAL:
        raise ControlError("reversal_not_correctable",
                           _("A reversal cannot be corrected; correct the corrected entry instead."))
    day = date or timezone.localdate()
    with transaction.atomic():
        # The row lock makes two simultaneous corrections of one entry queue; the unique
        # original_id in the correction log refuses the second in any case.
        JournalEntry.objects.select_for_update().filter(pk=entry.pk).values_list("pk").get()
        if CorrectionLog.objects.filter(original=entry).exists():
            raise ControlError("already_corrected", _("This entry has already been corrected."))
        original_lines = lines_of(entry)
        reversal = EntryDraft(
            date=day, doc_type=entry.doc_type, doc_number=f"{entry.doc_number}-С",
            description=_("Reversal of %(doc)s: %(reason)s") % {"doc": entry.doc_number, "reason": reason},
            lines=tuple(line.negated() for line in original_lines), basis=entry.basis,
            memorial_order=entry.memorial_order, kind=EntryKind.REVERSAL, reverses_id=entry.id,
        )
        drafts = [reversal]
        if lines:
            drafts.append(EntryDraft(
                date=day, doc_type=entry.doc_type, doc_number=f"{entry.doc_number}-И",
                description=description or entry.description, lines=tuple(lines), basis=entry.basis,
                memorial_order=entry.memorial_order, kind=EntryKind.CORRECTED,
            ))
        written = _write(institution, actor, drafts)
        now = timezone.now()
        log = CorrectionLog.objects.create(
            institution=institution, original=entry, reversal=written[0],
            corrected=written[1] if len(written) > 1 else None, original_data=entry_snapshot(entry),
            original_recorded_at=entry.created_at, corrected_at=now, actor=actor,
            actor_name=actor.full_name, reason=reason.strip(),
        )
        log_action(actor=actor, action=Action.CORRECT, request=request, institution=institution,
                   object_type="journal_entry", object_id=entry.id,
                   details=f"reversal {written[0].id}"
                           + (f", corrected {written[1].id}" if len(written) > 1 else "") + f": {reason}")
    return log


def _transition(period: Period, actor, to_status: str, capability: str, action: str, reason: str,
                request=None) -> Period:
    require(actor, period.institution, capability, request=request, action=action, object_type="period")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s::int)", [PERIOD_LOCK_SPACE, period.pk])
        locked = Period.objects.select_for_update().get(pk=period.pk)
        allowed = {
            PeriodStatus.CLOSED: {PeriodStatus.OPEN},
            PeriodStatus.OPEN: {PeriodStatus.CLOSED},
            PeriodStatus.APPROVED: {PeriodStatus.CLOSED},
        }[to_status]
        if locked.status not in allowed:
            code = "period_approved" if locked.status == PeriodStatus.APPROVED else "period_transition"
            raise ControlError(
                code,
                _("Period %(period)s is %(status)s and cannot become %(to)s.")
                % {"period": str(locked), "status": locked.get_status_display().lower(),
                   "to": PeriodStatus(to_status).label.lower()},
            )
        from_status = locked.status
        locked.status = to_status
        locked.changed_at = timezone.now()
        locked.changed_by = actor
        locked.save(update_fields=["status", "changed_at", "changed_by"])
        PeriodTransition.objects.create(
            period=locked, institution_id=locked.institution_id, from_status=from_status, to_status=to_status,
            at=locked.changed_at, actor=actor, reason=reason,
        )
        log_action(actor=actor, action=action, request=request, institution=locked.institution,
                   object_type="period", object_id=str(locked), details=reason)
    return locked


def close_period(*, period: Period, actor, request=None) -> Period:
    """Close a month: no entry may be dated in it afterwards. Needs the chief accountant."""
    return _transition(period, actor, PeriodStatus.CLOSED, Capability.CLOSE_PERIOD, Action.CLOSE, "", request)


def reopen_period(*, period: Period, actor, reason: str, request=None) -> Period:
    """Reopen a closed month, with the reason logged. An approved month never reopens (R3)."""
    if not (reason or "").strip():
        raise ControlError("reason_required", _("Reopening a period needs a reason."), field="reason")
    return _transition(period, actor, PeriodStatus.OPEN, Capability.CLOSE_PERIOD, Action.REOPEN, reason.strip(),
                       request)


def approve_period(*, period: Period, actor, request=None) -> Period:
    """Approve a closed month's statements: it is locked for good (R3)."""
    return _transition(period, actor, PeriodStatus.APPROVED, Capability.APPROVE_PERIOD, Action.APPROVE, "",
                       request)


def create_counterparty(*, institution: Institution, actor, iin_bin: str, name: str, address: str = "",
                        source: str = "manual", request=None) -> Counterparty:
    """Add a counterparty to the institution's directory (BIN/IIN check digit validated)."""
    from django.core.exceptions import ValidationError

    require(actor, institution, Capability.POST_ENTRY, request=request, action=Action.CREATE,
            object_type="counterparty")
    counterparty = Counterparty(institution=institution, iin_bin=iin_bin.strip(), name=name.strip(),
                                address=address.strip(), source=source)
    try:
        counterparty.full_clean()
    except ValidationError as exc:
        errors = [ControlError(e.code or "invalid", e.message % (e.params or {}), field=field)
                  for field, items in exc.error_dict.items() for e in items]
        raise ControlErrors(errors) if len(errors) > 1 else errors[0] from None
    with transaction.atomic():
        counterparty.save()
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="counterparty", object_id=counterparty.pk, details=f"{iin_bin} {name}")
    return counterparty
