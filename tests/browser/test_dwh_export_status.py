"""The export status page in the browser, in Kazakh and in Russian: the administrator finds a
dead letter through the side menu, puts it back in the queue and orders a resend."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from access.roles import Role
from access.services import grant_role
from dwh_export.models import Batch, BatchStatus, Stream
from ledger.services import post_entries
from tests.factories import YEAR, build_world, pair

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "kk": {"login_button": "Кіру", "status": "Экспорт күйі", "dead": "Жеткізілмеген пакеттер", "retry": "Қайталау",
           "retried": "Пакет қайта жеткізу кезегіне қойылды.", "resend": "Қайта жіберу",
           "resent": "2 реттік нөмірінен бастап қайта жіберу тағайындалды."},
    "ru": {"login_button": "Войти", "status": "Состояние экспорта", "dead": "Недоставленные пакеты",
           "retry": "Повторить", "retried": "Пакет снова поставлен в очередь на доставку.",
           "resend": "Отправить заново", "resent": "Повторная отправка с номера 2 назначена."},
}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_dead_letter_retry_and_resend(live_server, page, shots, language):
    world = build_world()
    grant_role(actor=None, user=world.chief_a, institution=world.a, role=Role.ADMINISTRATOR)
    post_entries(institution=world.a, actor=world.accountant_a,
                 drafts=[pair(dt.date(YEAR, 3, 2), "1.00"), pair(dt.date(YEAR, 3, 3), "2.00")])
    now = timezone.now()
    batch = Batch.objects.create(id=uuid.uuid4(), institution=world.a, first_seq=1, last_seq=2, events=2, body=b"",
                                 content_hash="0" * 64, signature="x", key_id="k", status=BatchStatus.DEAD,
                                 attempts=8, next_attempt_at=now, created_at=now,
                                 last_error='{"error": "signature_invalid"}')
    t = TEXT[language]
    base = live_server.url
    page.goto(base + "/login/")
    page.locator(f"form.langs button[value={language}]").click()
    page.wait_for_load_state()
    page.fill("#id_username", world.chief_a.username)
    page.fill("#id_password", "correct-horse-battery")
    page.get_by_role("button", name=t["login_button"], exact=True).click()
    page.wait_for_url(base + "/")

    page.locator("#sidenav").get_by_role("link", name=t["status"], exact=True).click()
    page.get_by_role("heading", name=t["dead"]).wait_for()
    assert "signature_invalid" in page.content()
    shots(page, f"dwh-{language}-1-dead-letter")
    page.get_by_role("button", name=t["retry"], exact=True).click()
    page.locator(".msg-success").wait_for()
    assert t["retried"] in page.locator(".msg-success").inner_text()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.PENDING

    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#resend-seq", "2")
    page.get_by_role("button", name=t["resend"], exact=True).click()
    page.locator(".msg-success").wait_for()
    assert t["resent"] in page.locator(".msg-success").inner_text()
    shots(page, f"dwh-{language}-2-resent")
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SUPERSEDED
    assert Stream.objects.get(institution=world.a).acked_seq == 1
