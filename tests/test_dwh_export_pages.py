"""The export status page, its operator actions and the status API: capabilities, tenants,
translations and the action journal."""

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.models import ActionLog
from access.roles import Role
from access.services import grant_role
from dwh_export.models import Batch, BatchStatus, Reconciliation, ReconStatus, Stream
from ledger.services import post_entries

from .factories import pair, run_commit_checks

DAY = dt.date(2026, 3, 10)


def login(user, institution=None, language=None) -> Client:
    client = Client()
    client.force_login(user)
    if institution is not None:
        client.defaults["HTTP_X_INSTITUTION"] = str(institution.id)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def admin_a(world):
    grant_role(actor=None, user=world.auditor_a, institution=world.a, role=Role.ADMINISTRATOR)
    return world.auditor_a


def dead_batch(institution, first=1, last=2) -> Batch:
    now = timezone.now()
    return Batch.objects.create(id=uuid.uuid4(), institution=institution, first_seq=first, last_seq=last,
                                events=last - first + 1, body=b"", content_hash="0" * 64, signature="x",
                                key_id="k", status=BatchStatus.DEAD, attempts=8, next_attempt_at=now, created_at=now,
                                last_error='{"error": "signature_invalid"}')


def test_status_page_shows_stream_dead_letters_and_reconciliations(world):
    post_entries(institution=world.a, actor=world.accountant_a, drafts=[pair(DAY, "1.00"), pair(DAY, "2.00")])
    run_commit_checks()
    Stream.objects.create(institution=world.a, acked_seq=1, acked_at=timezone.now())
    dead_batch(world.a, 2, 2)
    Reconciliation.objects.create(institution=world.a, at=timezone.now(), up_to_seq=1, status=ReconStatus.MISMATCH,
                                  compared=2, mismatches=[{"period": "2026-03", "account": "7060"}])
    page = login(world.chief_a).get(reverse("dwh_export_status"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "signature_invalid" in text and "2–2" in text
    assert page.context["stream"]["last_seq"] == 2 and page.context["stream"]["acked_seq"] == 1
    assert page.context["stream"]["waiting"] == 1 and page.context["stream"]["dead"] == 1
    # the chief accountant may look but not order a resend
    assert reverse("dwh_export_resend") not in text
    assert ActionLog.objects.filter(user=world.chief_a, object_type="dwh_export").exists()


def test_status_page_needs_export_view(world):
    assert login(world.clerk_a).get(reverse("dwh_export_status")).status_code == 403


@pytest.mark.parametrize("language,title,empty", [("kk", "Экспорт күйі", "Жеткізілмеген пакеттер жоқ."),
                                                  ("ru", "Состояние экспорта", "Недоставленных пакетов нет.")])
def test_status_page_translated(world, language, title, empty):
    text = login(world.chief_a, language=language).get(reverse("dwh_export_status")).content.decode()
    assert title in text and empty in text
    assert "Export status" not in text and "No dead letters." not in text


def test_reconciliation_drill_down_and_tenant_isolation(world):
    result = Reconciliation.objects.create(
        institution=world.a, at=timezone.now(), up_to_seq=4, status=ReconStatus.MISMATCH, compared=3,
        mismatches=[{"period": "2026-03", "account": "7060", "ledger_debit": "10.00", "receiver_debit": "11.00",
                     "ledger_credit": "0", "receiver_credit": "0", "ledger_entries": 1, "receiver_entries": 1}])
    page = login(world.chief_a).get(reverse("dwh_export_reconciliation", args=[result.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "11.00" in text and "account=7060" in text and "date_from=2026-03-01" in text and "2026-03-31" in text
    assert login(world.accountant_b).get(reverse("dwh_export_reconciliation", args=[result.pk])).status_code == 404


def test_resend_needs_export_manage_and_is_journaled(world, admin_a):
    post_entries(institution=world.a, actor=world.accountant_a, drafts=[pair(DAY, "1.00"), pair(DAY, "2.00")])
    run_commit_checks()
    batch = dead_batch(world.a)
    url = reverse("dwh_export_resend")
    assert login(world.chief_a).post(url, {"seq": "1"}).status_code == 403
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.DEAD
    client = login(admin_a, world.a)
    answer = client.post(url, {"seq": "9"}, follow=True)
    assert "от 1 до 3" in answer.content.decode()  # Russian is the default language
    assert client.post(url, {"seq": "x"}, follow=True).status_code == 200
    client.post(url, {"seq": "2"})
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SUPERSEDED
    assert Stream.objects.get(institution=world.a).acked_seq == 1
    assert ActionLog.objects.filter(user=admin_a, object_type="dwh_stream", details="resend from seq 2").exists()


def test_retry_dead_letter(world, admin_a):
    batch = dead_batch(world.a)
    other = dead_batch(world.b)
    client = login(admin_a, world.a)
    assert client.post(reverse("dwh_export_retry", args=[other.pk])).status_code == 404
    client.post(reverse("dwh_export_retry", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (BatchStatus.PENDING, 0)


def test_reconcile_now_without_receiver_records_error(world, admin_a, monkeypatch):
    monkeypatch.setenv("DWH_EXPORT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("DWH_EXPORT_TIMEOUT", "2")
    answer = login(admin_a, world.a).post(reverse("dwh_export_reconcile"), follow=True)
    assert answer.status_code == 200
    assert Reconciliation.objects.get(institution=world.a).status == ReconStatus.ERROR


def test_status_api(world):
    post_entries(institution=world.a, actor=world.accountant_a, drafts=[pair(DAY, "1.00")])
    run_commit_checks()
    dead_batch(world.a, 1, 1)
    answer = login(world.chief_a, world.a).get("/api/v1/export/status/")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["last_seq"], body["acked_seq"], body["waiting"]) == (1, 0, 1)
    assert body["dead_letters"][0]["first_seq"] == 1
    assert login(world.clerk_a, world.a).get("/api/v1/export/status/").status_code == 403
