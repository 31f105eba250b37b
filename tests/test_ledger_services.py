"""The ledger's one door for writes: post_entry, correct_entry and the period transitions.

Every refusal is a ControlError with a stable code and the field it concerns, and leaves the
ledger exactly as it was."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from access.errors import ControlError, ControlErrors, PermissionRefused
from access.models import ActionLog
from ledger.models import (
    CorrectionLog,
    EntryKind,
    EntrySeal,
    JournalEntry,
    Period,
    PeriodTransition,
    Posting,
    Specific,
    Turnover,
)
from ledger.queries import trial_balance
from ledger.services import (
    approve_period,
    close_period,
    correct_entry,
    post_entries,
    post_entry,
    reopen_period,
)
from ledger.verification import verify_all

from .factories import draft, ledger_state, line, make_counterparty, pair, run_commit_checks

MARCH = dt.date(2026, 3, 10)
APRIL = dt.date(2026, 4, 2)


def refusals(error: ControlError) -> set[tuple[str, str | None]]:
    """(code, field) of every refusal carried by one raised error."""
    errors = error.errors if isinstance(error, ControlErrors) else [error]
    return {(e.code, e.field) for e in errors}


def post(world, entry_draft, actor=None, institution=None):
    return post_entry(institution=institution or world.a, actor=actor or world.accountant_a, draft=entry_draft)


def assert_refused(world, entry_draft, expected: set, actor=None, institution=None):
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        post(world, entry_draft, actor=actor, institution=institution)
    assert refusals(excinfo.value) == expected
    assert ledger_state() == before
    return excinfo.value


def net_turnover(world, institution, code) -> Decimal:
    """Σ debit − Σ credit of an account's turnovers over all periods."""
    rows = Turnover.objects.filter(institution=institution, account=world.accounts[code])
    return sum((t.debit - t.credit for t in rows), Decimal(0))


def posted_lines(entry, sign=1) -> list[tuple]:
    return [(p.account.code, p.side, sign * p.amount, p.specific, p.counterparty_id)
            for p in entry.postings.order_by("line_no")]


# --- post_entry -------------------------------------------------------------------------


def test_post_entry_writes_entry_postings_turnovers_seal_and_journal(world):
    entry = post(world, draft(MARCH, line("7060", "D", "120.50", "141"), line("7010", "D", "79.50"),
                              line("1010", "C", "200.00"), doc_number="МО-7"))
    run_commit_checks()
    postings = list(entry.postings.order_by("line_no"))
    assert [(p.line_no, p.account.code, p.side, p.amount) for p in postings] == [
        (1, "7060", "D", Decimal("120.50")), (2, "7010", "D", Decimal("79.50")), (3, "1010", "C", Decimal("200.00"))]
    assert entry.period_id == world.periods_a[3].id
    assert entry.kind == EntryKind.REGULAR and entry.author_id == world.accountant_a.id
    assert (net_turnover(world, world.a, "7060"), net_turnover(world, world.a, "7010"),
            net_turnover(world, world.a, "1010")) == (Decimal("120.50"), Decimal("79.50"), Decimal("-200.00"))
    assert Turnover.objects.get(account=world.accounts["7060"]).specific == "141"
    seal = EntrySeal.objects.get(entry=entry)
    assert (seal.seq, seal.debit_total) == (1, Decimal("200.00"))
    row = ActionLog.objects.filter(action="post").latest("seq")
    assert (row.outcome, row.user_id, row.institution_id, row.object_id) == (
        "success", world.accountant_a.id, world.a.id, str(entry.id))
    assert row.iin == world.accountant_a.iin and row.role == "accountant"
    assert verify_all() == []


def test_chief_accountant_may_post_too(world):
    post(world, pair(MARCH, "1.00"), actor=world.chief_a)


@pytest.mark.parametrize("bad_line, expected", [
    (line("9999", "C", "10.00"), {("account_unknown", "lines[1].account")}),
    (line("1010", "C", "10.00", "999"), {("FLC-LED-003", "lines[1].specific")}),
    (line("1010", "C", "10.00", funding="nowhere"), {("funding_source_unknown", "lines[1].funding_source")}),
    (line("1010", "C", "10.00", programme="999"), {("FLC-LED-003", "lines[1].programme")}),
    (line("1010", "X", "10.00"), {("side_invalid", "lines[1].side")}),
    (line("1010", "C", "10.001"), {("amount_precision", "lines[1].amount")}),
    (line("1010", "C", "0"), {("amount_positive", "lines[1].amount")}),
    (line("1010", "C", "-10.00"), {("amount_positive", "lines[1].amount")}),
    (line("1010", "C", "99999999999999999.00"), {("amount_too_large", "lines[1].amount")}),
    (line("1010", "C", "9.99"), {("FLC-LED-001", "lines")}),
])
def test_post_entry_refuses_a_bad_line_by_code_and_field(world, bad_line, expected):
    assert_refused(world, draft(MARCH, line("7060", "D", "10.00"), bad_line), expected)


def test_specific_outside_its_validity_is_refused(world):
    Specific.objects.create(code="159", category="1", class_code="5", subclass="9", name_ru="x", name_kk="x",
                            valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2026, 2, 28))
    entry_draft = draft(MARCH, line("7060", "D", "5.00", "159"), line("1010", "C", "5.00"))
    assert_refused(world, entry_draft, {("FLC-LED-003", "lines[0].specific")})
    post(world, draft(dt.date(2026, 2, 28), line("7060", "D", "5.00", "159"), line("1010", "C", "5.00")))


def test_entry_needs_two_lines_a_number_and_a_description(world):
    entry_draft = draft(MARCH, line("7060", "D", "5.00"), doc_number=" ", description="")
    assert_refused(world, entry_draft, {("too_few_lines", "lines"), ("required", "doc_number"),
                                        ("required", "description")})


def test_every_error_of_a_form_is_reported_at_once(world):
    entry_draft = draft(MARCH, line("9999", "D", "1.001"), line("1010", "C", "1.00", "000"))
    error = assert_refused(world, entry_draft, {("account_unknown", "lines[0].account"),
                                                ("amount_precision", "lines[0].amount"),
                                                ("specific_not_valid", "lines[1].specific")})
    assert isinstance(error, ControlErrors)
    assert error.as_dict()["code"] == "invalid"


def test_closed_period_is_refused_with_its_code(world):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    error = assert_refused(world, pair(MARCH, "5.00"), {("FLC-PER-001", "date")})
    assert "2026-03-10" in str(error.message)


def test_missing_period_is_refused_with_its_code(world):
    assert_refused(world, pair(dt.date(2027, 1, 15), "5.00"), {("FLC-PER-001", "date")})


def test_counterparty_of_another_institution_is_refused(world):
    theirs = make_counterparty(world.b, "ТОО Чужой", "3")
    ours = make_counterparty(world.a, "ТОО Свой", "3")
    entry_draft = draft(MARCH, line("7060", "D", "5.00"), line("3210", "C", "5.00", counterparty_id=theirs.id))
    assert_refused(world, entry_draft, {("counterparty_unknown", "lines[1].counterparty")})
    entry = post(world, draft(MARCH, line("7060", "D", "5.00"), line("3210", "C", "5.00", counterparty_id=ours.id)))
    assert entry.postings.get(line_no=2).counterparty_id == ours.id


@pytest.mark.parametrize("who", ["clerk_a", "auditor_a", "accountant_b"])
def test_roles_without_the_capability_cannot_post(world, who):
    actor = getattr(world, who)
    before = ledger_state()
    journal_before = ActionLog.objects.count()
    with pytest.raises(PermissionRefused) as excinfo:
        post(world, pair(MARCH, "5.00"), actor=actor)
    assert excinfo.value.code == "permission_refused"
    assert ledger_state() == before
    rows = list(ActionLog.objects.filter(seq__gt=journal_before))
    assert [(r.action, r.outcome, r.user_id, r.institution_id) for r in rows] == [
        ("post", "refused", actor.id, world.a.id)]
    assert "ledger.post" in rows[0].details


def test_a_user_of_b_cannot_post_into_a_but_can_into_b(world):
    post(world, pair(MARCH, "5.00"), actor=world.accountant_b, institution=world.b)
    with pytest.raises(PermissionRefused):
        post(world, pair(MARCH, "5.00"), actor=world.accountant_b, institution=world.a)


def test_post_entries_is_all_or_nothing(world):
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        post_entries(institution=world.a, actor=world.accountant_a,
                     drafts=[pair(MARCH, "1.00"), pair(MARCH, "2.00"), pair(dt.date(2027, 1, 1), "3.00")])
    assert refusals(excinfo.value) == {("FLC-PER-001", "date")}
    assert ledger_state() == before
    entries = post_entries(institution=world.a, actor=world.accountant_a,
                           drafts=[pair(MARCH, "1.00"), pair(APRIL, "2.00")])
    run_commit_checks()
    assert [e.period_id for e in entries] == [world.periods_a[3].id, world.periods_a[4].id]
    assert EntrySeal.objects.filter(institution=world.a).count() == 2
    assert verify_all() == []


def test_overlong_document_number_is_a_control_error_not_a_database_error(world):
    with pytest.raises(ControlError) as excinfo:
        with transaction.atomic():
            post(world, pair(MARCH, "5.00", doc_number="N" * 61))
    assert {field for _code, field in refusals(excinfo.value)} == {"doc_number"}


# --- correct_entry (R2) --------------------------------------------------------------------


@pytest.fixture
def original(world):
    ours = make_counterparty(world.a, "ТОО Поставщик", "4")
    entry = post(world, draft(MARCH, line("7060", "D", "300.00", "141", description="услуги"),
                              line("3210", "C", "300.00", "141", counterparty_id=ours.id),
                              doc_number="АКТ-15", description="Услуги связи", basis="Договор 4"))
    run_commit_checks()
    return entry


def test_correction_adds_a_reversal_a_corrected_entry_and_one_log_row(world, original):
    new_lines = [line("7060", "D", "250.00", "141"), line("3210", "C", "250.00", "141")]
    log = correct_entry(entry=original, actor=world.accountant_a, reason="  сумма по акту 250  ",
                        lines=new_lines, date=APRIL)
    run_commit_checks()

    reversal, corrected = log.reversal, log.corrected
    assert (reversal.kind, reversal.reverses_id, reversal.date) == (EntryKind.REVERSAL, original.id, APRIL)
    assert (corrected.kind, corrected.reverses_id, corrected.date) == (EntryKind.CORRECTED, None, APRIL)
    assert posted_lines(reversal) == posted_lines(original, sign=-1)
    assert [(p.account.code, p.side, p.amount) for p in corrected.postings.order_by("line_no")] == [
        ("7060", "D", Decimal("250.00")), ("3210", "C", Decimal("250.00"))]

    assert CorrectionLog.objects.filter(original=original).count() == 1
    assert log.reason == "сумма по акту 250"
    assert (log.actor_id, log.actor_name) == (world.accountant_a.id, world.accountant_a.full_name)
    assert log.original_recorded_at == original.created_at
    assert log.corrected_at >= original.created_at
    data = log.original_data
    assert (data["id"], data["date"], data["doc_number"], data["description"], data["basis"]) == (
        original.id, "2026-03-10", "АКТ-15", "Услуги связи", "Договор 4")
    assert [(p["account"], p["side"], p["amount"], p["specific"], p["description"]) for p in data["postings"]] == [
        ("7060", "D", "300.00", "141", "услуги"), ("3210", "C", "300.00", "141", "")]

    # turnovers now hold the corrected amounts: 300 − 300 + 250
    assert net_turnover(world, world.a, "7060") == Decimal("250.00")
    assert net_turnover(world, world.a, "3210") == Decimal("-250.00")
    march = Turnover.objects.get(institution=world.a, period=world.periods_a[3], account=world.accounts["7060"])
    april = Turnover.objects.get(institution=world.a, period=world.periods_a[4], account=world.accounts["7060"])
    assert (march.debit, march.credit) == (Decimal("300.00"), 0)
    assert (april.debit, april.credit) == (Decimal("-300.00") + Decimal("250.00"), 0)
    rows = {r.code: r.closing for r in trial_balance(world.a.id, dt.date(2026, 1, 1), dt.date(2026, 4, 30)).rows}
    assert rows == {"7060": Decimal("250.00"), "3210": Decimal("-250.00")}
    journal = ActionLog.objects.filter(action="correct").get()
    assert (journal.outcome, journal.object_id) == ("success", str(original.id))
    assert verify_all() == []


def test_correction_without_lines_cancels_the_entry(world, original):
    log = correct_entry(entry=original, actor=world.accountant_a, reason="ошибочная запись", date=MARCH)
    run_commit_checks()
    assert log.corrected is None
    assert net_turnover(world, world.a, "7060") == 0 and net_turnover(world, world.a, "3210") == 0
    # red storno nets the month's turnovers to nothing: no account has a row left
    assert trial_balance(world.a.id, dt.date(2026, 3, 1), dt.date(2026, 3, 31)).rows == []
    assert verify_all() == []


def test_an_entry_is_corrected_only_once(world, original):
    correct_entry(entry=original, actor=world.accountant_a, reason="первая", date=MARCH)
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        correct_entry(entry=original, actor=world.chief_a, reason="вторая", date=MARCH)
    assert excinfo.value.code == "already_corrected"
    assert ledger_state() == before


def test_a_reversal_cannot_be_corrected_but_a_corrected_entry_can(world, original):
    log = correct_entry(entry=original, actor=world.accountant_a, reason="первая", date=MARCH,
                        lines=[line("7060", "D", "1.00"), line("3210", "C", "1.00")])
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        correct_entry(entry=log.reversal, actor=world.accountant_a, reason="storno of storno", date=MARCH)
    assert excinfo.value.code == "reversal_not_correctable"
    assert ledger_state() == before
    again = correct_entry(entry=log.corrected, actor=world.accountant_a, reason="вторая", date=MARCH,
                          lines=[line("7060", "D", "2.00"), line("3210", "C", "2.00")])
    run_commit_checks()
    assert again.original_id == log.corrected_id
    assert net_turnover(world, world.a, "7060") == Decimal("2.00")
    assert verify_all() == []


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_correction_needs_a_reason(world, original, reason):
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        correct_entry(entry=original, actor=world.accountant_a, reason=reason, date=MARCH)
    assert (excinfo.value.code, excinfo.value.field) == ("reason_required", "reason")
    assert ledger_state() == before


def test_a_correction_dated_in_a_closed_period_is_refused(world, original):
    close_period(period=world.periods_a[4], actor=world.chief_a)
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        correct_entry(entry=original, actor=world.accountant_a, reason="x", date=APRIL,
                      lines=[line("7060", "D", "1.00"), line("3210", "C", "1.00")])
    assert refusals(excinfo.value) == {("FLC-PER-001", "date")}
    assert ledger_state() == before


def test_an_entry_of_a_closed_period_is_corrected_in_an_open_one(world, original):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    log = correct_entry(entry=original, actor=world.accountant_a, reason="после закрытия", date=APRIL)
    assert log.reversal.period_id == world.periods_a[4].id


def test_invalid_corrected_lines_refuse_the_whole_correction(world, original):
    before = ledger_state()
    with pytest.raises(ControlError) as excinfo:
        correct_entry(entry=original, actor=world.accountant_a, reason="x", date=APRIL,
                      lines=[line("7060", "D", "1.00"), line("3210", "C", "2.00")])
    assert refusals(excinfo.value) == {("FLC-LED-001", "lines")}
    assert ledger_state() == before


@pytest.mark.parametrize("who", ["auditor_a", "clerk_a", "accountant_b"])
def test_roles_without_the_capability_cannot_correct(world, original, who):
    before = ledger_state()
    with pytest.raises(PermissionRefused):
        correct_entry(entry=original, actor=getattr(world, who), reason="x", date=MARCH)
    assert ledger_state() == before
    assert ActionLog.objects.filter(action="correct", outcome="refused").count() == 1


def test_an_entry_with_the_longest_document_number_can_be_corrected(world):
    entry = post(world, pair(MARCH, "5.00", doc_number="N" * 60))
    log = correct_entry(entry=entry, actor=world.accountant_a, reason="x", date=MARCH,
                        lines=[line("7060", "D", "4.00"), line("1010", "C", "4.00")])
    assert log.corrected is not None


# --- periods (R3) -----------------------------------------------------------------------


def test_only_the_chief_accountant_closes(world):
    march = world.periods_a[3]
    for actor in (world.accountant_a, world.auditor_a, world.clerk_a, world.accountant_b):
        with pytest.raises(PermissionRefused):
            close_period(period=march, actor=actor)
    assert Period.objects.get(pk=march.pk).status == "open"
    closed = close_period(period=march, actor=world.chief_a)
    assert (closed.status, closed.changed_by_id) == ("closed", world.chief_a.id)
    transition = PeriodTransition.objects.get(period=march)
    assert (transition.from_status, transition.to_status, transition.actor_id, transition.reason) == (
        "open", "closed", world.chief_a.id, "")
    assert transition.at == closed.changed_at
    assert ActionLog.objects.filter(action="close", outcome="success", institution=world.a).count() == 1
    assert ActionLog.objects.filter(action="close", outcome="refused").count() == 4


def test_closing_a_period_of_a_leaves_b_open(world):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    post(world, pair(MARCH, "5.00"), actor=world.accountant_b, institution=world.b)


def test_closing_twice_is_refused(world):
    close_period(period=world.periods_a[3], actor=world.chief_a)
    with pytest.raises(ControlError) as excinfo:
        close_period(period=world.periods_a[3], actor=world.chief_a)
    assert excinfo.value.code == "period_transition"
    assert PeriodTransition.objects.filter(period=world.periods_a[3]).count() == 1


def test_reopen_needs_a_reason_and_is_logged(world):
    march = world.periods_a[3]
    close_period(period=march, actor=world.chief_a)
    for reason in ("", "  "):
        with pytest.raises(ControlError) as excinfo:
            reopen_period(period=march, actor=world.chief_a, reason=reason)
        assert (excinfo.value.code, excinfo.value.field) == ("reason_required", "reason")
    with pytest.raises(PermissionRefused):
        reopen_period(period=march, actor=world.accountant_a, reason="хочу")
    assert Period.objects.get(pk=march.pk).status == "closed"
    reopened = reopen_period(period=march, actor=world.chief_a, reason=" акт сверки пришёл поздно ")
    assert reopened.status == "open"
    transition = PeriodTransition.objects.filter(period=march).order_by("id").last()
    assert (transition.from_status, transition.to_status, transition.reason) == (
        "closed", "open", "акт сверки пришёл поздно")
    journal = ActionLog.objects.filter(action="reopen", outcome="success").get()
    assert journal.details == "акт сверки пришёл поздно"
    post(world, pair(MARCH, "5.00"))


def test_reopening_an_open_period_is_refused(world):
    with pytest.raises(ControlError) as excinfo:
        reopen_period(period=world.periods_a[3], actor=world.chief_a, reason="x")
    assert excinfo.value.code == "period_transition"


def test_approval_needs_a_closed_period_and_is_final(world):
    march = world.periods_a[3]
    with pytest.raises(ControlError) as excinfo:
        approve_period(period=march, actor=world.chief_a)
    assert excinfo.value.code == "period_transition"
    close_period(period=march, actor=world.chief_a)
    with pytest.raises(PermissionRefused):
        approve_period(period=march, actor=world.accountant_a)
    assert approve_period(period=march, actor=world.chief_a).status == "approved"
    before = ledger_state()
    for attempt in (lambda: reopen_period(period=march, actor=world.chief_a, reason="очень надо"),
                    lambda: close_period(period=march, actor=world.chief_a),
                    lambda: approve_period(period=march, actor=world.chief_a)):
        with pytest.raises(ControlError) as excinfo:
            attempt()
        assert excinfo.value.code == "period_approved"
    assert ledger_state() == before
    assert_refused(world, pair(MARCH, "5.00"), {("FLC-PER-001", "date")})
    assert [(t.from_status, t.to_status) for t in PeriodTransition.objects.filter(period=march).order_by("id")] == [
        ("open", "closed"), ("closed", "approved")]


def test_entries_posted_before_a_close_stay_and_count(world):
    entry = post(world, pair(MARCH, "7.00"))
    close_period(period=world.periods_a[3], actor=world.chief_a)
    run_commit_checks()
    assert JournalEntry.objects.filter(pk=entry.pk).exists()
    assert Posting.objects.filter(entry=entry).count() == 2
    assert verify_all() == []
