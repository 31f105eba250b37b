"""The bulk-load path (ledger.bulk.load_entries) against the service path, on a real database.

A load must leave exactly what post_entries leaves for the same drafts (turnovers, seals,
trial balance), refuse bad data without writing anything, and run every database trigger:
the ones that would refuse what the Python checks missed included.
"""

import datetime as dt
import random
from decimal import Decimal

import pgtrigger
import pytest
from django.db import IntegrityError, connection, transaction

from access.errors import ControlError, PermissionRefused
from access.models import Action, ActionLog
from access.roles import Role
from access.services import grant_role
from ledger import bulk, reference
from ledger.models import EntrySeal, JournalEntry, Period
from ledger.queries import trial_balance, trial_balance_by_scan
from ledger.services import close_period, post_entries
from ledger.verification import verify_all
from rules import parameters as rule_parameters
from rules.models import RuleSwitch

from .factories import (
    ACCOUNTS,
    FUNDING_SOURCES,
    SPECIFICS,
    YEAR,
    draft,
    ledger_state,
    line,
    pair,
    run_commit_checks,
)

pytestmark = pytest.mark.django_db

YEAR_START, YEAR_END = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)


def random_drafts(n: int, seed: int = 7) -> list:
    """n balanced drafts of 2–4 lines over the whole year, on the world's reference data."""
    rng = random.Random(seed)
    codes = [code for code, *_rest in ACCOUNTS]
    drafts = []
    for i in range(n):
        day = YEAR_START + dt.timedelta(days=i * 365 // n)
        credits = [Decimal(rng.randrange(1, 10_000_000)).scaleb(-2) for _ in range(rng.randint(1, 3))]
        accounts = rng.sample(codes, len(credits) + 1)
        lines = [line(accounts[0], "D", sum(credits), rng.choice(SPECIFICS), funding=rng.choice(FUNDING_SOURCES))]
        lines += [line(code, "C", amount, rng.choice(SPECIFICS), funding=rng.choice(FUNDING_SOURCES),
                       description=f"строка {k}")
                  for k, (code, amount) in enumerate(zip(accounts[1:], credits, strict=True))]
        drafts.append(draft(day, *lines, doc_number=f"B-{i}", description=f"Операция импорта № {i}"))
    return drafts


def turnovers_by_key(institution_id: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.month, a.code, t.specific, f.code, t.debit, t.credit FROM ledger_turnover t "
            "JOIN ledger_period p ON p.id = t.period_id JOIN ledger_account a ON a.id = t.account_id "
            "JOIN ledger_fundingsource f ON f.id = t.funding_source_id WHERE t.institution_id = %s",
            [institution_id],
        )
        return {(m, a, s, f): (d, c) for m, a, s, f, d, c in cursor.fetchall()}


def balance_by_code(tb) -> dict:
    return {r.code: (r.opening, r.debit, r.credit, r.closing) for r in tb.rows}


def test_load_matches_the_service_path(world):
    drafts = random_drafts(300)
    assert bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=drafts) == 300
    post_entries(institution=world.b, actor=world.accountant_b, drafts=drafts)
    run_commit_checks()

    assert turnovers_by_key(world.a.id) == turnovers_by_key(world.b.id)
    assert len(turnovers_by_key(world.a.id)) > 100

    seals = {
        inst.id: list(EntrySeal.objects.filter(institution=inst).order_by("seq").values_list("seq", "debit_total"))
        for inst in (world.a, world.b)
    }
    assert [s for s, _d in seals[world.a.id]] == list(range(1, 301))
    assert seals[world.a.id] == seals[world.b.id]

    tb_a = trial_balance(world.a.id, YEAR_START, YEAR_END)
    tb_b = trial_balance(world.b.id, YEAR_START, YEAR_END)
    assert balance_by_code(tb_a) == balance_by_code(tb_b)
    assert balance_by_code(tb_a) == balance_by_code(trial_balance_by_scan(world.a.id, YEAR_START, YEAR_END))
    month = (dt.date(YEAR, 6, 10), dt.date(YEAR, 7, 20))  # partial months: turnovers plus postings
    assert balance_by_code(trial_balance(world.a.id, *month)) == balance_by_code(trial_balance(world.b.id, *month))
    assert tb_a.totals()["debit"] == sum(d.lines[0].amount for d in drafts)

    entries = JournalEntry.objects.filter(institution=world.a)
    assert entries.count() == 300
    assert set(entries.values_list("author_id", flat=True)) == {world.accountant_a.id}
    assert not entries.filter(seal__isnull=True).exists()  # every loaded entry was sealed at commit

    journal = ActionLog.objects.filter(institution=world.a, action=Action.POST)
    assert journal.count() == 1
    assert "300 entries" in journal.get().details and "bulk" in journal.get().details

    assert verify_all([world.a.id, world.b.id]) == []
    assert verify_all() == []


def refusals(raised) -> list[ControlError]:
    return list(getattr(raised.value, "errors", [raised.value]))


def refused_alike(world, drafts, bad: list[int]) -> list[ControlError]:
    """Refuse `drafts` through post_entries (institution B) and load_entries (institution A):
    the same codes, the bulk fields naming the bad drafts, nothing written by either."""
    before = ledger_state()
    journal_before = ActionLog.objects.count()
    with pytest.raises(ControlError) as by_service:
        post_entries(institution=world.b, actor=world.accountant_b, drafts=drafts)
    with pytest.raises(ControlError) as by_bulk:
        bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=drafts)
    service, loaded = refusals(by_service), refusals(by_bulk)
    assert {e.code for e in loaded} == {e.code for e in service}
    service_fields = {e.field for e in service}
    assert {e.field for e in loaded} == {f"entries[{i}]." + f for i in bad for f in service_fields}
    assert ledger_state() == before
    assert ActionLog.objects.count() == journal_before
    return loaded


def test_unbalanced_draft_writes_nothing(world):
    drafts = random_drafts(20)
    drafts[13] = draft(dt.date(YEAR, 5, 5), line("7060", "D", "100.00"), line("1010", "C", "99.99"))
    (error,) = refused_alike(world, drafts, [13])
    assert error.code == "FLC-LED-001"


def test_entry_in_a_closed_period_writes_nothing(world):
    grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.CHIEF_ACCOUNTANT)
    for institution in (world.a, world.b):
        close_period(period=world.period(institution, 3), actor=world.chief_a)
    drafts = random_drafts(24)
    march = [i for i, d in enumerate(drafts) if d.date.month == 3]
    assert march
    before = ledger_state()
    with pytest.raises(ControlError) as by_service:
        post_entries(institution=world.b, actor=world.accountant_b, drafts=drafts)
    with pytest.raises(ControlError) as by_bulk:
        bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=drafts)
    service, loaded = refusals(by_service), refusals(by_bulk)
    assert {e.code for e in service} == {e.code for e in loaded} == {"FLC-PER-001"}
    (field,) = {e.field for e in service}
    assert {e.field for e in loaded} == {f"entries[{i}].{field}" for i in march}
    assert ledger_state() == before


def test_cash_paid_below_zero_is_refused_in_draft_order(world):
    """FLC-LED-004 on (the test world switches it off): each draft is checked against the
    cash the earlier drafts of the same load left."""
    for institution in (world.a, world.b):
        RuleSwitch.objects.create(institution=institution, rule_code="FLC-LED-004", enabled=True,
                                  valid_from=YEAR_START, reason="this test", actor=world.chief_a,
                                  at=dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC))
    rule_parameters.invalidate()
    funded = pair(dt.date(YEAR, 2, 1), "100.00", debit="1010", credit="6010")
    pays = pair(dt.date(YEAR, 2, 2), "60.00", debit="7060", credit="1010")
    overdraws = pair(dt.date(YEAR, 2, 3), "50.00", debit="7060", credit="1010")
    (error,) = refused_alike(world, [funded, pays, overdraws], [2])
    assert error.code == "FLC-LED-004"
    assert bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=[funded, pays]) == 2


def test_every_fault_is_reported_with_its_entry(world):
    drafts = random_drafts(5)
    drafts[1] = draft(dt.date(YEAR, 2, 1), line("9999", "D", "5"), line("1010", "C", "5"))
    drafts[3] = draft(dt.date(YEAR, 2, 1), line("7060", "D", "5"), line("1010", "C", "-5"))
    before = ledger_state()
    with pytest.raises(ControlError) as refused:
        bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=drafts)
    fields = {(e.code, e.field) for e in refused.value.errors}
    assert ("account_unknown", "entries[1].lines[0].account") in fields
    assert ("amount_positive", "entries[3].lines[1].amount") in fields
    assert ledger_state() == before


def test_a_role_without_posting_is_refused(world):
    before = ledger_state()
    with pytest.raises(PermissionRefused):
        bulk.load_entries(institution=world.a, actor=world.auditor_a, drafts=random_drafts(3))
    assert ledger_state() == before


def test_the_database_refuses_what_slips_past_the_checks(world):
    """_copy writes without any Python check: the triggers alone must refuse."""
    ref = reference.snapshot()
    periods = {(p.year, p.month): p.id for p in Period.objects.filter(institution=world.a)}
    unbalanced = draft(dt.date(YEAR, 4, 1), line("7060", "D", "10.00"), line("1010", "C", "9.00"))
    with pytest.raises(IntegrityError, match="entry_unbalanced"), transaction.atomic():
        bulk._copy(world.a, world.accountant_a, [pair(dt.date(YEAR, 4, 1), "5"), unbalanced], ref, periods)
        run_commit_checks()  # the deferred seal, as at commit

    close_period(period=world.period(world.a, 4), actor=world.chief_a)
    with pytest.raises(IntegrityError, match="period_closed"), transaction.atomic():
        bulk._copy(world.a, world.accountant_a, [pair(dt.date(YEAR, 4, 2), "5")], ref, periods)

    negative = draft(dt.date(YEAR, 5, 1), line("7060", "D", "-10.00"), line("1010", "C", "-10.00"))
    with pytest.raises(IntegrityError, match="negative_amount"), transaction.atomic():
        bulk._copy(world.a, world.accountant_a, [negative], ref, periods)
    assert not JournalEntry.objects.filter(institution=world.a).exists()


def test_a_callers_trigger_ignore_does_not_reach_the_load(world):
    """The load sets its own (empty) ignore list: the turnover upsert still runs."""
    with pgtrigger.ignore("ledger.Posting:posting_admit"):
        bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=random_drafts(10))
    run_commit_checks()
    assert turnovers_by_key(world.a.id)
    assert verify_all([world.a.id]) == []


def test_too_large_a_load_is_refused(world, monkeypatch):
    monkeypatch.setattr(bulk, "ENTRIES_PER_LOAD_MAX", 5)
    with pytest.raises(ControlError) as refused:
        bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=random_drafts(6))
    assert refused.value.code == "batch_too_large"


def test_an_empty_load_writes_nothing(world):
    before = ledger_state()
    assert bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=[]) == 0
    assert ledger_state() == before


@pytest.mark.django_db(transaction=True)
def test_a_committed_load_verifies_clean(world):
    """Committed for real: the deferred seals ran at COMMIT, and nothing stays ignored."""
    bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=random_drafts(120, seed=3))
    bulk.load_entries(institution=world.a, actor=world.accountant_a, drafts=random_drafts(80, seed=4))
    assert EntrySeal.objects.filter(institution=world.a).count() == 200
    assert verify_all() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('pgtrigger.ignore', true), '')")
        assert cursor.fetchone()[0] in ("", "{}")
