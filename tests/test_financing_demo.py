"""The financing demo: 2026 plans consistent with the ledger demo, a certificate, contracts
with obligations, acts and payments; idempotent."""

import datetime as dt

import pytest

from access.models import Institution
from financing import demo, queries
from financing.models import AcceptanceAct, Contract, Payment, PlanDocument
from ledger import demo as ledger_demo

TODAY = dt.date(2026, 7, 10)


@pytest.mark.django_db
def test_demo_plans_cover_the_ledger_and_contracts_run():
    ledger_demo.load_demo(entries_per_month=12, today=TODAY)
    summary = demo.load_app_demo(today=TODAY)
    assert summary and "contracts" in summary
    assert demo.load_app_demo(today=TODAY) is None  # idempotent
    school = Institution.objects.get(bin=ledger_demo.SCHOOL.bin)
    assert PlanDocument.objects.filter(institution=school, year=2026).count() >= 1
    # the plan by payments of each month covers what the ledger financed that month
    financed = demo._financed(school)
    plan = queries.effective_plan(school, 2026, on_date=TODAY, plan_type="payments")
    for key, months in financed.items():
        for m in range(6):
            assert plan[("payments", key)][m] >= months[m]
    wage_fund = queries.payments_plan(school, 2026, 3, "111", on_date=TODAY)
    assert wage_fund is not None and wage_fund > 0
    assert Contract.objects.filter(institution=school).exclude(treasury_number="").count() == 3
    assert AcceptanceAct.objects.filter(institution=school).exists()
    assert Payment.objects.filter(institution=school, kind="advance").exists()
