"""The pure calculator against DOMAIN.md's worked figures and as properties (hypothesis). The
parameters come from the shipped data file through the service that reads them, so a wrong row
in payroll/data/parameters.csv fails here."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payroll.calculator import Allowance, EmployeeMonth, Params, calculate, split
from payroll.services import load_parameters, parameter_values

D = Decimal


@pytest.fixture
def p2026(db) -> Params:
    load_parameters()
    return Params.from_mapping(parameter_values(None, dt.date(2026, 3, 1)))


@pytest.fixture
def p2025(db) -> Params:
    load_parameters()
    return Params.from_mapping(parameter_values(None, dt.date(2025, 3, 1)))


def month(gross, **extra) -> EmployeeMonth:
    return EmployeeMonth(salary=D(gross), norm_days=21, days_worked=21, **extra)


@pytest.mark.parametrize(("gross", "opv", "vosms", "ipn", "net"), [
    (300_000, "30000.00", "6000.00", "13425.00", "250575.00"),
    (500_000, "50000.00", "10000.00", "31025.00", "408975.00"),
])
def test_domain_worked_examples_2026_to_the_tenge(p2026, gross, opv, vosms, ipn, net):
    r = calculate(p2026, month(gross))
    assert (r.opv, r.vosms, r.ipn, r.net) == (D(opv), D(vosms), D(ipn), D(net))
    assert r.ipn_base == D(gross) - D(opv) - D(vosms) - D("129750")  # 30 МРП × 4 325


def test_2025_uses_its_own_parameters(p2025):
    r = calculate(p2025, month(300_000))
    # deduction 14 × 3 932 = 55 048; base 300 000 − 30 000 − 6 000 − 55 048 = 208 952
    assert r.ipn == D("20895.00")
    assert r.opvr == D("7500.00")  # 2.5 %
    # СН 11 % of (300 000 − 30 000 − 6 000) less СО 13 500
    assert r.sn == D("15540.00")


def test_caps_2026(p2026):
    r = calculate(p2026, month(10_000_000))
    assert r.opv == D("425000.00")  # 10 % of 50 МЗП = 4 250 000
    assert r.vosms == D("34000.00")  # 2 % of 20 МЗП = 1 700 000
    assert r.oosms == D("102000.00")  # 3 % of 40 МЗП = 3 400 000
    assert r.so == D("29750.00")  # 5 % of 7 МЗП
    assert r.opvr == D("148750.00")  # 3.5 % of 50 МЗП


def test_caps_2025_are_lower(p2025):
    r = calculate(p2025, month(10_000_000))
    assert r.vosms == D("17000.00")  # 10 МЗП
    assert r.oosms == D("25500.00")


def test_high_earner_pays_15_percent_only_above_8500_mrp(p2026):
    threshold = D(8500) * D(4325)  # 36 762 500
    gross = D("4600000")
    ytd = D(0)
    taxes = []
    for _m in range(1, 13):
        r = calculate(p2026, month(gross, ytd_ipn_base=ytd))
        taxes.append((ytd, r.ipn_base, r.ipn))
        ytd += r.ipn_base
    base = taxes[0][1]
    crossing = next(i for i, (before, b, _t) in enumerate(taxes) if before + b > threshold)
    assert 8 <= crossing <= 10  # autumn
    before, b, tax = taxes[crossing]
    low = threshold - before
    assert tax == (low * D("0.10") + (b - low) * D("0.15")).quantize(D("1"))
    assert taxes[crossing - 1][2] == (base * D("0.10")).quantize(D("1"))
    assert taxes[crossing + 1][2] == (base * D("0.15")).quantize(D("1"))


def test_non_resident_gets_no_deduction_and_flat_rate(p2026):
    r = calculate(p2026, month(300_000, resident=False))
    assert r.ipn == D("26400.00")  # (300 000 − 30 000 − 6 000) × 10 %


def test_pensioner_exemptions_are_data(p2026):
    r = calculate(p2026, month(300_000, flags=frozenset({"pensioner"})))
    assert (r.opv, r.vosms, r.opvr, r.oosms, r.so) == (0, 0, 0, 0, 0)
    assert r.ipn == D("17025.00")  # (300 000 − 129 750) × 10 %


def test_partial_month_allowances_vacation_and_figures(p2026):
    r = calculate(p2026, EmployeeMonth(
        salary=D("210000"), norm_days=21, days_worked=11, vacation_days=10, average_daily=D("10000"),
        allowances=(Allowance("стаж", "percent", D("20")), Allowance("класс", "fixed", D("21000"), "112")),
        bonus=D("5000"), one_off=D("7000")))
    assert r.parts == {"111": D("110000.00") + D("100000.00"), "112": D("22000.00") + D("11000.00") + D("5000"),
                       "113": D("7000")}
    keys = [f.key for f in r.figures]
    assert {"salary", "allowance_0", "allowance_1", "vacation_pay", "bonus", "one_off", "opv", "ipn"} <= set(keys)
    salary = next(f for f in r.figures if f.key == "salary")
    assert salary.inputs == {"salary": "210000", "days_worked": "11", "norm_days": "21"}


def test_technical_staff_accrue_on_131(p2026):
    r = calculate(p2026, month(200_000, technical=True, bonus=D("1000")))
    assert set(r.parts) == {"131"}


def test_rounding_is_a_parameter(p2026):
    from dataclasses import replace

    tiyn = replace(p2026, rounding_unit=D("0.01"))
    assert calculate(tiyn, month("123456.78")).opv == D("12345.68")
    assert calculate(p2026, month("123456.78")).opv == D("12346.00")


money = st.decimals(min_value=0, max_value=20_000_000, places=2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gross=money, advance=money, worked=st.integers(0, 23), ytd=money, court=st.decimals(0, 50, places=2),
       resident=st.booleans(), pensioner=st.booleans(), bonus=money)
def test_properties(p2026, gross, advance, worked, ytd, court, resident, pensioner, bonus):
    r = calculate(p2026, EmployeeMonth(
        salary=gross, norm_days=23, days_worked=worked, advance=advance, ytd_ipn_base=ytd * 3,
        court_order_percent=court, resident=resident, flags=frozenset({"pensioner"} if pensioner else ()),
        bonus=bonus))
    # net + withholdings + advance = accrued, for every employee
    assert r.to_pay + r.withheld + r.advance == r.accrued
    assert r.accrued == sum(r.parts.values(), D(0))
    for amount in (r.opv, r.vosms, r.ipn, r.opvr, r.so, r.oosms, r.sn, r.court):
        assert amount >= 0 and amount == amount.quantize(D("1"))
    assert r.opv <= D("425000") and r.vosms <= D("34000") and r.oosms <= D("102000")
    assert r.ipn <= r.ipn_base * D("0.15") + 1


@settings(max_examples=300, deadline=None)
@given(amount=st.decimals(min_value=-10**9, max_value=10**9, places=2),
       weights=st.dictionaries(st.sampled_from(["111", "112", "113", "131"]),
                               st.decimals(min_value=0, max_value=10**8, places=2), min_size=1))
def test_split_is_exact(amount, weights):
    parts = split(amount, weights)
    if amount and sum(weights.values()):
        assert sum(parts.values(), D(0)) == amount
        assert set(parts) <= {k for k, w in weights.items() if w} | {max(weights, key=lambda k: (weights[k],))}
    else:
        assert parts == {}
