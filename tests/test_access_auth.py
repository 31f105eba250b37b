"""Authentication hardening: password policy, login throttling (django-axes), session idle
timeout, optional TOTP second factor (django-otp)."""

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.gate import LAST_SEEN, OTP_PENDING
from access.models import ActionLog

from .access_support import page_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("password, code", [
    ("short1", "password_too_short"),
    ("1234567890123", "password_entirely_numeric"),
    ("onlylettersherenow", "password_character_classes"),
    ("password123", "password_too_common"),
])
def test_password_policy_refuses(password, code, world):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, world.accountant_a)
    assert code in {e.code for e in refused.value.error_list}


def test_password_policy_accepts_a_good_one(world):
    validate_password("Жаңа-құпия-2026", world.accountant_a)


def login(client, username, password, ip="10.9.9.9"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_login_is_throttled_after_repeated_failures(world):
    client = Client()
    for _ in range(2):
        assert login(client, "acc_a", "wrong").status_code == 200
    assert login(client, "acc_a", "wrong").status_code == 429  # the third failure locks
    locked = login(client, "acc_a", "correct-horse-battery")
    assert locked.status_code == 429
    assert "locked" in locked.content.decode() or "заблок" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # another user from the same address, and the same user from another address, are not locked
    assert login(Client(), "chief_a", "correct-horse-battery").status_code == 302
    assert login(Client(), "acc_a", "correct-horse-battery", ip="10.9.9.10").status_code == 302
    assert ActionLog.objects.filter(action="login_failed", username="acc_a").count() >= 3


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_success_resets_the_failure_count(world):
    client = Client()
    for _ in range(2):
        login(client, "acc_a", "wrong")
    assert login(client, "acc_a", "correct-horse-battery").status_code == 302
    client = Client()
    for _ in range(2):
        login(client, "acc_a", "wrong")
    assert login(client, "acc_a", "correct-horse-battery").status_code == 302


@override_settings(ESEP_SESSION_IDLE_SECONDS=600)
def test_an_idle_session_ends(world):
    client = page_client(world.accountant_a)
    assert client.get(reverse("journal")).status_code == 200
    session = client.session
    session[LAST_SEEN] = int(time.time()) - 601
    session.save()
    response = client.get(reverse("journal"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("journal")).status_code == 302  # logged out for good
    assert ActionLog.objects.filter(user=world.accountant_a, action="logout", details__contains="idle").exists()


@override_settings(ESEP_SESSION_IDLE_SECONDS=600)
def test_an_active_session_stays(world):
    client = page_client(world.accountant_a)
    client.get(reverse("journal"))
    session = client.session
    session[LAST_SEEN] = int(time.time()) - 500
    session.save()
    assert client.get(reverse("journal")).status_code == 200
    assert client.session[LAST_SEEN] >= int(time.time()) - 5  # refreshed


def current_code(device, ahead: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead):06d}"


# django-otp slows down guessing (1 s, 2 s, 4 s… after each wrong code); the factor 0 lets this
# test try a wrong code and the right one back to back.
@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)
def test_totp_enrol_then_every_login_asks_for_the_code(world):
    client = page_client(world.chief_a)
    page = client.get(reverse("otp_enrol"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=world.chief_a, confirmed=False)
    # The machine running the tests may be slow; accept codes of the neighbouring 30-s steps.
    TOTPDevice.objects.filter(pk=device.pk).update(tolerance=3)
    wrong = client.post(reverse("otp_enrol"), {"token": "000000" if current_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["token"]
    enrol_code = current_code(device)
    assert client.post(reverse("otp_enrol"), {"token": enrol_code}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed

    browser = Client()
    assert login(browser, "chief_a", "correct-horse-battery").status_code == 302
    assert browser.session.get(OTP_PENDING)
    response = browser.get(reverse("journal"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("otp_verify"))
    assert browser.get("/api/v1/entries/").status_code == 403  # the session is not enough for the API either
    device.refresh_from_db()
    assert browser.post(reverse("otp_verify"), {"token": "12345x"}).status_code == 200
    # a code once used is refused (replay); the authenticator's next code is accepted
    assert browser.post(reverse("otp_verify"), {"token": enrol_code}).status_code == 200
    done = browser.post(reverse("otp_verify") + "?next=/journal/", {"token": current_code(device, ahead=1),
                                                                  "next": "/journal/"})
    assert done.status_code == 302 and done["Location"] == "/journal/"
    assert browser.get(reverse("journal")).status_code == 200
    assert ActionLog.objects.filter(user=world.chief_a, details="second factor verified").exists()
    assert ActionLog.objects.filter(user=world.chief_a, action="login_failed").exists()


def test_users_without_a_device_are_not_asked(world):
    browser = Client()
    login(browser, "acc_a", "correct-horse-battery")
    assert not browser.session.get(OTP_PENDING)
    assert browser.get(reverse("journal")).status_code == 200
