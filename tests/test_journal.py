"""The action journal (R4): who did what, where, when and with what outcome; append-only and
hash-chained. Login, logout and failed login are journaled by signals."""

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from access.models import ActionLog
from access.services import client_ip, log_action
from ledger.services import close_period, post_entry
from ledger.verification import verify_journal_chain

from .factories import pair


def last(**filters) -> ActionLog:
    return ActionLog.objects.filter(**filters).order_by("-seq").first()


def test_a_record_copies_the_persons_identity_and_role(world):
    row = log_action(actor=world.chief_a, action="export", institution=world.a, object_type="report",
                     object_id=42, details="баланс")
    row.refresh_from_db()
    assert (row.user_id, row.username, row.full_name, row.iin) == (
        world.chief_a.id, "chief_a", "Главбухова Тест", world.chief_a.iin)
    assert (row.role, row.institution_id, row.action, row.object_type, row.object_id, row.outcome) == (
        "chief_accountant", world.a.id, "export", "report", "42", "success")
    # renaming the user later does not rewrite history
    world.chief_a.last_name = "Переименова"
    world.chief_a.save()
    row.refresh_from_db()
    assert row.full_name == "Главбухова Тест"
    assert verify_journal_chain() == []


def test_roles_are_those_held_in_the_records_institution(world):
    from access.roles import Role
    from access.services import grant_role

    grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.AUDITOR)
    assert log_action(actor=world.chief_a, action="view", institution=world.b).role == "auditor"
    assert log_action(actor=world.chief_a, action="view", institution=world.a).role == "chief_accountant"
    assert log_action(actor=world.chief_a, action="view", institution=None).role == ""


def test_services_journal_their_actions(world):
    entry = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(dt.date(2026, 3, 1), "1.00",
                                                                                 doc_number="МО-1"))
    close_period(period=world.periods_a[3], actor=world.chief_a)
    post_row, close_row = last(action="post"), last(action="close")
    assert (post_row.object_type, post_row.object_id, post_row.user_id) == (
        "journal_entry", str(entry.id), world.accountant_a.id)
    assert "МО-1" in post_row.details
    assert (close_row.object_type, close_row.object_id, close_row.user_id) == ("period", "2026-03", world.chief_a.id)
    assert close_row.seq == post_row.seq + 1


def test_details_are_bounded(world):
    row = log_action(actor=world.chief_a, action="view", details="я" * 5000)
    assert len(row.details) == 4000


def test_failed_login_is_journaled_with_the_login_tried(world):
    before = ActionLog.objects.count()
    assert authenticate(request=None, username="chief_a", password="wrong-password") is None
    row = last(action="login_failed")
    assert ActionLog.objects.count() == before + 1
    assert (row.outcome, row.user_id, row.username) == ("failed", None, "chief_a")


def test_login_and_logout_are_journaled_with_the_address(world):
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert client.login(username="acc_a", password="correct-horse-battery")
    row = last(action="login")
    assert (row.user_id, row.outcome) == (world.accountant_a.id, "success")
    client.logout()
    assert last(action="logout").user_id == world.accountant_a.id
    assert verify_journal_chain() == []


@pytest.mark.parametrize("meta, expected", [
    ({"REMOTE_ADDR": "10.0.0.5"}, "10.0.0.5"),
    ({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "192.0.2.7, 10.0.0.1"}, "192.0.2.7"),
    ({"REMOTE_ADDR": ""}, None),
])
def test_client_address(meta, expected):
    request = RequestFactory().get("/", **meta)
    if not meta.get("REMOTE_ADDR"):
        request.META.pop("REMOTE_ADDR", None)
    assert client_ip(request) == expected


def test_the_address_goes_into_the_record_and_the_chain(world):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::1")
    row = log_action(actor=world.auditor_a, action="view", request=request, institution=world.a)
    row.refresh_from_db()
    assert row.ip == "2001:db8::1"
    assert verify_journal_chain() == []
