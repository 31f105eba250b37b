"""Contracts, obligations, acts and payments: the ФЛК controls FLC-FIN-001…003 fed with real
facts (at month and year boundaries), the proportional advance offset, the postings through the
posting schemes, ЭМС contracts and treasury statements."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from access.errors import ControlError
from esep.imports import ImportRefused
from financing import services
from financing.models import AcceptanceAct, Contract, Obligation, Payment, StatementLine
from ledger.models import JournalEntry, Posting
from ledger.services import ensure_year
from rules.models import Violation

from .factories import ledger_state
from .financing_support import (
    YEAR,
    add_financing_reference,
    as_json,
    contract_kwargs,
    line,
    plan_doc,
    supplier_bin,
)

D = Decimal
KEY141 = ("261", "003", "015", "141")


@pytest.fixture
def fin(world):
    add_financing_reference()
    # 141: 1000 a month by obligations and by payments from January to March
    doc = plan_doc(world.a, lines=[line(KEY141, ["1000.00", "1000.00", "1000.00"]),
                                   line(("261", "003", "015", "414"), ["0"] * 5 + ["50000.00"] + ["0"] * 6)])
    services.import_plan(institution=world.a, actor=world.accountant_a, data=as_json(doc))
    return world


def contract(world, **kw):
    return services.create_contract(institution=world.a, actor=world.accountant_a, **contract_kwargs(**kw))


def registered(world, day=dt.date(YEAR, 1, 12), **kw):
    c = contract(world, **kw)
    services.register_contract(contract=c, actor=world.accountant_a, treasury_number=f"КЗ-{c.number}",
                               treasury_date=day)
    c.refresh_from_db()
    return c


def pay(world, c, amount, day, kind="settlement", number=None):
    return services.make_payment(contract=c, actor=world.accountant_a, number=number or f"ПП-{day}-{amount}",
                                 date=day, amount=D(amount), kind=kind)


def act(world, c, amount, day, number):
    return services.record_act(contract=c, actor=world.accountant_a, number=number, date=day, amount=D(amount))


def test_contract_register_validates_every_field_at_once(fin):
    with pytest.raises(ControlError) as refused:
        contract(fin, counterparty_bin="123", number="", programme="261.999.015", specific="999",
                 years={YEAR: "-5"}, advance_percent="150")
    fields = {e.field for e in refused.value.errors}
    assert {"counterparty_bin", "number", "programme", "specific", f"years.{YEAR}", "advance_percent"} <= fields
    assert Contract.objects.count() == 0


def test_only_pilots_sign_multi_year_contracts_up_to_three_years(fin):
    years = {YEAR: "100", YEAR + 1: "100"}
    with pytest.raises(ControlError) as refused:
        contract(fin, years=years)
    assert refused.value.code == "years_invalid"
    fin.a.is_block_budget_pilot = True
    fin.a.save()
    c = contract(fin, years=years | {YEAR + 2: "100"})
    assert c.amount == D("300.00") and c.years.count() == 3
    with pytest.raises(ControlError):
        contract(fin, number="Д-4", years=years | {YEAR + 2: "1", YEAR + 3: "1"})


def test_registration_accepts_the_obligation_within_the_plan_by_obligations(fin):
    c = registered(fin, years={YEAR: "1000.00"}, day=dt.date(YEAR, 1, 31))
    assert Obligation.objects.get(contract=c).amount == D("1000.00")
    # plan to January is 1000, all taken: one tiyn more in January is refused by FLC-FIN-001 …
    c2 = contract(fin, number="Д-2", years={YEAR: "0.01"})
    with pytest.raises(ControlError) as refused:
        services.register_contract(contract=c2, actor=fin.accountant_a, treasury_number="КЗ-2",
                                   treasury_date=dt.date(YEAR, 1, 31))
    assert refused.value.code == "FLC-FIN-001" and refused.value.field == "amount"
    assert not Contract.objects.get(pk=c2.pk).registered  # nothing half-written
    assert Violation.objects.filter(rule_code="FLC-FIN-001", outcome="blocked").count() == 1
    # … and allowed on 1 February, when the cumulative plan is 2000
    services.register_contract(contract=c2, actor=fin.accountant_a, treasury_number="КЗ-2",
                               treasury_date=dt.date(YEAR, 2, 1))
    assert Obligation.objects.count() == 2


def test_payment_within_cumulative_plan_at_the_month_boundary(fin):
    # a certificate moves the plan by obligations to January; the plan by payments stays monthly
    cert = plan_doc(fin.a, kind="certificate", doc_id="C-1", date=f"{YEAR}-01-06",
                    obligations=[line(KEY141, ["2000.00", "-1000.00", "-1000.00"])],
                    payments=[line(KEY141, ["0"] * 12)])
    services.import_plan(institution=fin.a, actor=fin.accountant_a, data=as_json(cert))
    c = registered(fin, years={YEAR: "1000.00"}, advance_percent="100")
    c3 = registered(fin, number="Д-3", counterparty_bin=supplier_bin("8"), years={YEAR: "2000.00"},
                    advance_percent="100")
    pay(fin, c, "600.00", dt.date(YEAR, 1, 20), "advance")
    state = ledger_state([fin.a.id])
    with pytest.raises(ControlError) as refused:
        pay(fin, c3, "400.01", dt.date(YEAR, 1, 31), "advance")
    assert refused.value.code == "FLC-FIN-002"
    assert "400,01" in str(refused.value.message) or "400.01" in str(refused.value.message)
    assert ledger_state([fin.a.id]) == state and Payment.objects.count() == 1
    pay(fin, c3, "1400.00", dt.date(YEAR, 2, 1), "advance")  # February: plan to date 2000, paid 600
    with pytest.raises(ControlError) as refused:
        pay(fin, c3, "0.01", dt.date(YEAR, 2, 28), "advance")
    assert refused.value.code == "FLC-FIN-002"
    assert pay(fin, c3, "0.01", dt.date(YEAR, 3, 1), "advance").amount == D("0.01")


def test_payment_beyond_the_contract_balance_is_refused_by_flc_fin_003(fin):
    c = registered(fin, years={YEAR: "500.00"}, advance_percent="100")
    pay(fin, c, "300.00", dt.date(YEAR, 1, 20), "advance")
    with pytest.raises(ControlError) as refused:
        pay(fin, c, "200.01", dt.date(YEAR, 1, 21), "advance")
    assert refused.value.code == "FLC-FIN-003"
    assert "КЗ-Д-1" in str(refused.value.message)


def test_year_boundary_payments_count_against_their_own_year(fin):
    ensure_year(fin.a, YEAR + 1)
    fin.a.is_block_budget_pilot = True
    fin.a.save()
    c = registered(fin, years={YEAR: "1000.00", YEAR + 1: "1000.00"}, advance_percent="100")
    pay(fin, c, "1000.00", dt.date(YEAR, 1, 30), "advance")
    with pytest.raises(ControlError) as refused:  # no plan of the next year yet: plan to date 0
        pay(fin, c, "1.00", dt.date(YEAR + 1, 1, 1), "advance")
    assert refused.value.code == "FLC-FIN-002"
    doc = plan_doc(fin.a, doc_id="PLAN-NEXT", year=YEAR + 1, date=f"{YEAR}-12-20",
                   lines=[line(KEY141, ["500.00"])])
    services.import_plan(institution=fin.a, actor=fin.accountant_a, data=as_json(doc))
    with pytest.raises(ControlError) as refused:  # this year's payments do not use the next year's plan …
        pay(fin, c, "500.01", dt.date(YEAR + 1, 1, 1), "advance", number="ПП-x")
    assert refused.value.code in ("FLC-FIN-002", "advance_over_limit")
    services.accept_obligation(contract=c, actor=fin.accountant_a, date=dt.date(YEAR + 1, 1, 1), amount="500.00")
    with pytest.raises(ControlError):  # … nor does the contract's balance grow: 1000 of 2000 paid
        pay(fin, c, "1000.01", dt.date(YEAR + 1, 1, 1), "advance", number="ПП-y")
    assert pay(fin, c, "500.00", dt.date(YEAR + 1, 1, 1), "advance", number="ПП-z").amount == D("500.00")


def test_acts_offset_the_advance_proportionally_and_post_through_the_scheme(fin):
    c = registered(fin, years={YEAR: "1000.00"}, advance_percent="30")
    with pytest.raises(ControlError) as refused:
        pay(fin, c, "300.01", dt.date(YEAR, 1, 13), "advance")
    assert refused.value.code == "advance_over_limit"
    advance = pay(fin, c, "300.00", dt.date(YEAR, 1, 13), "advance")
    first = act(fin, c, "400.00", dt.date(YEAR, 1, 25), "А-1")
    assert first.advance_offset == D("120.00")  # 400 / 1000 × 300
    with pytest.raises(ControlError) as refused:
        pay(fin, c, "280.01", dt.date(YEAR, 1, 26))
    assert refused.value.code == "payment_over_payable"
    pay(fin, c, "280.00", dt.date(YEAR, 1, 26))
    last = act(fin, c, "600.00", dt.date(YEAR, 2, 25), "А-2")
    assert last.advance_offset == D("180.00")  # the act that completes the contract clears the rest
    state = services.contract_state(c)
    assert state["advance_outstanding"] == 0 and state["payable"] == D("420.00")
    # postings: D 1270 / C 6010 for the advance; D 7060 / C 3210 and D 3210 / C 1270 for the act
    rows = set(Posting.objects.filter(entry_id=advance.entry_id).values_list("account__code", "side", "amount"))
    assert rows == {("1270", "D", D("300.00")), ("6010", "C", D("300.00"))}
    rows = set(Posting.objects.filter(entry_id=first.entry_id).values_list("account__code", "side", "amount"))
    assert rows == {("7060", "D", D("400.00")), ("3210", "C", D("400.00")), ("3210", "D", D("120.00")),
                    ("1270", "C", D("120.00"))}
    with pytest.raises(ControlError) as refused:
        act(fin, c, "0.01", dt.date(YEAR, 2, 26), "А-3")
    assert refused.value.code == "act_over_contract"
    assert AcceptanceAct.objects.count() == 2


def test_unregistered_contract_takes_no_payment(fin):
    c = contract(fin)
    with pytest.raises(ControlError) as refused:
        pay(fin, c, "1.00", dt.date(YEAR, 1, 20), "advance")
    assert refused.value.code == "contract_unregistered"


def test_payment_in_a_closed_period_is_refused_and_nothing_is_written(fin):
    from ledger.services import close_period

    c = registered(fin, years={YEAR: "1000.00"}, advance_percent="100")
    close_period(period=fin.period(fin.a, 1), actor=fin.chief_a)
    with pytest.raises(ControlError):
        pay(fin, c, "10.00", dt.date(YEAR, 1, 20), "advance")
    assert Payment.objects.count() == 0


# -- ЭМС and treasury -------------------------------------------------------------------------

def ems_file(world, contracts) -> bytes:
    return json.dumps({"format": "esep.ems-contracts/1", "bin": world.a.bin, "contracts": contracts},
                      ensure_ascii=False).encode()


def ems_item(**kw):
    item = {"ems_id": "EMS-1", "number": "ГЗ-1", "date": f"{YEAR}-01-15", "supplier_bin": supplier_bin("8"),
            "supplier_name": "ТОО «Азық»", "subject": "Продукты", "programme": "261.003.015", "specific": "141",
            "amounts": {str(YEAR): "900.00"}, "advance_percent": "0"}
    item.update(kw)
    return item


def test_ems_contracts_import_all_or_nothing_and_once(fin):
    good = ems_file(fin, [ems_item(), ems_item(ems_id="EMS-2", number="ГЗ-2")])
    bad = ems_file(fin, [ems_item(), ems_item(ems_id="EMS-2", number="ГЗ-2", specific="999",
                                              supplier_bin="1"), ems_item()])
    with pytest.raises(ImportRefused) as refused:
        services.import_ems_contracts(institution=fin.a, actor=fin.accountant_a, data=bad)
    rules = {p.rule for p in refused.value.problems}
    assert {"EMS-SPECIFIC-INVALID", "EMS-BIN-INVALID", "EMS-DUPLICATE"} <= rules
    assert Contract.objects.count() == 0
    result = services.import_ems_contracts(institution=fin.a, actor=fin.accountant_a, data=good)
    assert len(result["created"]) == 2 and Contract.objects.filter(source="ems").count() == 2
    again = services.import_ems_contracts(institution=fin.a, actor=fin.accountant_a, data=good)
    assert again["created"] == [] and again["skipped"] == 2


def statement(world, rows, number="В-1", day=f"{YEAR}-01-31") -> bytes:
    head = "statement_number;statement_date;bin;payment_number;payment_date;amount;payee_bin;specific"
    lines = [head] + [f"{number};{day};{world.a.bin};{n};{d};{a};{b};141" for n, d, a, b in rows]
    return ("\n".join(lines) + "\n").encode()


def test_treasury_statement_matches_payments_and_ledger_and_lists_the_rest(fin):
    c = registered(fin, years={YEAR: "1000.00"}, advance_percent="100")
    p = pay(fin, c, "250.00", dt.date(YEAR, 1, 20), "advance", number="ПП-7")
    data = statement(fin, [("ПП-7", f"{YEAR}-01-20", "250.00", supplier_bin()),
                           ("ПП-99", f"{YEAR}-01-21", "10.00", supplier_bin())])
    st = services.import_treasury_statement(institution=fin.a, actor=fin.accountant_a, data=data)
    lines = {line.number: line for line in StatementLine.objects.filter(statement=st)}
    assert lines["ПП-7"].payment_id == p.pk and lines["ПП-7"].entry_id == p.entry_id
    assert lines["ПП-7"].matched and not lines["ПП-99"].matched
    assert Payment.objects.get(pk=p.pk).executed_on == dt.date(YEAR, 1, 31)
    assert JournalEntry.objects.filter(pk=p.entry_id).exists()
    again = services.import_treasury_statement(institution=fin.a, actor=fin.accountant_a, data=data)
    assert again.pk == st.pk


def test_treasury_statement_with_faults_is_refused_whole(fin):
    data = statement(fin, [("ПП-1", "2026-13-01", "abc", "12"), ("", f"{YEAR}-01-02", "1.00", supplier_bin())])
    with pytest.raises(ImportRefused) as refused:
        services.import_treasury_statement(institution=fin.a, actor=fin.accountant_a, data=data)
    rules = {p.rule for p in refused.value.problems}
    assert {"TRS-DATE", "TRS-AMOUNT", "TRS-PAYEE", "TRS-NUMBER"} <= rules
    assert not StatementLine.objects.exists()


def test_year_start_check_warns_a_pilot_with_an_outstanding_advance(fin):
    fin.a.is_block_budget_pilot = True
    fin.a.save()
    ensure_year(fin.a, YEAR + 1)
    c = registered(fin, years={YEAR: "1000.00"}, advance_percent="50")
    pay(fin, c, "100.00", dt.date(YEAR, 1, 20), "advance")
    verdict = services.check_year_start(institution=fin.a, actor=fin.chief_a, year=YEAR + 1)
    assert verdict.outcome == "warn" and [h.code for h in verdict.hits] == ["FLC-FIN-005"]
    assert services.check_year_start(institution=fin.b, actor=fin.accountant_b, year=YEAR + 1).outcome == "pass"
