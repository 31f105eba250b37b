"""The ФЛК engine on facts alone: every control of the catalogue passes at its boundary and
fires one tiyn (or one day) past it, messages come filled in kk/ru/en, facts are checked
against the declarations, and durable-rules' state does not accumulate: 100,000 checks in a
row without memory growth, more checks than its 1,024 session slots, 8 threads giving the
verdicts of one.

No database: the engine knows no Django model (rules/engine.py).
"""

import copy
import os
import re
import threading
from decimal import Decimal

import pytest

from rules import BLOCK, PASS, WARN, FactsError, check, format_tenge, tiyn
from rules import engine as rules_engine
from rules.catalogue import load

KAZAKH = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


# -- helpers ---------------------------------------------------------------------------------

def line(**overrides) -> dict:
    """A posting line that passes every posting control."""
    base = {
        "account": "7010", "specific": "111", "account_has_correspondence_rows": True, "corresponds": True,
        "specific_valid": True, "programme": "261.003.015", "programme_valid": True, "is_cash": False,
        "decreases_balance": False, "balance_after_tiyn": 0,
    }
    return {**base, **overrides}


def posting(*lines_, **overrides) -> dict:
    base = {"period_status": "open", "period": "2026-03", "date": "2026-03-05", "debit_tiyn": 150_025,
            "credit_tiyn": 150_025, "lines": list(lines_) or [line(), line(account="3210", specific="111",
                                                                           account_has_correspondence_rows=False)]}
    return {**base, **overrides}


def codes(verdict) -> list[str]:
    return [hit.code for hit in verdict.hits]


def only(verdict, code: str):
    hits = [h for h in verdict.hits if h.code == code]
    assert len(hits) == 1, verdict
    return hits[0]


PAY_001 = {"month": "2026-03", "specific": "111", "fund_tiyn": 10_000_000, "accrued_tiyn": 6_000_000,
           "this_tiyn": 4_000_000}
PAY_002 = {"month": "2026-03", "employee": "0001 Ахметова Ә.", "monthly_salary_tiyn": 30_000_001,
           "advances_paid_tiyn": 0, "this_tiyn": 15_000_000}
PAY_003 = {"month": "2026-03", "employee": "0001 Ахметова Ә.", "accrued_tiyn": 30_000_000,
           "withheld_tiyn": 5_123_456, "advances_paid_tiyn": 10_000_000, "transferred_tiyn": 0,
           "this_tiyn": 14_876_544}
FIN_001 = {"month": "2026-03", "programme": "261.003.015", "specific": "414", "plan_to_date_tiyn": 50_000_000,
           "obligations_to_date_tiyn": 20_000_000, "this_tiyn": 30_000_000}
PAYMENT = {"month": "2026-03", "programme": "261.003.015", "specific": "414", "plan_to_date_tiyn": 50_000_000,
           "payments_to_date_tiyn": 20_000_000, "this_tiyn": 10_000_000, "contract": "Д-17/2026",
           "contract_amount_tiyn": 12_000_000, "contract_paid_tiyn": 2_000_000}
FIN_004 = {"is_pilot": True, "day_of_month": 25, "date": "2026-03-25"}
FIN_005 = {"is_pilot": True, "is_year_start": True, "as_of": "2027-01-01", "advances_tiyn": 0,
           "receivables_tiyn": 0}


# -- money in and out --------------------------------------------------------------------------

def test_tiyn_is_exact_and_refuses_floats():
    assert tiyn(Decimal("1500.25")) == 150_025
    assert tiyn(Decimal("-0.01")) == -1
    assert tiyn(Decimal("12")) == 1_200 and tiyn(7) == 700
    assert tiyn(Decimal("0.10")) == 10
    with pytest.raises(TypeError):
        tiyn(1500.25)
    with pytest.raises(TypeError):
        tiyn(True)
    with pytest.raises(ValueError):
        tiyn(Decimal("0.001"))
    with pytest.raises(ValueError):
        tiyn(Decimal("NaN"))
    with pytest.raises(TypeError):
        tiyn("12.00")


def test_tenge_format_per_language():
    assert format_tenge(123_456_78, "ru") == "123\u00a0456,78"
    assert format_tenge(123_456_78, "kk") == "123\u00a0456,78"
    assert format_tenge(123_456_78, "en") == "123,456.78"
    assert format_tenge(-5, "ru") == "-0,05"
    assert format_tenge(0, "en") == "0.00"


# -- the catalogue, control by control, at the boundary ------------------------------------------

def test_a_clean_posting_passes():
    verdict = check("posting", posting())
    assert verdict.outcome == PASS and verdict.hits == ()


@pytest.mark.parametrize("status, fires", [("open", None), ("closed", "closed"), ("approved", "approved"),
                                           ("missing", "missing")])
def test_per_001_period_not_open(status, fires):
    verdict = check("posting", posting(period_status=status))
    if fires is None:
        assert verdict.outcome == PASS
        return
    hit = only(verdict, "FLC-PER-001")
    assert verdict.outcome == BLOCK and hit.condition == fires and hit.field == "date"
    assert "2026-03-05" in hit.message["ru"] and "2026-03-05" in hit.message["kk"]


def test_per_001_messages_name_the_status():
    approved = only(check("posting", posting(period_status="approved")), "FLC-PER-001")
    closed = only(check("posting", posting(period_status="closed")), "FLC-PER-001")
    assert "утверждена" in approved.message["ru"] and "бекітілген" in approved.message["kk"]
    assert "закрыт" in closed.message["ru"] and "жабық" in closed.message["kk"]


@pytest.mark.parametrize("debit, credit, blocked", [(150_025, 150_025, False), (150_025, 150_024, True),
                                                    (150_024, 150_025, True), (0, 0, False)])
def test_led_001_unbalanced_by_one_tiyn(debit, credit, blocked):
    verdict = check("posting", posting(debit_tiyn=debit, credit_tiyn=credit))
    assert ("FLC-LED-001" in codes(verdict)) is blocked
    if blocked:
        hit = only(verdict, "FLC-LED-001")
        assert hit.field == "lines"
        assert format_tenge(debit, "ru") in hit.message["ru"] and format_tenge(credit, "en") in hit.message["en"]


@pytest.mark.parametrize("has_rows, corresponds, blocked", [(True, True, False), (True, False, True),
                                                            (False, False, False)])
def test_led_002_account_specific_correspondence(has_rows, corresponds, blocked):
    facts = posting(line(), line(account="7010", specific="414", account_has_correspondence_rows=has_rows,
                                 corresponds=corresponds))
    verdict = check("posting", facts)
    assert ("FLC-LED-002" in codes(verdict)) is blocked
    if blocked:
        hit = only(verdict, "FLC-LED-002")
        assert hit.field == "lines[1].specific" and hit.fact == "lines[1]"
        assert hit.message["ru"].startswith("Строка 2:") and hit.message["kk"].startswith("2-жол:")
        assert "414" in hit.message["kk"] and "7010" in hit.message["kk"]


def test_led_003_specific_and_programme_valid_on_the_date():
    verdict = check("posting", posting(line(specific_valid=False, specific="999"), line(programme_valid=False)))
    hits = [h for h in verdict.hits if h.code == "FLC-LED-003"]
    assert [(h.condition, h.field) for h in hits] == [("specific", "lines[0].specific"),
                                                       ("programme", "lines[1].programme")]
    assert "999" in hits[0].message["ru"] and "2026-03-05" in hits[0].message["ru"]
    assert "261.003.015" in hits[1].message["kk"]
    assert check("posting", posting(line(), line())).outcome == PASS


@pytest.mark.parametrize("balance, decreases, is_cash, blocked", [
    (0, True, True, False),  # down to exactly zero: allowed
    (-1, True, True, True),  # one tiyn below zero
    (-1, False, True, False),  # money coming in, even into an overdrawn account
    (-1, True, False, False),  # not a cash account
])
def test_led_004_cash_not_negative(balance, decreases, is_cash, blocked):
    cash = line(account="1010", is_cash=is_cash, decreases_balance=decreases, balance_after_tiyn=balance,
                account_has_correspondence_rows=False)
    verdict = check("posting", posting(line(), cash))
    assert ("FLC-LED-004" in codes(verdict)) is blocked
    if blocked:
        hit = only(verdict, "FLC-LED-004")
        assert hit.field == "lines[1].amount" and "-0,01" in hit.message["ru"] and "1010" in hit.message["kk"]


@pytest.mark.parametrize("this, tolerance, blocked", [(4_000_000, 0, False), (4_000_001, 0, True),
                                                      (4_000_001, 1, False), (4_000_002, 1, True)])
def test_pay_001_accrual_beyond_wage_fund(this, tolerance, blocked):
    params = {"FLC-PAY-001": {"tolerance_tiyn": tolerance}} if tolerance else None
    verdict = check("payroll_accrual", {**PAY_001, "this_tiyn": this}, params=params)
    assert (verdict.outcome == BLOCK) is blocked
    if blocked:
        hit = only(verdict, "FLC-PAY-001")
        assert hit.field == "amount" and "100\u00a0000,00" in hit.message["ru"] and "еңбекақы қоры" in hit.message["kk"]


@pytest.mark.parametrize("salary, paid, this, share, blocked", [
    (30_000_001, 0, 15_000_000, 50, False),  # limit 15,000,000.5 tiyn
    (30_000_001, 0, 15_000_001, 50, True),
    (30_000_000, 0, 15_000_000, 50, False),  # exactly half
    (30_000_000, 0, 15_000_001, 50, True),
    (30_000_000, 5_000_000, 10_000_000, 50, False),  # with an advance already paid
    (30_000_000, 5_000_000, 10_000_001, 50, True),
    (30_000_000, 0, 18_000_000, 60, False),  # the institution's share
    (30_000_000, 0, 18_000_001, 60, True),
    (30_000_000, 0, 1, 0, True),  # advances forbidden
])
def test_pay_002_advance_above_share(salary, paid, this, share, blocked):
    facts = {**PAY_002, "monthly_salary_tiyn": salary, "advances_paid_tiyn": paid, "this_tiyn": this}
    params = None if share == 50 else {"FLC-PAY-002": {"advance_share_pct": share}}
    verdict = check("advance", facts, params=params)
    assert (verdict.outcome == BLOCK) is blocked, (facts, share)
    if blocked:
        hit = only(verdict, "FLC-PAY-002")
        assert f"{share}%" in hit.message["ru"] and f"{share}%" in hit.message["kk"]
        assert "Ахметова" in hit.message["kk"]


@pytest.mark.parametrize("this, transferred, blocked", [(14_876_544, 0, False), (14_876_545, 0, True),
                                                        (1, 14_876_544, True), (0, 14_876_544, False)])
def test_pay_003_transfer_above_pay_due(this, transferred, blocked):
    verdict = check("salary_payment", {**PAY_003, "this_tiyn": this, "transferred_tiyn": transferred})
    assert (verdict.outcome == BLOCK) is blocked
    if blocked:
        assert "ұсталғаны 51\u00a0234,56" in only(verdict, "FLC-PAY-003").message["kk"]


@pytest.mark.parametrize("this, blocked", [(30_000_000, False), (30_000_001, True)])
def test_fin_001_obligations_beyond_plan_cumulative(this, blocked):
    verdict = check("obligation", {**FIN_001, "this_tiyn": this})
    assert (verdict.outcome == BLOCK) is blocked
    if blocked:
        hit = only(verdict, "FLC-FIN-001")
        assert "нарастающим итогом на 2026-03" in hit.message["ru"] and "міндеттемелер" in hit.message["kk"]


@pytest.mark.parametrize("this, paid, expected", [
    (10_000_000, 20_000_000, []),  # within plan (30,000,000 left) and contract (10,000,000 left)
    (10_000_001, 20_000_000, ["FLC-FIN-003"]),  # one tiyn past the contract's unused balance
    (10_000_000, 40_000_001, ["FLC-FIN-002"]),  # one tiyn past the plan by payments
    (10_000_001, 40_000_000, ["FLC-FIN-002", "FLC-FIN-003"]),  # both
])
def test_fin_002_and_003_payment_within_plan_and_contract(this, paid, expected):
    verdict = check("payment", {**PAYMENT, "this_tiyn": this, "payments_to_date_tiyn": paid})
    assert codes(verdict) == expected
    if "FLC-FIN-003" in expected:
        assert "Д-17/2026" in only(verdict, "FLC-FIN-003").message["kk"]


@pytest.mark.parametrize("pilot, day, last_day, blocked", [
    (True, 25, 25, False), (True, 26, 25, True), (False, 31, 25, False), (True, 26, 26, False),
    (True, 1, 25, False),
])
def test_fin_004_plan_certificate_after_the_25th_for_pilots(pilot, day, last_day, blocked):
    params = None if last_day == 25 else {"FLC-FIN-004": {"last_day": last_day}}
    verdict = check("plan_certificate", {**FIN_004, "is_pilot": pilot, "day_of_month": day,
                                         "date": f"2026-03-{day:02d}"}, params=params)
    assert (verdict.outcome == BLOCK) is blocked
    if blocked:
        assert "25" in only(verdict, "FLC-FIN-004").message["ru"]


@pytest.mark.parametrize("pilot, year_start, advances, receivables, expected", [
    (True, True, 0, 0, []),
    (True, True, 1, 0, ["advances"]),
    (True, True, 0, 1, ["receivables"]),
    (True, True, 1, 1, ["advances", "receivables"]),
    (False, True, 9, 9, []),
    (True, False, 9, 9, []),
])
def test_fin_005_pilot_balances_on_1_january_only_warn(pilot, year_start, advances, receivables, expected):
    verdict = check("period", {**FIN_005, "is_pilot": pilot, "is_year_start": year_start,
                               "advances_tiyn": advances, "receivables_tiyn": receivables})
    assert [h.condition for h in verdict.hits] == expected
    assert verdict.outcome == (WARN if expected else PASS)
    assert not verdict.blocked and all(h.severity == "warn" for h in verdict.hits)


# -- verdicts ------------------------------------------------------------------------------------

def test_every_hit_of_a_bad_posting_is_reported_in_catalogue_order():
    facts = posting(line(corresponds=False, specific="414"), line(specific_valid=False),
                    line(account="1010", is_cash=True, decreases_balance=True, balance_after_tiyn=-100,
                         account_has_correspondence_rows=False),
                    period_status="closed", credit_tiyn=1)
    verdict = check("posting", facts)
    assert verdict.outcome == BLOCK
    assert [(h.code, h.fact) for h in verdict.hits] == [
        ("FLC-LED-001", "head"), ("FLC-LED-002", "lines[0]"), ("FLC-LED-003", "lines[1]"),
        ("FLC-LED-004", "lines[2]"), ("FLC-PER-001", "head"),
    ]
    assert verdict.blocks == verdict.hits and verdict.warnings == ()


def test_messages_are_filled_in_three_languages_with_real_kazakh():
    facts = posting(line(corresponds=False), line(specific_valid=False, programme_valid=False),
                    line(account="1010", is_cash=True, decreases_balance=True, balance_after_tiyn=-1),
                    period_status="approved", credit_tiyn=0)
    verdicts = [
        check("posting", facts), check("payroll_accrual", {**PAY_001, "this_tiyn": 10**8}),
        check("advance", {**PAY_002, "this_tiyn": 10**9}), check("salary_payment", {**PAY_003, "this_tiyn": 10**9}),
        check("obligation", {**FIN_001, "this_tiyn": 10**9}),
        check("payment", {**PAYMENT, "this_tiyn": 10**9}),
        check("plan_certificate", {**FIN_004, "day_of_month": 28}),
        check("period", {**FIN_005, "advances_tiyn": 1, "receivables_tiyn": 1}),
    ]
    fired = {h.code for v in verdicts for h in v.hits}
    assert fired == {r.code for r in load().rules}, "every control fired once here"
    for hit in (h for v in verdicts for h in v.hits):
        for language in ("kk", "ru", "en"):
            assert "{" not in hit.message[language] and "}" not in hit.message[language], hit
        assert hit.text("kk") == hit.message["kk"] and hit.text("ru-ru") == hit.message["ru"]
        assert hit.text(None) == hit.message["ru"]
    # the templates themselves: Kazakh is Kazakh, Russian is Russian, English is English
    for rule in load().rules:
        for texts in [rule.title, rule.description] + [c.message for c in rule.conditions]:
            assert set(texts["kk"]) & KAZAKH, (rule.code, texts["kk"])
            assert CYRILLIC.search(texts["ru"]) and not set(texts["ru"]) & KAZAKH, (rule.code, texts["ru"])
            assert not CYRILLIC.search(texts["en"].replace("ФОТ", "").replace("ИПФ", "")), (rule.code, texts["en"])


def test_disabled_rules_do_not_fire_and_need_no_facts():
    facts = posting(period_status="closed", credit_tiyn=1)
    assert codes(check("posting", facts, disabled={"FLC-PER-001"})) == ["FLC-LED-001"]
    # FLC-LED-004 off: its facts may be left out
    slim = posting(*[{k: v for k, v in line().items() if k not in ("is_cash", "decreases_balance",
                                                                   "balance_after_tiyn")}])
    with pytest.raises(FactsError, match="is_cash"):
        check("posting", slim)
    assert check("posting", slim, disabled=frozenset({"FLC-LED-004"})).outcome == PASS
    everything = {r.code for r in load().in_scope("advance")}
    assert check("advance", {}, disabled=everything).outcome == PASS


def test_scopes_without_rules_pass_and_unknown_scopes_are_refused():
    assert check("inventory", {"anything": 1}).outcome == PASS
    with pytest.raises(FactsError, match="unknown scope"):
        check("payrol", PAY_001)


# -- facts are checked against the declarations ----------------------------------------------------

@pytest.mark.parametrize("mutate, error", [
    (lambda f: f.pop("debit_tiyn"), "missing"),
    (lambda f: f.update(debit_tiyn=1500.25), "tiyn"),
    (lambda f: f.update(debit_tiyn=Decimal("1500.25")), "tiyn"),
    (lambda f: f.update(debit_tiyn=None), "tiyn"),
    (lambda f: f.update(debit_tiyn=True), "tiyn"),
    (lambda f: f.update(debit_tiyn=2**53), "tiyn"),
    (lambda f: f.update(period_status="Closed"), "period_status"),
    (lambda f: f.update(period_sttus="open"), "not declared"),
    (lambda f: f.pop("lines"), "lines"),
    (lambda f: f.update(lines="x"), "list"),
    (lambda f: f["lines"][1].pop("corresponds"), r"lines\[1\]"),
    (lambda f: f["lines"][0].update(corresponds="yes"), r"lines\[0\].corresponds"),
    (lambda f: f["lines"][0].update(extra=1), "not declared"),
    (lambda f: f["lines"].append(None), "dict"),
])
def test_facts_that_do_not_match_the_declarations_are_refused(mutate, error):
    facts = copy.deepcopy(posting())
    mutate(facts)
    with pytest.raises(FactsError, match=error):
        check("posting", facts)


def test_parameters_are_checked():
    with pytest.raises(FactsError, match="advance_share_pct"):
        check("advance", PAY_002, params={"FLC-PAY-002": {"advance_share_pct": 101}})
    with pytest.raises(FactsError, match="no parameter"):
        check("advance", PAY_002, params={"FLC-PAY-002": {"share": 60}})
    # parameters of another scope's rules are not this check's business
    assert check("advance", PAY_002, params={"FLC-PAY-001": {"tolerance_tiyn": 5}}).outcome == PASS


def test_an_empty_collection_is_allowed_and_large_entries_are_checked_line_by_line():
    assert check("posting", posting(*[], debit_tiyn=0, credit_tiyn=0) | {"lines": []}).outcome == PASS
    lines = [line() for _ in range(500)]
    lines[437] = line(corresponds=False)
    verdict = check("posting", posting(*lines))
    assert [h.field for h in verdict.hits] == ["lines[437].specific"]
    assert only(verdict, "FLC-LED-002").message["ru"].startswith("Строка 438:")


def test_the_same_facts_give_equal_verdicts():
    facts = posting(line(corresponds=False), period_status="closed")
    assert check("posting", facts) == check("posting", copy.deepcopy(facts))


# -- durable-rules state: sessions, faults, threads, processes, memory ---------------------------------

def test_more_checks_than_durable_rules_has_session_slots():
    """durable-rules keeps at most 1,024 live sessions per ruleset (measured: without
    delete_state the 1,025th check fails); each check deletes its own."""
    engine = rules_engine.Engine(load())
    try:
        for n in range(3_000):
            facts = posting() if n % 2 else posting(period_status="closed")
            assert engine.check("posting", facts).outcome == (PASS if n % 2 else BLOCK)
    finally:
        engine.close()


def test_a_durable_rules_fault_rebuilds_the_host(monkeypatch):
    engine = rules_engine.Engine(load())
    try:
        real = rules_engine._dre.assert_facts
        monkeypatch.setattr(rules_engine._dre, "assert_facts", lambda handle, payload: (1, 0))
        with pytest.raises(rules_engine.EngineFault, match="answered 1"):
            engine.check("posting", posting())
        monkeypatch.setattr(rules_engine._dre, "assert_facts", real)
        assert engine.check("posting", posting(period_status="closed")).outcome == BLOCK
        assert engine.check("posting", posting()).outcome == PASS
    finally:
        engine.close()


def test_a_closed_engine_refuses_checks():
    engine = rules_engine.Engine(load())
    engine.close()
    with pytest.raises(rules_engine.EngineFault, match="closed"):
        engine.check("posting", posting())


def test_eight_threads_give_the_verdicts_of_one():
    cases = [
        ("posting", posting()), ("posting", posting(period_status="closed", credit_tiyn=1)),
        ("posting", posting(line(corresponds=False), line(specific_valid=False))),
        ("advance", PAY_002), ("advance", {**PAY_002, "this_tiyn": 15_000_001}),
        ("payment", {**PAYMENT, "this_tiyn": 10_000_001}), ("period", {**FIN_005, "advances_tiyn": 5}),
        ("plan_certificate", {**FIN_004, "day_of_month": 26}),
    ]
    sequential = [check(scope, facts) for scope, facts in cases]
    results: dict[int, list] = {}
    errors = []
    start = threading.Barrier(8)

    def worker(n: int):
        try:
            start.wait()
            got = []
            for i in range(400):
                k = (i + n) % len(cases)
                got.append((k, check(*cases[k])))
            results[n] = got
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8
    for got in results.values():
        for k, verdict in got:
            assert verdict == sequential[k]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_builds_its_own_host():
    check("posting", posting())  # the parent's host exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            ok = check("posting", posting(period_status="closed")).outcome == BLOCK \
                and check("posting", posting()).outcome == PASS
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"1"
    assert check("posting", posting()).outcome == PASS


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(row.split()[1]) for row in status if row.startswith("VmRSS:"))


@pytest.mark.slow
def test_100000_checks_in_a_row_without_memory_growth():
    passing, blocking = posting(), posting(line(corresponds=False), period_status="closed", credit_tiyn=1)
    for _ in range(3_000):  # warm up: allocator pools, caches
        check("posting", passing)
        check("posting", blocking)
    before = _rss_kb()
    for n in range(100_000):
        verdict = check("posting", blocking if n % 10 == 0 else passing)
    after = _rss_kb()
    assert verdict.outcome == PASS
    # Without deleting each session, durable-rules fails at the 1,025th and grows ~120 kB a
    # check; the bound leaves room for allocator noise only.
    assert after - before < 2_048, (before, after)
