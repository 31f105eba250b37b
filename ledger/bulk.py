"""Bulk load of journal entries: imports and migrations of history, through PostgreSQL COPY.

Guarantees:
- the drafts pass the same checks as the service path (ledger.services._write) before
  anything is written: the pure validator (`validate_entry` against the reference snapshot)
  and the institution's counterparties, then, under the service path's shared period locks
  (a close waits for the load) and its cash-account locks, the ФЛК controls of scope
  "posting" (rules.services.enforce: period open, balance, classification, account–specific
  correspondence, cash not negative), in draft order; one bad draft refuses the whole load
  (ControlError / ControlErrors, each field naming its draft: `entries[17].lines[2].amount`),
  and a blocked control is recorded as the service path records it
- every database trigger runs as on the service path: COPY fires the statement-level
  admission triggers of entries and of postings (with the turnover upsert) once per COPY over
  its transition table, and the deferred balance check and seal at commit; the database
  refuses what the validator let through
- one transaction, one action-journal row per load

Entry ids are reserved from the entry sequence before the COPY so postings can name them.
"""

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
from .drafts import EntryDraft
from .models import PeriodStatus
from .services import SUPERSEDED_BY_RULES, _counterparty_errors, _period_errors, lock_for_posting
from .validation import validate_entry

# One load is one transaction: the commit-time seal hashes every entry of it in one pass, and
# the posting trigger's transition table holds every posting. 50,000 entries (≈150,000
# postings) keep the drafts to ~80 MB in Python and a load to seconds; a larger history is
# loaded in several calls, each all-or-nothing.
ENTRIES_PER_LOAD_MAX = 50_000
# A bad file is reported by its first faults, not by a million messages.
ERRORS_REPORTED_MAX = 200

ENTRY_COLUMNS = (
    "id", "institution_id", "period_id", "date", "doc_type", "doc_number", "memorial_order", "description",
    "basis", "author_id", "created_at", "kind", "reverses_id",
)  # txid is the column's default: the inserting transaction
POSTING_COLUMNS = (
    "institution_id", "entry_id", "line_no", "date", "account_id", "side", "amount", "administrator",
    "programme", "subprogramme", "specific", "funding_source_id", "counterparty_id", "employee_id", "asset_id",
    "description",
)


def _indexed(errors: list[tuple[int | None, ControlError]]) -> list[ControlError]:
    """The same errors, each field prefixed with its draft's index: `entries[17].lines[2].amount`."""
    def field(i, e):
        if i is None:
            return e.field
        return f"entries[{i}]" + (f".{e.field}" if e.field else "")

    return [ControlError(e.code, e.message, field=field(i, e), **e.params) for i, e in errors]


def _draft_errors(drafts: Sequence[EntryDraft], ref: reference.Reference) -> list[tuple[int, ControlError]]:
    """validate_entry, the service path's pure validator, on every draft (up to the cap)."""
    errors: list[tuple[int, ControlError]] = []
    for index, draft in enumerate(drafts):
        errors.extend((index, e) for e in validate_entry(draft, ref))
        if len(errors) >= ERRORS_REPORTED_MAX:
            break
    return errors


def _refuse(errors: list[ControlError]) -> None:
    if errors:
        errors = errors[:ERRORS_REPORTED_MAX]
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]


def _reserve_entry_ids(cursor, n: int) -> list[int]:
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) FROM generate_series(1, %s)", [n]
    )
    return [row[0] for row in cursor.fetchall()]


def _entry_rows(institution: Institution, actor, drafts: Sequence[EntryDraft], ids: list[int],
                period_ids: dict[tuple[int, int], int]):
    now = timezone.now()
    for entry_id, d in zip(ids, drafts, strict=True):
        yield (entry_id, institution.id, period_ids[(d.date.year, d.date.month)], d.date, d.doc_type, d.doc_number,
               d.memorial_order, d.description, d.basis, actor.id, now, d.kind, d.reverses_id)


def _posting_rows(institution: Institution, drafts: Sequence[EntryDraft], ids: list[int], ref: reference.Reference):
    accounts, funding = ref.accounts, ref.funding_sources
    for entry_id, d in zip(ids, drafts, strict=True):
        for no, line in enumerate(d.lines, start=1):
            yield (institution.id, entry_id, no, d.date, accounts[line.account].id, line.side, Decimal(line.amount),
                   line.administrator, line.programme, line.subprogramme, line.specific,
                   funding[line.funding_source].id, line.counterparty_id, line.employee_id, line.asset_id,
                   line.description[:300])


def _copy_rows(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy(institution: Institution, actor, drafts: Sequence[EntryDraft], ref: reference.Reference,
          period_ids: dict[tuple[int, int], int]) -> list[int]:
    """COPY the entries, then their postings, in the caller's transaction. No checks here
    beyond what the database does: callers validate first (tests call this directly to
    prove the triggers refuse what slips past)."""
    pg = connection.cursor().connection  # the psycopg connection under Django's
    # Django's error classes, as on the service path: a trigger's refusal is an IntegrityError.
    with connection.wrap_database_errors, pg.cursor() as cursor:
        # Every trigger runs, whatever a caller's pgtrigger.ignore() asked for: the ignore list
        # is set empty for this transaction. (Present and empty it also keeps pgtrigger's check
        # from aborting a subtransaction per trigger call, each of which walks the queue of
        # pending deferred events: quadratic in the size of a load. The connection options
        # in settings set it too.)
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
        ids = _reserve_entry_ids(cursor, len(drafts))
        _copy_rows(cursor, "ledger_journalentry", ENTRY_COLUMNS,
                   _entry_rows(institution, actor, drafts, ids, period_ids))
        _copy_rows(cursor, "ledger_posting", POSTING_COLUMNS, _posting_rows(institution, drafts, ids, ref))
    return ids


def load_entries(*, institution: Institution, actor, drafts: Sequence[EntryDraft], request=None,
                 source: str = "import") -> int:
    """Load many entries all-or-nothing with COPY (imports, migration of history).

    Returns the number of entries written. Raises ControlError / ControlErrors (nothing
    written) on the first ERRORS_REPORTED_MAX faults found by the same controls as
    post_entries; the database triggers refuse anything else at COPY or at commit.
    """
    require(actor, institution, Capability.POST_ENTRY, request=request, action=Action.POST,
            object_type="journal_entry")
    if not drafts:
        return 0
    if len(drafts) > ENTRIES_PER_LOAD_MAX:
        raise ControlError("batch_too_large", _("At most %(max)s entries may be loaded at once.")
                           % {"max": ENTRIES_PER_LOAD_MAX})
    ref = reference.snapshot()
    # Malformed drafts are refused with every fault at once, before any lock; the faults the
    # ФЛК catalogue owns (balance, classification) come from its controls below, as on the
    # service path.
    errors: list[tuple[int | None, ControlError]] = [
        (i, e) for i, e in _draft_errors(drafts, ref) if e.code not in SUPERSEDED_BY_RULES]
    errors += [(None, e) for e in _counterparty_errors(institution, drafts)]
    _refuse(_indexed(errors))
    with transaction.atomic():
        periods, balances = lock_for_posting(institution, drafts, ref)
        for index, draft in enumerate(drafts):
            period = periods.get((draft.date.year, draft.date.month))
            try:
                rules_services.enforce("posting", facts.posting_facts(draft, ref, period, balances),
                                       institution=institution, actor=actor, on_date=draft.date, request=request)
            except ControlError as refused:
                errors.extend((index, e) for e in getattr(refused, "errors", [refused]))
                if len(errors) >= ERRORS_REPORTED_MAX:
                    break
        # The COPY needs every draft's period open: refused here even when an administrator
        # has switched the period control off (the database would refuse it too).
        if not errors:
            open_months = {key for key, period in periods.items() if period.status == PeriodStatus.OPEN}
            for index, draft in enumerate(drafts):
                if (draft.date.year, draft.date.month) not in open_months:
                    errors.extend((index, e) for e in _period_errors([draft], periods))
        _refuse(_indexed(errors))
        period_ids = {key: period.id for key, period in periods.items()}
        ids = _copy(institution, actor, drafts, ref, period_ids)
        log_action(actor=actor, action=Action.POST, request=request, institution=institution,
                   object_type="journal_entry", object_id=f"{ids[0]}..{ids[-1]}",
                   details=f"{source} (bulk): {len(ids)} entries, "
                           f"{sum(len(d.lines) for d in drafts)} postings")
    return len(ids)
