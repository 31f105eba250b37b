"""Approval workflow prepared → checked → signed by the head → approved by the chief
accountant; approval locks the months for good (R3) and sends statement_approved inside the
approving transaction."""

import datetime as dt

import pytest
from django.db import DatabaseError, transaction

from access.errors import ControlError, PermissionRefused
from access.models import ActionLog
from esep.events import statement_approved
from ledger.models import Period, PeriodStatus
from ledger.services import close_period, post_entries, reopen_period
from reporting import services
from reporting.models import Statement, StatementStatus

from .factories import pair
from .reporting_support import JAN, make_head, two_months

START, END = dt.date(2026, 1, 1), dt.date(2026, 2, 28)


def close_both(world):
    for month in (1, 2):
        close_period(period=world.periods_a[month], actor=world.chief_a)


@pytest.fixture
def received():
    events = []

    def receiver(sender, **kwargs):
        events.append(kwargs)

    statement_approved.connect(receiver, weak=False)
    yield events
    statement_approved.disconnect(receiver)


@pytest.mark.django_db
def test_full_workflow_locks_the_months_and_sends_the_event(world, received):
    two_months(world)
    head = make_head(world)
    close_both(world)
    statement = services.prepare_statement(institution=world.a, actor=world.accountant_a, period_start=START,
                                           period_end=END)
    assert statement.version == 1 and statement.status == StatementStatus.PREPARED
    # the head cannot sign before the check, the chief cannot approve before the head
    with pytest.raises(ControlError):
        services.sign_as_head(statement=statement, actor=head)
    statement = services.check_statement(statement=statement, actor=world.accountant_a)
    with pytest.raises(ControlError) as refused:
        services.approve_statement(statement=statement, actor=world.chief_a)
    assert refused.value.code == "head_signature_missing"
    # an accountant is not the head and not the approver
    with pytest.raises(PermissionRefused):
        services.sign_as_head(statement=statement, actor=world.accountant_a)
    statement = services.sign_as_head(statement=statement, actor=head)
    with pytest.raises(PermissionRefused):
        services.approve_statement(statement=statement, actor=head)
    statement = services.approve_statement(statement=statement, actor=world.chief_a)
    assert statement.status == StatementStatus.APPROVED
    assert {p.status for p in Period.objects.filter(institution=world.a, year=2026, month__in=[1, 2])} == {
        PeriodStatus.APPROVED}
    assert [e["form"] for e in received] == ["FO-1", "FO-2", "FO-3", "FO-4", "FO-5"]
    assert received[0]["institution"] == world.a and received[0]["version"] == 1
    assert received[0]["period_start"] == START and received[0]["period_end"] == END
    assert received[0]["payload"]["lines"][1]["code"] == "010"
    assert ActionLog.objects.filter(object_type="statement", object_id=str(statement.pk), action="approve").count() == 2
    # R3: no entry can be dated in an approved month, by the service or by anyone
    with pytest.raises(ControlError) as refused:
        post_entries(institution=world.a, actor=world.chief_a, drafts=[pair(JAN, "10.00")])
    assert refused.value.code == "FLC-PER-001"
    with pytest.raises(ControlError):
        reopen_period(period=world.periods_a[1], actor=world.chief_a, reason="исправить ошибку")
    # the approved statement itself never changes (database trigger), nor can the range be prepared again
    with pytest.raises(DatabaseError), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(notes="подправить")
    with pytest.raises(ControlError) as refused:
        services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START, period_end=END)
    assert refused.value.code == "statement_approved"


@pytest.mark.django_db
def test_open_month_blocks_approval(world, received):
    two_months(world)
    head = make_head(world)
    close_period(period=world.periods_a[1], actor=world.chief_a)
    statement = services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START,
                                           period_end=END)
    services.check_statement(statement=statement, actor=world.chief_a)
    services.sign_as_head(statement=statement, actor=head)
    with pytest.raises(ControlError) as refused:
        services.approve_statement(statement=statement, actor=world.chief_a)
    assert refused.value.code == "period_open" and "2026-02" in str(refused.value.message)
    assert Period.objects.get(pk=world.periods_a[1].pk).status == PeriodStatus.CLOSED
    assert received == []


@pytest.mark.django_db
def test_ledger_changed_after_preparation_refuses_approval(world, received):
    two_months(world)
    head = make_head(world)
    statement = services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START,
                                           period_end=END)
    services.check_statement(statement=statement, actor=world.chief_a)
    services.sign_as_head(statement=statement, actor=head)
    post_entries(institution=world.a, actor=world.chief_a, drafts=[pair(JAN, "10.00")])
    close_both(world)
    with pytest.raises(ControlError) as refused:
        services.approve_statement(statement=statement, actor=world.chief_a)
    assert refused.value.code == "figures_changed"
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.CHECKED
    # a new version takes the change and can go through
    again = services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START, period_end=END)
    assert again.version == 2


@pytest.mark.django_db
def test_event_receiver_failure_rolls_the_approval_back(world):
    two_months(world)
    head = make_head(world)
    close_both(world)
    statement = services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START,
                                           period_end=END)
    services.check_statement(statement=statement, actor=world.chief_a)
    services.sign_as_head(statement=statement, actor=head)

    def broken(sender, **kwargs):
        raise RuntimeError("outbox unavailable")

    statement_approved.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.approve_statement(statement=statement, actor=world.chief_a)
    finally:
        statement_approved.disconnect(broken)
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.CHECKED
    assert Period.objects.get(pk=world.periods_a[1].pk).status == PeriodStatus.CLOSED


@pytest.mark.django_db
def test_other_tenant_cannot_prepare(world):
    with pytest.raises(PermissionRefused):
        services.prepare_statement(institution=world.a, actor=world.accountant_b, period_start=START, period_end=END)
