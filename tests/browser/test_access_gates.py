"""In the browser: a user without a training this quarter logs in and gets the refusal page in his
language (why, whom to contact); an auditor sees the read-only notice and his institutions; too
many wrong passwords lock the login."""

import pytest
from django.test import override_settings

from tests.access_support import approved_grant, make_admin, make_tree
from tests.factories import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, base, username, password="correct-horse-battery", language=None):
    page.goto(base + "/login/")
    if language:
        page.locator(f"form.langs button[value={language}]").click()
        page.wait_for_load_state()
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language, why, contact", [
    ("kk", "тоқсан", "Кімге хабарласу керек"),
    ("ru", "квартал", "К кому обратиться"),
])
def test_untrained_user_sees_why_and_whom_to_contact(live_server, page, shots, language, why, contact):
    world = build_world()
    make_admin(world)
    with override_settings(ESEP_TRAINING_GATE=True):
        log_in(page, live_server.url, world.accountant_a.username, language=language)
        assert page.url.endswith("/access/training/required/")
        text = page.locator("main").inner_text()
        assert why in text and contact in text and "Админов" in text
        shots(page, f"access-{language}-training-required")


def test_auditor_sees_read_only_notice_and_institutions_in_scope(live_server, page, shots):
    world = build_world()
    admin = make_admin(world)
    top, child, other = make_tree(world)
    grant = approved_grant(admin)
    auditor = grant.user
    auditor.set_password("Аудит-құпия-2026")
    auditor.save()
    log_in(page, live_server.url, auditor.username, "Аудит-құпия-2026", language="ru")
    options = page.locator("#switch-institution option").all_inner_texts()
    assert sorted(options) == sorted(["Управление", "Школа 2", "Школа 3"])
    assert "только на чтение" in page.locator("main").inner_text()
    shots(page, "access-ru-auditor")


@override_settings(AXES_FAILURE_LIMIT=2)
def test_wrong_passwords_lock_the_login(live_server, page):
    world = build_world()
    for _ in range(2):
        log_in(page, live_server.url, world.chief_a.username, "wrong-password", language="ru")
    log_in(page, live_server.url, world.chief_a.username)
    assert "Слишком много неудачных входов" in page.locator("main").inner_text()
