"""Tampering is detected (invariant 4): rows are changed behind the triggers' back with
`SET LOCAL session_replication_role = replica` (superuser only; it disables every ordinary
trigger for this transaction), and verify_ledger must name each breach precisely."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from access.models import ActionLog
from access.services import log_action
from ledger.services import correct_entry, post_entry
from ledger.verification import verify_all, verify_journal_chain, verify_turnovers

from .factories import execute, line, pair, run_commit_checks, scalar

MARCH = dt.date(2026, 3, 10)


@pytest.fixture
def ledger(world):
    """Three sealed entries of A (one corrected) and one of B; a clean ledger to tamper with."""
    entries = [post_entry(institution=world.a, actor=world.accountant_a, draft=pair(MARCH, f"{n}00.00"))
               for n in (1, 2, 3)]
    correct_entry(entry=entries[0], actor=world.accountant_a, reason="опечатка", date=MARCH,
                  lines=[line("7010", "D", "100.00"), line("1010", "C", "100.00")])
    other = post_entry(institution=world.b, actor=world.accountant_b, draft=pair(MARCH, "5.00"))
    run_commit_checks()
    assert verify_all() == []
    return entries, other


def tamper(query: str, params=()) -> None:
    execute("SET LOCAL session_replication_role = replica")
    try:
        execute(query, params)
    finally:
        execute("SET LOCAL session_replication_role = origin")


def kinds(breaches) -> set[str]:
    return {b.kind for b in breaches}


def test_a_changed_posting_amount_breaks_hash_balance_and_turnover(ledger):
    entries, _ = ledger
    posting_id = scalar("SELECT id FROM ledger_posting WHERE entry_id = %s AND side = 'D'", [entries[1].id])
    tamper("UPDATE ledger_posting SET amount = amount + 0.01 WHERE id = %s", [posting_id])
    breaches = verify_all()
    assert kinds(breaches) == {"chain_hash", "unbalanced", "seal_total", "turnover"}
    assert all(f"entry {entries[1].id}" in b.where for b in breaches if b.kind != "turnover")
    assert "200.01" in next(b for b in breaches if b.kind == "unbalanced").detail


def test_a_changed_entry_text_breaks_its_hash_only(ledger):
    entries, _ = ledger
    tamper("UPDATE ledger_journalentry SET description = 'подмена' WHERE id = %s", [entries[2].id])
    breaches = verify_all()
    assert [(b.kind, f"entry {entries[2].id}" in b.where) for b in breaches] == [("chain_hash", True)]


def test_a_posting_slipped_into_an_old_entry_is_caught(world, ledger):
    entries, _ = ledger
    tamper(
        "INSERT INTO ledger_posting (institution_id, entry_id, line_no, date, account_id, side, amount, "
        "administrator, programme, subprogramme, specific, funding_source_id, description) "
        "SELECT institution_id, entry_id, 9, date, account_id, side, amount, administrator, programme, "
        "subprogramme, specific, funding_source_id, '' FROM ledger_posting WHERE entry_id = %s AND line_no = 1",
        [entries[2].id],
    )
    assert kinds(verify_all()) == {"chain_hash", "unbalanced", "seal_total", "turnover"}


def test_a_deleted_seal_leaves_an_unsealed_entry_and_a_gap(ledger):
    entries, _ = ledger
    tamper("DELETE FROM ledger_entryseal WHERE entry_id = %s", [entries[1].id])
    breaches = verify_all()
    assert ("unsealed_entry", f"entry {entries[1].id}") in {(b.kind, b.where) for b in breaches}
    assert {"unsealed_entry", "chain_gap", "chain_link"} <= kinds(breaches)


def test_a_changed_seal_total_is_caught(ledger):
    entries, _ = ledger
    tamper("UPDATE ledger_entryseal SET debit_total = 1 WHERE entry_id = %s", [entries[0].id])
    assert kinds(verify_all()) == {"seal_total"}


def test_rewritten_seal_hash_breaks_the_next_link(ledger):
    entries, _ = ledger
    tamper("UPDATE ledger_entryseal SET hash = repeat('0', 64) WHERE entry_id = %s", [entries[0].id])
    assert kinds(verify_all()) == {"chain_hash", "chain_link"}


def test_a_changed_turnover_is_caught(world, ledger):
    tamper("UPDATE ledger_turnover SET debit = debit + 1 WHERE institution_id = %s AND account_id = %s",
           [world.a.id, world.accounts["7060"].id])
    breaches = verify_turnovers()
    assert len(breaches) == 1
    assert f"account {world.accounts['7060'].id}" in breaches[0].where
    assert kinds(verify_all()) == {"turnover"}


def test_a_deleted_turnover_is_caught(world, ledger):
    tamper("DELETE FROM ledger_turnover WHERE institution_id = %s AND account_id = %s",
           [world.b.id, world.accounts["1010"].id])
    assert kinds(verify_turnovers([world.b.id])) == {"turnover"}
    assert verify_turnovers([world.a.id]) == []


def test_a_changed_journal_row_is_caught(world, ledger):
    row = ActionLog.objects.filter(action="post").order_by("seq").first()
    tamper("UPDATE access_actionlog SET details = 'стерто' WHERE id = %s", [row.id])
    breaches = verify_journal_chain()
    assert [(b.kind, b.where) for b in breaches] == [("journal_hash", f"journal seq {row.seq}")]
    assert kinds(verify_all()) == {"journal_hash"}


def test_a_deleted_journal_row_is_caught(world, ledger):
    log_action(actor=world.chief_a, action="view", institution=world.a)
    seq = ActionLog.objects.filter(action="post").order_by("seq").first().seq
    tamper("DELETE FROM access_actionlog WHERE seq = %s", [seq])
    breaches = verify_journal_chain()
    assert {"journal_gap", "journal_link"} <= kinds(breaches)
    assert all(b.where == f"journal seq {seq + 1}" for b in breaches if b.kind in ("journal_gap", "journal_link"))


def test_scoping_to_an_institution(world, ledger):
    entries, other = ledger
    tamper("UPDATE ledger_journalentry SET description = 'x' WHERE id = %s", [other.id])
    assert verify_all([world.a.id]) == []
    assert kinds(verify_all([world.b.id])) == {"chain_hash"}


def test_verify_ledger_command_passes_a_clean_ledger(ledger):
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "verify_ledger:" in out.getvalue()


def test_verify_ledger_command_exits_1_with_a_report(ledger):
    entries, _ = ledger
    posting_id = scalar("SELECT id FROM ledger_posting WHERE entry_id = %s AND side = 'C'", [entries[2].id])
    tamper("UPDATE ledger_posting SET amount = 1 WHERE id = %s", [posting_id])
    err = io.StringIO()
    with pytest.raises(SystemExit) as excinfo:
        call_command("verify_ledger", stderr=err)
    assert excinfo.value.code == 1
    report = err.getvalue()
    for kind in ("chain_hash", "unbalanced", "turnover"):
        assert f"{kind}: " in report
    assert f"entry {entries[2].id}" in report


def test_verify_ledger_command_scoped_to_a_clean_institution_passes(world, ledger):
    entries, _ = ledger
    tamper("UPDATE ledger_journalentry SET description = 'x' WHERE id = %s", [entries[0].id])
    call_command("verify_ledger", "--institution", str(world.b.id), stdout=io.StringIO())
    with pytest.raises(SystemExit):
        call_command("verify_ledger", "--institution", str(world.a.id), stderr=io.StringIO())
