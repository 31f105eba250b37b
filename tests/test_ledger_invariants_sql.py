"""Invariants 1–5 held by PostgreSQL itself: every refusal below is raw SQL that bypasses the
services, and each trigger branch has a test that expects it to fail with its message code."""

import contextlib
import datetime as dt
import hashlib
import json

import pgtrigger
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from access.models import ActionLog
from access.services import log_action
from ledger.models import Account, AccountKind, EntrySeal, JournalEntry, Period, Posting
from ledger.services import approve_period, close_period, correct_entry, post_entry
from ledger.verification import verify_all

from .factories import execute, line, make_counterparty, pair, run_commit_checks, scalar

MARCH = dt.date(2026, 3, 10)


@contextlib.contextmanager
def refused(pattern: str, exc=DatabaseError):
    """The statement inside fails with a message matching `pattern`; the test goes on after it."""
    with pytest.raises(exc, match=pattern):
        with transaction.atomic():
            yield


def insert_entry(institution_id, date, author_id, *, kind="regular", reverses_id=None, doc_number="RAW-1",
                 period_id=None) -> int:
    """An entry inserted with raw SQL, naming the period of its date (or `period_id`); txid is
    the column's default; the statement trigger checks the rest."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (institution_id, period_id, date, doc_type, doc_number, description, "
            "basis, author_id, created_at, kind, reverses_id) "
            "VALUES (%s, coalesce(%s, (SELECT id FROM ledger_period WHERE institution_id = %s "
            "AND year = extract(year FROM %s::date) AND month = extract(month FROM %s::date))), "
            "%s, 'МО', %s, 'raw', '', %s, now(), %s, %s) RETURNING id",
            [institution_id, period_id, institution_id, date, date, date, doc_number, author_id, kind, reverses_id],
        )
        return cursor.fetchone()[0]


def insert_postings(*rows) -> None:
    """rows: dicts with entry_id, institution_id, line_no, date, account_id, side, amount,
    funding_source_id and optionally counterparty_id; one INSERT statement for all."""
    values, params = [], []
    for r in rows:
        values.append("(%s, %s, %s, %s, %s, %s, %s, '261', '003', '015', '111', %s, %s, '')")
        params += [r["institution_id"], r["entry_id"], r["line_no"], r["date"], r["account_id"], r["side"],
                   r["amount"], r["funding_source_id"], r.get("counterparty_id")]
    execute(
        "INSERT INTO ledger_posting (institution_id, entry_id, line_no, date, account_id, side, amount, "
        "administrator, programme, subprogramme, specific, funding_source_id, counterparty_id, description) "
        "VALUES " + ", ".join(values),
        params,
    )


def posting(world, entry_id, line_no, side, amount, *, account="7060", date=MARCH, institution=None, **extra):
    return {
        "entry_id": entry_id, "institution_id": (institution or world.a).id, "line_no": line_no, "date": date,
        "account_id": world.accounts[account].id, "side": side, "amount": amount,
        "funding_source_id": world.funding["budget_local"].id, **extra,
    }


@pytest.fixture(autouse=True)
def _discard_pending_checks(request):
    """Django's TestCase teardown runs the deferred checks (SET CONSTRAINTS ALL IMMEDIATE) before
    its rollback; entries these tests leave half-built on purpose must not reach it."""
    if "world" in request.fixturenames:
        request.getfixturevalue("world")  # the test's transaction is open from here on
    if not connection.in_atomic_block:  # no test database, or a transactional test
        yield
        return
    savepoint = transaction.savepoint()
    yield
    transaction.savepoint_rollback(savepoint)


@pytest.fixture
def posted(world):
    """One entry of A posted through the service and sealed, as after its commit."""
    entry = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(MARCH, "250.00"))
    run_commit_checks()
    return entry


@pytest.fixture
def every_log(posted, world):
    """A row in each append-only table: a correction of `posted` and a closed January."""
    correct_entry(entry=posted, actor=world.accountant_a, reason="wrong account", date=MARCH,
                  lines=[line("7010", "D", "250.00"), line("1010", "C", "250.00")])
    close_period(period=world.periods_a[1], actor=world.chief_a)
    run_commit_checks()
    return posted


# --- invariant 2: immutable ----------------------------------------------------------------


def test_sql_update_of_a_posted_entry_is_refused(posted):
    with refused(rf"immutable: journal entry {posted.id}: UPDATE refused"):
        execute("UPDATE ledger_journalentry SET description = 'edited' WHERE id = %s", [posted.id])


def test_orm_queryset_update_of_an_entry_is_refused(posted):
    # auditlog does not see QuerySet.update(); the trigger does.
    with refused(rf"immutable: journal entry {posted.id}: UPDATE refused"):
        JournalEntry.objects.filter(pk=posted.pk).update(doc_number="X")


def test_sql_delete_of_a_posted_entry_is_refused(posted):
    with refused(rf"immutable: journal entry {posted.id}: DELETE refused"):
        execute("DELETE FROM ledger_journalentry WHERE id = %s", [posted.id])


def test_sql_update_of_a_posting_is_refused(posted):
    posting_id = scalar("SELECT min(id) FROM ledger_posting WHERE entry_id = %s", [posted.id])
    with refused(rf"immutable: posting {posting_id}: UPDATE refused"):
        execute("UPDATE ledger_posting SET amount = 1 WHERE id = %s", [posting_id])


def test_sql_delete_of_a_posting_is_refused(posted):
    with refused(r"immutable: posting \d+: DELETE refused"):
        execute("DELETE FROM ledger_posting WHERE entry_id = %s", [posted.id])
    assert Posting.objects.filter(entry=posted).count() == 2


@pytest.mark.parametrize("table", ["ledger_entryseal", "ledger_correctionlog", "ledger_periodtransition",
                                   "access_actionlog"])
def test_update_and_delete_of_append_only_logs_are_refused(every_log, table):
    assert scalar(f"SELECT count(*) FROM {table}") > 0
    with refused(r"immutable: .*: UPDATE refused"):
        execute(f"UPDATE {table} SET institution_id = institution_id")
    with refused(r"immutable: .*: DELETE refused"):
        execute(f"DELETE FROM {table}")


def _no_truncate_uris() -> dict[str, str]:
    """db_table → URI of its statement-level TRUNCATE guard, from pgtrigger's registry."""
    return {
        model._meta.db_table: f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registry.registered()
        if trigger.name.endswith("_no_truncate")
    }


APPEND_ONLY = ["ledger_posting", "ledger_journalentry", "ledger_entryseal", "access_actionlog",
               "ledger_correctionlog", "ledger_periodtransition", "ledger_period"]
DERIVED = ["ledger_turnover", "access_chainhead"]


def test_every_table_that_must_survive_truncate_has_a_guard():
    assert set(APPEND_ONLY + DERIVED) <= set(_no_truncate_uris())


@pytest.mark.parametrize("table", APPEND_ONLY + DERIVED)
def test_truncate_is_refused_by_the_tables_own_trigger(every_log, table):
    # CASCADE reaches the tables that reference this one; their guards are ignored here so
    # the refusal can only come from this table's own trigger.
    others = [uri for t, uri in _no_truncate_uris().items() if t != table]
    message = (rf"derived_state: {table} is written only by its triggers" if table in DERIVED
               else rf"append_only: {table} is append-only: TRUNCATE refused")
    with pgtrigger.ignore(*others):
        with refused(message):
            execute(f"TRUNCATE {table} CASCADE")
    assert scalar(f"SELECT count(*) FROM {table}") > 0


# --- invariant 3: closed periods -----------------------------------------------------------


def test_raw_insert_dated_in_a_closed_period_is_refused(world):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    with refused(r"period_closed: period 2026-03 of institution \d+ is closed; entry dated 2026-03-10 refused",
                 IntegrityError):
        insert_entry(world.a.id, MARCH, world.accountant_a.id)


def test_raw_insert_dated_in_an_approved_period_is_refused(world):
    close_period(period=world.periods_a[2], actor=world.chief_a)
    approve_period(period=world.period(world.a, 2), actor=world.chief_a)
    with refused(r"period_closed: .* is approved", IntegrityError):
        insert_entry(world.a.id, dt.date(2026, 2, 1), world.accountant_a.id)


def test_a_closed_period_of_a_does_not_close_b(world):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    entry_id = insert_entry(world.b.id, MARCH, world.accountant_b.id)
    assert JournalEntry.objects.get(pk=entry_id).period_id == world.periods_b[3].id


def test_raw_insert_without_a_period_is_refused(world):
    with refused(r'null value in column "period_id"', IntegrityError):
        insert_entry(world.a.id, dt.date(2027, 1, 5), world.accountant_a.id)


def test_raw_insert_naming_another_institutions_period_is_refused(world):
    with refused(r"period_missing: entry \d+ names period \d+, which is not a period of institution \d+",
                 IntegrityError):
        insert_entry(world.a.id, dt.date(2026, 3, 5), world.accountant_a.id, period_id=world.periods_b[3].id)


def test_raw_insert_naming_the_wrong_month_is_refused(world):
    with refused(r"period_mismatch: entry \d+ is dated 2026-03-05 but names period 2026-04", IntegrityError):
        insert_entry(world.a.id, dt.date(2026, 3, 5), world.accountant_a.id, period_id=world.periods_a[4].id)


def test_raw_insert_with_a_forged_transaction_id_is_refused(world):
    with refused(r"txid_forged: entry \d+ must carry the id of the transaction", IntegrityError):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journalentry (institution_id, period_id, date, doc_type, doc_number, description, "
                "basis, author_id, created_at, kind, txid) VALUES (%s, %s, '2026-03-05', 'МО', 'X', 'raw', '', %s, "
                "now(), 'regular', 1)", [world.a.id, world.periods_a[3].id, world.accountant_a.id])


def test_raw_insert_by_an_unknown_author_is_refused(world):
    with refused(r"author_missing: entry \d+ names author 987654321", IntegrityError):
        insert_entry(world.a.id, dt.date(2026, 3, 5), 987654321)


def test_entry_admission_sets_period_and_transaction_from_the_date(world):
    entry_id = insert_entry(world.a.id, dt.date(2026, 7, 31), world.accountant_a.id)
    period_id, txid = JournalEntry.objects.filter(pk=entry_id).values_list("period_id", "txid").get()
    assert period_id == world.periods_a[7].id
    assert txid == scalar("SELECT pg_current_xact_id()::text::bigint")


# --- invariant 1: balanced, at commit ------------------------------------------------------


def test_unbalanced_entry_fails_when_the_deferred_check_runs(world):
    entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
    insert_postings(posting(world, entry_id, 1, "D", "100.00"),
                    posting(world, entry_id, 2, "C", "99.99", account="1010"))
    with refused(rf"entry_unbalanced: entry {entry_id} debits 100.00 <> credits 99.99", IntegrityError):
        run_commit_checks()


@pytest.mark.django_db(transaction=True)
def test_unbalanced_entry_fails_at_commit_and_leaves_nothing(world):
    with pytest.raises(IntegrityError, match=r"entry_unbalanced: entry \d+ debits 100.00 <> credits 50.00"):
        with transaction.atomic():
            entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
            insert_postings(posting(world, entry_id, 1, "D", "100.00"),
                            posting(world, entry_id, 2, "C", "50.00", account="1010"))
    assert scalar("SELECT count(*) FROM ledger_journalentry") == 0
    assert scalar("SELECT count(*) FROM ledger_posting") == 0
    assert scalar("SELECT count(*) FROM ledger_turnover") == 0


@pytest.mark.django_db(transaction=True)
def test_balanced_raw_entry_commits_and_is_sealed(world):
    with transaction.atomic():
        entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
        insert_postings(posting(world, entry_id, 1, "D", "70.00"),
                        posting(world, entry_id, 2, "C", "70.00", account="1010"))
    seal = EntrySeal.objects.get(entry_id=entry_id)
    assert (seal.seq, seal.prev_hash, seal.debit_total) == (1, "", 70)
    assert verify_all() == []


def test_entry_with_one_posting_fails(world):
    entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
    insert_postings(posting(world, entry_id, 1, "D", "100.00"))
    with refused(rf"entry_too_few_postings: entry {entry_id} has 1 posting\(s\)", IntegrityError):
        run_commit_checks()


def test_entry_without_postings_fails(world):
    entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
    with refused(rf"entry_too_few_postings: entry {entry_id} has 0 posting\(s\)", IntegrityError):
        run_commit_checks()


@pytest.mark.django_db(transaction=True)
def test_posting_added_to_an_entry_committed_earlier_is_refused(world):
    entry = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(MARCH, "10.00"))
    with pytest.raises(IntegrityError, match=rf"entry_already_committed: posting line [34] of entry {entry.id}"):
        with transaction.atomic():
            insert_postings(posting(world, entry.id, 3, "D", "5.00"), posting(world, entry.id, 4, "C", "5.00"))
    assert verify_all() == []


@pytest.mark.django_db(transaction=True)
def test_posting_added_after_the_seal_in_the_same_transaction_is_refused(world):
    # SET CONSTRAINTS ALL IMMEDIATE fires the deferred seal mid-transaction; a posting added
    # after it would pass the txid check, so the seal itself must close the entry.
    with pytest.raises(IntegrityError, match=r"entry_already_sealed: posting line 3 of entry \d+ refused"):
        with transaction.atomic():
            entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
            insert_postings(posting(world, entry_id, 1, "D", "10.00"),
                            posting(world, entry_id, 2, "C", "10.00", account="1010"))
            execute("SET CONSTRAINTS ALL IMMEDIATE")
            insert_postings(posting(world, entry_id, 3, "D", "5.00"))
    assert scalar("SELECT count(*) FROM ledger_journalentry") == 0


@pytest.mark.django_db(transaction=True)
def test_a_seal_written_by_hand_does_not_skip_the_balance_check(world):
    # The commit-time check skips entries that already have a seal; a seal inserted by the
    # writer itself must not let an unbalanced entry through.
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
            insert_postings(posting(world, entry_id, 1, "D", "10.00"),
                            posting(world, entry_id, 2, "C", "1.00", account="1010"))
            execute("INSERT INTO ledger_entryseal (entry_id, institution_id, seq, prev_hash, hash, debit_total, "
                    "sealed_at) VALUES (%s, %s, 1, '', 'forged', 10, now())", [entry_id, world.a.id])
    assert scalar("SELECT count(*) FROM ledger_journalentry") == 0
    assert verify_all() == []


# --- posting admission: each branch of posting_admit -------------------------------------


def _valid_entry(world, institution=None) -> int:
    institution = institution or world.a
    author = world.accountant_a if institution.id == world.a.id else world.accountant_b
    return insert_entry(institution.id, MARCH, author.id)


def test_posting_whose_institution_differs_from_its_entry_is_refused(world):
    entry_id = _valid_entry(world)
    with refused(rf"tenant_mismatch: posting line [12] of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00", institution=world.b),
                        posting(world, entry_id, 2, "C", "1.00", institution=world.b, account="1010"))


def test_posting_on_another_institutions_counterparty_is_refused(world):
    theirs = make_counterparty(world.b, "ТОО Поставщик Б", "7")
    entry_id = _valid_entry(world)
    with refused(rf"tenant_mismatch: posting line 2 of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00"),
                        posting(world, entry_id, 2, "C", "1.00", account="3210", counterparty_id=theirs.id))


def test_posting_on_own_counterparty_is_admitted(world):
    ours = make_counterparty(world.a, "ТОО Поставщик А", "7")
    entry_id = _valid_entry(world)
    insert_postings(posting(world, entry_id, 1, "D", "1.00"),
                    posting(world, entry_id, 2, "C", "1.00", account="3210", counterparty_id=ours.id))
    run_commit_checks()
    assert verify_all() == []


def test_negative_amount_on_a_regular_entry_is_refused(world):
    entry_id = _valid_entry(world)
    with refused(rf"negative_amount: posting line [12] of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "-1.00"),
                        posting(world, entry_id, 2, "C", "-1.00", account="1010"))


def test_negative_amount_on_a_reversal_is_admitted(posted, world):
    entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id, kind="reversal", reverses_id=posted.id)
    insert_postings(posting(world, entry_id, 1, "D", "-250.00"),
                    posting(world, entry_id, 2, "C", "-250.00", account="1010"))
    run_commit_checks()
    assert verify_all() == []


def test_reversal_of_another_institutions_entry_is_refused(posted, world):
    with refused(rf"tenant_mismatch: entry reverses {posted.id}, which is not an entry of institution {world.b.id}",
                 IntegrityError):
        insert_entry(world.b.id, MARCH, world.accountant_b.id, kind="reversal", reverses_id=posted.id)


def test_reversal_must_name_its_original(world):
    with refused("entry_reversal_names_original", IntegrityError):
        insert_entry(world.a.id, MARCH, world.accountant_a.id, kind="reversal")


def test_posting_on_a_missing_entry_is_refused(world):
    with refused(r"entry_missing: posting line 1 of entry 987654 refused", IntegrityError):
        insert_postings(posting(world, 987654, 1, "D", "1.00"))


def test_posting_dated_otherwise_than_its_entry_is_refused(world):
    entry_id = _valid_entry(world)
    with refused(rf"date_mismatch: posting line 1 of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00", date=dt.date(2026, 4, 1)))


def test_posting_on_a_missing_account_is_refused(world):
    entry_id = _valid_entry(world)
    row = posting(world, entry_id, 1, "D", "1.00")
    row["account_id"] = 987654
    with refused(rf"account_missing: posting line 1 of entry {entry_id} refused", IntegrityError):
        insert_postings(row)


@pytest.mark.parametrize("valid_from, valid_to", [
    (dt.date(2026, 4, 1), None),  # not yet valid on 2026-03-10
    (dt.date(2024, 1, 1), dt.date(2026, 3, 9)),  # no longer valid
])
def test_posting_on_an_account_outside_its_validity_is_refused(world, valid_from, valid_to):
    account = Account.objects.create(code="1090", section=1, kind=AccountKind.ASSET, name_ru="x", name_kk="x",
                                     valid_from=valid_from, valid_to=valid_to)
    entry_id = _valid_entry(world)
    row = posting(world, entry_id, 1, "D", "1.00")
    row["account_id"] = account.id
    with refused(rf"account_not_valid: posting line 1 of entry {entry_id} refused", IntegrityError):
        insert_postings(row)


def test_posting_on_a_missing_funding_source_is_refused(world):
    entry_id = _valid_entry(world)
    with refused(rf"funding_source_missing: posting line 1 of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00", funding_source_id=987654))


def test_posting_on_a_missing_counterparty_is_refused(world):
    entry_id = _valid_entry(world)
    with refused(rf"counterparty_missing: posting line 1 of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00", counterparty_id=987654))


def test_zero_amount_and_unknown_side_are_refused_by_check_constraints(world):
    entry_id = _valid_entry(world)
    with refused("posting_amount_nonzero", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "0.00"))
    with refused("posting_side", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "X", "1.00"))


def test_posting_refusal_names_the_faulty_line_of_a_multi_row_statement(world):
    entry_id = _valid_entry(world)
    with refused(rf"negative_amount: posting line 2 of entry {entry_id} refused", IntegrityError):
        insert_postings(posting(world, entry_id, 1, "D", "1.00"),
                        posting(world, entry_id, 2, "C", "-1.00", account="1010"))


def test_a_large_statement_is_checked_and_counted_like_a_small_one(world):
    """Above PLAN_PER_CALL_ROWS_MIN transition rows the admission runs with EXECUTE (planned for
    the rows at hand): the same refusal, and the same turnovers when nothing is wrong."""
    from ledger.sql import PLAN_PER_CALL_ROWS_MIN

    entry_id = _valid_entry(world)
    lines = [posting(world, entry_id, n, "D", "1.00") for n in range(1, PLAN_PER_CALL_ROWS_MIN + 2)]
    bad = lines + [posting(world, entry_id, PLAN_PER_CALL_ROWS_MIN + 2, "C", "-1.00", account="1010")]
    with refused(rf"negative_amount: posting line {PLAN_PER_CALL_ROWS_MIN + 2} of entry {entry_id} refused",
                 IntegrityError):
        insert_postings(*bad)
    total = PLAN_PER_CALL_ROWS_MIN + 1
    good = lines + [posting(world, entry_id, total + 1, "C", f"{total}.00", account="1010")]
    insert_postings(*good)
    assert scalar("SELECT debit FROM ledger_turnover WHERE account_id = %s", [world.accounts["7060"].id]) == total
    assert scalar("SELECT credit FROM ledger_turnover WHERE account_id = %s", [world.accounts["1010"].id]) == total


# --- derived state: turnovers and chain heads have one writer ---------------------------


def test_direct_writes_of_turnovers_are_refused(posted, world):
    with refused("derived_state: ledger_turnover is written only by its triggers", IntegrityError):
        execute(
            "INSERT INTO ledger_turnover (institution_id, period_id, account_id, specific, funding_source_id, "
            "debit, credit) VALUES (%s, %s, %s, '141', %s, 1, 0)",
            [world.a.id, world.periods_a[3].id, world.accounts["7060"].id, world.funding["budget_local"].id],
        )
    with refused("derived_state: ledger_turnover", IntegrityError):
        execute("UPDATE ledger_turnover SET debit = debit + 1")
    with refused("derived_state: ledger_turnover", IntegrityError):
        execute("DELETE FROM ledger_turnover")


def test_direct_writes_of_the_journal_chain_head_are_refused(world):
    with refused("derived_state: access_chainhead is written only by its triggers", IntegrityError):
        execute("UPDATE access_chainhead SET seq = 0, hash = ''")
    with refused("derived_state: access_chainhead", IntegrityError):
        execute("INSERT INTO access_chainhead (chain, seq, hash) VALUES ('other', 0, '')")


def test_a_forged_seal_is_refused_or_caught_by_verification(posted, world):
    entry_id = insert_entry(world.a.id, MARCH, world.accountant_a.id)
    insert_postings(posting(world, entry_id, 1, "D", "1.00"), posting(world, entry_id, 2, "C", "1.00",
                                                                      account="1010"))
    try:
        with transaction.atomic():
            execute("INSERT INTO ledger_entryseal (entry_id, institution_id, seq, prev_hash, hash, debit_total, "
                    "sealed_at) VALUES (%s, %s, 99, 'x', 'y', 1, now())", [entry_id, world.a.id])
    except IntegrityError as error:  # a writer guard on the seals
        assert "derived_state" in str(error)
    else:
        assert {"chain_gap", "chain_link", "chain_hash"} <= {b.kind for b in verify_all()}


# --- periods: open → closed → approved, closed → open; nothing else -------------------


def _set_status(period_id, status):
    execute("UPDATE ledger_period SET status = %s WHERE id = %s", [status, period_id])


def test_open_to_approved_is_refused(world):
    with refused(r"period_transition: open → approved not allowed", IntegrityError):
        _set_status(world.periods_a[1].id, "approved")


def test_allowed_transitions_pass_and_approved_never_changes(world):
    pid = world.periods_a[1].id
    _set_status(pid, "closed")
    _set_status(pid, "open")
    _set_status(pid, "closed")
    _set_status(pid, "approved")
    for status in ("open", "closed", "approved"):
        with refused(r"period_approved: period 2026-01 is approved and can never change", IntegrityError):
            _set_status(pid, status)
    assert Period.objects.get(pk=pid).status == "approved"


def test_a_period_cannot_be_moved(world):
    with refused(r"period_identity: period \d+ cannot be moved", IntegrityError):
        execute("UPDATE ledger_period SET month = 12 WHERE id = %s", [world.periods_a[1].id])
    with refused(r"period_identity", IntegrityError):
        execute("UPDATE ledger_period SET institution_id = %s WHERE id = %s", [world.b.id, world.periods_a[1].id])


def test_a_reopening_without_a_reason_is_refused_by_the_database(world):
    params = [world.periods_a[2].id, world.a.id, world.chief_a.id]
    sql = ("INSERT INTO ledger_periodtransition (period_id, institution_id, from_status, to_status, at, actor_id, "
           "reason) VALUES (%s, %s, 'closed', {to}, now(), %s, {reason})")
    with refused("ptrans_reopen_reason_given", IntegrityError):
        execute(sql.format(to="'open'", reason="''"), params)
    execute(sql.format(to="'closed'", reason="''"), params)  # closing needs no reason
    execute(sql.format(to="'open'", reason="'ошибка в начислении'"), params)


def test_a_period_cannot_be_deleted(world):
    with refused(r"undeletable: period \d+: DELETE refused"):
        execute("DELETE FROM ledger_period WHERE id = %s", [world.periods_a[12].id])


# --- invariant 4: hash chains, built by the database ---------------------------------


def _journal_text(row) -> str:
    """The canonical row text, rebuilt here from the columns (jsonb array of strings)."""
    micros = (row.at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    values = [str(row.seq), str(micros), "" if row.user_id is None else str(row.user_id), row.username,
              row.full_name, row.iin, row.role, "" if row.institution_id is None else str(row.institution_id),
              row.ip or "", row.action, row.object_type, row.object_id, row.outcome, row.details]
    return json.dumps(values, ensure_ascii=False)


def test_journal_rows_get_consecutive_seq_and_a_hash_chain(world):
    log_action(actor=world.accountant_a, action="view", institution=world.a, details='кавычки " и \\ и\nстрока')
    log_action(actor=None, action="login_failed", outcome="failed", username="nobody")
    rows = list(ActionLog.objects.order_by("seq"))
    assert len(rows) >= 10  # the world's institutions, users and roles were journaled too
    prev = ""
    for expected_seq, row in enumerate(rows, start=1):
        assert row.seq == expected_seq
        assert row.prev_hash == prev
        assert row.hash == hashlib.sha256(f"{prev}|{_journal_text(row)}".encode()).hexdigest()
        prev = row.hash
    assert scalar("SELECT seq FROM access_chainhead WHERE chain = 'journal'") == len(rows)
    assert scalar("SELECT hash FROM access_chainhead WHERE chain = 'journal'") == prev


def test_journal_seq_given_by_the_caller_is_overridden(world):
    row = ActionLog.objects.create(at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), action="view", outcome="success",
                                   seq=1, prev_hash="forged", hash="forged")
    row.refresh_from_db()
    assert row.seq == ActionLog.objects.count()
    assert row.prev_hash != "forged" and row.hash != "forged"


def test_each_institution_has_its_own_gap_free_entry_chain(world):
    for i in range(3):
        post_entry(institution=world.a, actor=world.accountant_a, draft=pair(MARCH, f"{i + 1}.00"))
        post_entry(institution=world.b, actor=world.accountant_b, draft=pair(MARCH, f"{i + 1}.00"))
        run_commit_checks()
    for institution in (world.a, world.b):
        seals = list(EntrySeal.objects.filter(institution=institution).order_by("seq"))
        assert [s.seq for s in seals] == [1, 2, 3]
        assert [s.prev_hash for s in seals] == ["", seals[0].hash, seals[1].hash]
        assert len({s.hash for s in seals}) == 3
    assert verify_all() == []
