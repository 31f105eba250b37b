"""Access shut-off (R15): dismissal, transfer or contract change disables the user at once:
every session and API token ends, the journal says who, why and how many."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from access.errors import ControlError
from access.models import ActionLog
from access.services import shut_off_access

from .access_support import api_client, page_client

pytestmark = pytest.mark.django_db


def sessions_of(user) -> int:
    return sum(str(s.get_decoded().get("_auth_user_id")) == str(user.pk) for s in Session.objects.all())


def test_shut_off_ends_sessions_and_tokens_and_refuses_the_next_request(world):
    user = world.accountant_a
    browser1, browser2 = page_client(user), Client()
    assert browser2.login(username="acc_a", password="correct-horse-battery")
    other = page_client(world.chief_a)
    api = api_client(user, world.a)
    assert browser1.get(reverse("journal")).status_code == 200
    assert api.get("/api/v1/entries/").status_code == 200
    assert sessions_of(user) == 2

    ended = shut_off_access(user=user, reason="dismissal order 15-к", actor=world.chief_a)

    assert ended == 2 and sessions_of(user) == 0
    assert not Token.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert not user.is_active
    for browser in (browser1, browser2):
        response = browser.get(reverse("journal"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    answer = api.get("/api/v1/entries/")
    assert answer.status_code in (401, 403) and answer.data["detail"].code == "authentication_failed"
    # and he cannot log in again
    again = Client().post(reverse("login"), {"username": "acc_a", "password": "correct-horse-battery"})
    assert again.status_code == 200 and "_auth_user_id" not in again.client.session
    # others keep working
    assert other.get(reverse("journal")).status_code == 200
    row = ActionLog.objects.get(object_type="user", object_id=str(user.pk), details__startswith="access shut off")
    assert row.user == world.chief_a and "dismissal order 15-к" in row.details and "2 session(s)" in row.details
    assert "1 token(s)" in row.details


def test_shut_off_from_payroll_without_actor_is_logged_as_system_and_idempotent(world):
    assert shut_off_access(user=world.clerk_a, reason="transfer") == 0
    assert shut_off_access(user=world.clerk_a, reason="transfer") == 0
    rows = ActionLog.objects.filter(object_type="user", object_id=str(world.clerk_a.pk),
                                   details__startswith="access shut off")
    assert rows.count() == 2 and {r.username for r in rows} == {"system"}


def test_a_reason_is_required(world):
    with pytest.raises(ControlError) as refused:
        shut_off_access(user=world.clerk_a, reason="  ")
    assert refused.value.field == "reason"
    world.clerk_a.refresh_from_db()
    assert world.clerk_a.is_active
