"""The demo institutions' statements tie, and the demo administrator's consolidation
eliminates the internal operation between the school and the college."""

import datetime as dt
from decimal import Decimal

import pytest

from access.models import User
from ledger import demo as ledger_demo
from ledger.models import Period, PeriodStatus
from reporting import demo, services
from reporting.models import Statement, StatementKind, StatementStatus
from reporting.statements import figure, statement_data

TODAY = dt.date(2026, 2, 16)


@pytest.fixture
def demo_loaded(db):
    ledger_demo.load_demo(entries_per_month=12, today=TODAY)
    summary = demo.load_app_demo(today=TODAY)
    return summary


@pytest.mark.django_db
def test_demo_statements_tie_and_consolidation_eliminates(demo_loaded):
    assert demo_loaded and "internal operation" in demo_loaded
    assert demo.load_app_demo(today=TODAY) is None  # idempotent
    school = Statement.objects.filter(kind=StatementKind.SINGLE, period_start=dt.date(2025, 1, 1))
    assert school.count() == 3  # 2025 of both, January 2025 of the school
    for statement in school:
        assert statement.failed_checks == [], (statement.institution, statement.failed_checks)
        assert statement.status == StatementStatus.CHECKED and statement.head_signed_by_id
        forms = statement.data["forms"]
        assert figure(forms, "FO-1", "300", "closing") > 0 or statement.period_end.month == 1
        assert figure(forms, "FO-1", "300", "closing") == figure(forms, "FO-1", "700", "closing")
    # January 2025 of the school is ready for the chief accountant: approving it locks the month
    january = Statement.objects.get(period_end=dt.date(2025, 1, 31))
    services.approve_statement(statement=january, actor=User.objects.get(username="school.chief"))
    assert Period.objects.get(institution=january.institution, year=2025, month=1).status == PeriodStatus.APPROVED
    group = Statement.objects.get(kind=StatementKind.CONSOLIDATED, period_start=dt.date(2026, 1, 1))
    assert group.failed_checks == []
    assert Decimal(group.data["eliminated"]["debit"]) == Decimal("960000.00")  # both sides of 480 000
    subs = group.institution.subordinates.all()
    singles = [statement_data(i, dt.date(2026, 1, 1), dt.date(2026, 2, 28)) for i in subs]
    income = sum(figure(s["forms"], "FO-2", "100", "amount") for s in singles)
    assert figure(group.data["forms"], "FO-2", "100", "amount") == income - Decimal("480000.00")
