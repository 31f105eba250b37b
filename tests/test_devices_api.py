"""The scanner API against the real count: device tokens, the raw scan store counted once per
(device, seq), flags for lines that cannot count, tenant isolation, batch files."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from devices import services
from devices.models import Device, Scan
from inventory.models import CountItem
from inventory.models import Scan as CountScan

from .devices_support import build_scanning, ean13, wrong_ean13

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanning(world):
    return build_scanning(world)


def device_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def send(client, device, *scans):
    response = client.post("/api/v1/devices/scans/", {"device": device.pk, "scans": list(scans)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_found_repeated_unknown_and_other_institution(scanning):
    s, client = scanning, device_client(scanning.token)
    loc = s.assets[0].location_id
    from inventory import barcodes

    results = send(client, s.device,
                   {"seq": 1, "raw": s.code(0), "location": loc},
                   {"seq": 2, "raw": s.code(0), "location": loc},
                   {"seq": 3, "raw": "NO-SUCH-CODE"},
                   {"seq": 4, "raw": barcodes.make(s.world.b.bin, 1)},
                   {"seq": 5, "raw": s.code(1), "location": loc})
    assert [r["status"] for r in results] == ["found", "repeated", "unknown", "other_institution", "other_location"]
    assert results[0]["asset_name"] == s.assets[0].name
    assert results[0]["expected"] == CountItem.objects.filter(count=s.count, location_id=loc).count()
    assert results[0]["found"] == 1
    assert Scan.objects.filter(device=s.device).count() == 5
    assert CountItem.objects.get(count=s.count, asset=s.assets[0]).found_quantity == 1
    assert services.with_activity(Device.objects.filter(pk=s.device.pk)).get().last_seq == 5


def test_a_resent_scan_is_stored_and_counted_once(scanning):
    s, client = scanning, device_client(scanning.token)
    first = send(client, s.device, {"seq": 10, "raw": s.code(2)})[0]
    again = send(client, s.device, {"seq": 10, "raw": s.code(2)}, {"seq": 11, "raw": s.code(3)})
    assert first["status"] == "found" and not first["duplicate"]
    assert again[0]["duplicate"] is True and again[0]["status"] == "found" and again[0]["id"] == first["id"]
    assert again[1]["status"] == "found"
    assert Scan.objects.filter(device=s.device, seq=10).count() == 1
    assert CountScan.objects.filter(count=s.count).count() == 2
    assert CountItem.objects.get(count=s.count, asset=s.assets[2]).scans == 1


def test_lines_that_cannot_count_are_flagged_and_kept(scanning):
    s, client = scanning, device_client(scanning.token)
    results = send(client, s.device,
                   {"seq": 1, "raw": "\x1b[2J\x07"},
                   {"seq": 2, "raw": s.code(0)[:7], "partial": True},
                   {"seq": 3, "raw": wrong_ean13("460000000001")},
                   {"seq": 4, "raw": "абв\ufffd", "noise": True},
                   {"seq": 5, "raw": ""},
                   {"seq": 6, "raw": ean13("460000000001")},
                   {"seq": "x", "raw": "1"},
                   {"seq": 7, "raw": s.code(0), "location": 999999})
    assert [r["status"] for r in results] == ["noise", "partial", "bad_check_digit", "noise", "noise", "unknown",
                                              "rejected", "error"]
    assert "seq" in results[6]["message"]
    kept = Scan.objects.filter(device=s.device).order_by("seq")
    assert [k.flag for k in kept] == ["noise", "partial", "bad_check_digit", "noise", "noise", "unknown", "error"]
    assert kept[0].raw == "\x1b[2J\x07"  # stored as received
    # only the well-formed EAN reached the count
    assert list(CountScan.objects.filter(count=s.count).values_list("status", flat=True)) == ["unknown"]


def test_the_raw_scan_store_is_append_only(scanning):
    s = scanning
    send(device_client(s.token), s.device, {"seq": 1, "raw": s.code(0)})
    from django.db import transaction
    from django.db.utils import IntegrityError, InternalError

    for statement in ("UPDATE devices_scan SET code = 'x'", "DELETE FROM devices_scan"):
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Scan.objects.get().code == s.code(0)


def test_tokens_are_hashed_revocable_and_bound_to_their_device(scanning):
    s = scanning
    stored = Device.objects.get(pk=s.device.pk)
    assert s.token not in stored.token_hash and stored.token_hash == services.hash_token(s.token)
    other, _token = services.create_device(actor=s.operator, institution=s.world.a, label="Сканер 2")
    response = device_client(s.token).post("/api/v1/devices/scans/", {"device": other.pk, "seq": 1, "raw": "x"},
                                           format="json")
    assert response.status_code == 403
    assert device_client("forged").get("/api/v1/devices/me/").status_code == 401
    me = device_client(s.token).get("/api/v1/devices/me/")
    assert me.status_code == 200 and me.json()["port"] == "/dev/ttyUSB0" and me.json()["terminator"] == "CR"
    services.revoke_token(actor=s.operator, device=stored)
    assert device_client(s.token).post("/api/v1/devices/scans/", {"seq": 2, "raw": "x"},
                                       format="json").status_code == 401
    fresh = services.issue_token(actor=s.operator, device=stored)
    assert send(device_client(fresh), stored, {"seq": 2, "raw": s.code(0)})[0]["status"] == "found"


def test_no_open_count_keeps_the_scan(world):
    s = build_scanning(world, start=False)
    result = send(device_client(s.token), s.device, {"seq": 1, "raw": s.code(0)})[0]
    assert result["status"] == "no_count" and result["message"]
    assert Scan.objects.get().flag == "no_count"


def test_registry_api_is_tenant_scoped_and_capability_checked(scanning):
    s = scanning
    operator = APIClient()
    operator.force_authenticate(s.operator)
    created = operator.post("/api/v1/devices/devices/", {"label": "ТСД 1", "kind": "batch", "codepage": "cp1251"},
                            format="json")
    assert created.status_code == 201, created.content
    assert len(created.json()["token"]) > 30
    assert operator.post("/api/v1/devices/devices/", {"label": "ТСД 1", "codepage": "koi9"},
                         format="json", HTTP_ACCEPT_LANGUAGE="en").status_code == 422
    other = APIClient()
    other.force_authenticate(s.operator_b)
    assert other.get(f"/api/v1/devices/devices/{s.device.pk}/").status_code == 404
    assert other.post(f"/api/v1/devices/devices/{s.device.pk}/revoke/").status_code == 404
    auditor = APIClient()
    auditor.force_authenticate(s.world.auditor_a)
    assert auditor.get("/api/v1/devices/devices/").status_code == 200
    assert auditor.post(f"/api/v1/devices/devices/{s.device.pk}/revoke/").status_code == 403
    assert Device.objects.get(pk=s.device.pk).active
    send(device_client(s.token), s.device, {"seq": 1, "raw": "NOPE"})
    flagged = auditor.get("/api/v1/devices/log/?review=1").json()
    assert [row["flag"] for row in flagged["results"]] == ["unknown"]
    assert other.get("/api/v1/devices/log/").json()["results"] == []


def test_batch_upload_all_or_nothing(scanning):
    s = scanning
    operator = APIClient()
    operator.force_authenticate(s.operator)
    loc = s.locations[0]
    bad = (f"code;scanned_at;location\n{s.code(0)};2026-10-15 10:00:00;{loc.code}\n"
           f"{wrong_ean13('460000000001')};15.10.2026 10:01:00;{loc.name}\n"
           f"{s.code(1)};yesterday;{loc.pk}\n;2026-10-15 10:02:00;\n{s.code(2)};;Склад 9\n").encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    refused = operator.post("/api/v1/devices/batches/", {"count": s.count.pk, "file": SimpleUploadedFile(
        "dump.csv", bad)}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "import_refused"
    assert [(e["row"], e["column"], e["rule"]) for e in body["errors"]] == [
        (3, "code", "BATCH-003"), (4, "scanned_at", "BATCH-004"), (5, "code", "BATCH-001"),
        (6, "location", "BATCH-005")]
    assert Scan.objects.count() == 0 and CountScan.objects.count() == 0
    good = "\r\n".join([s.code(0), f"{s.code(0)}\t2026-10-15 10:00:00", "UNKNOWN-1", ""]).encode("cp1251")
    loaded = operator.post("/api/v1/devices/batches/", {"count": s.count.pk, "file": SimpleUploadedFile(
        "dump.txt", good)}, format="multipart")
    assert loaded.status_code == 201, loaded.content
    assert loaded.json()["outcomes"] == {"found": 1, "repeated": 1, "unknown": 1}
    again = operator.post("/api/v1/devices/batches/", {"count": s.count.pk, "file": SimpleUploadedFile(
        "dump-copy.txt", good)}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 422 and again.json()["code"] == "already_loaded"
    assert CountScan.objects.filter(count=s.count).count() == 3
