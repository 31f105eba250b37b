"""The scanner pages: registry, scan page (and its JSON submit), batch upload, review of
flagged scans; capabilities and tenants."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from access.models import ActionLog
from devices.models import Device, Scan, ScanReview
from inventory.models import Scan as CountScan

from .devices_support import PASSWORD, build_scanning, wrong_ean13

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanning(world):
    return build_scanning(world)


def login(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=PASSWORD if user.username.startswith("operator")
                        else "correct-horse-battery")
    return client


def test_registry_registers_shows_the_token_once_and_revokes(scanning):
    s = scanning
    client = login(s.operator)
    page = client.get("/devices/")
    assert page.status_code == 200 and "Сканер 1" in page.content.decode()
    created = client.post("/devices/", {"label": "COM-3", "kind": "serial", "port": "/dev/ttyS3", "baud": 19200,
                                        "parity": "E", "prefix": "", "suffix": "", "terminator": "CRLF",
                                        "codepage": "cp1251"})
    assert created.status_code == 200
    device = Device.objects.get(label="COM-3")
    token = created.context["token"]
    assert token in created.content.decode() and device.token_hash != token and device.baud == 19200
    assert "COM-3" in client.get("/devices/").content.decode()
    assert token not in client.get("/devices/").content.decode()
    duplicate = client.post("/devices/", {"label": "COM-3", "kind": "serial", "baud": 9600, "parity": "N",
                                          "terminator": "CR", "codepage": "ascii"})
    assert "already exists" in duplicate.content.decode()
    assert client.post(f"/devices/{device.pk}/revoke/").status_code == 302
    assert not Device.objects.get(pk=device.pk).active
    assert ActionLog.objects.filter(object_type="device", object_id=str(device.pk)).count() == 2


def test_other_tenants_and_readers_cannot_touch_devices(scanning):
    s = scanning
    other = login(s.operator_b)
    assert other.get(f"/devices/{s.device.pk}/").status_code == 404
    assert other.post(f"/devices/{s.device.pk}/revoke/").status_code == 404
    auditor = login(s.world.auditor_a)
    assert auditor.get("/devices/").status_code == 200
    assert auditor.get("/devices/review/").status_code == 200
    assert auditor.get("/devices/scan/").status_code == 403
    assert auditor.post(f"/devices/{s.device.pk}/revoke/").status_code == 403
    assert Device.objects.get(pk=s.device.pk).active
    assert login(s.world.clerk_a).get("/devices/").status_code == 403
    # an accountant reads the registry but cannot register a scanner through it
    accountant = login(s.world.accountant_a)
    assert accountant.get("/devices/").status_code == 200
    assert accountant.post("/devices/", {"label": "X", "kind": "serial", "baud": 9600, "parity": "N",
                                         "terminator": "CR", "codepage": "ascii"}).status_code == 403
    assert accountant.post("/devices/review/").status_code == 405
    assert not Device.objects.filter(label="X").exists()


def test_scan_page_submits_once_per_ref(scanning):
    s = scanning
    client = login(s.operator)
    page = client.get("/devices/scan/")
    assert page.status_code == 200 and 'id="scan-code"' in page.content.decode()
    counts = page.context["counts"]
    assert [c["id"] for c in counts] == [s.count.pk]
    assert [loc["name"] for loc in counts[0]["locations"]] == [loc.name for loc in s.locations]

    def submit(ref, code, location=None):
        return client.post("/devices/scan/submit/", json.dumps({"ref": ref, "code": code, "count": s.count.pk,
                                                                 "location": location}),
                           content_type="application/json").json()

    first = submit("abcdef01", s.code(0), s.assets[0].location_id)
    assert first["status"] == "found" and first["expected"] >= 1 and first["found"] == 1
    assert submit("abcdef01", s.code(0))["duplicate"] is True
    assert submit("abcdef02", s.code(0))["status"] == "repeated"
    assert submit("abcdef03", "ZZZ")["status"] == "unknown"
    assert client.post("/devices/scan/submit/", "{", content_type="application/json").status_code == 400
    assert CountScan.objects.filter(count=s.count).count() == 3
    assert Scan.objects.filter(source="wedge", user=s.operator).count() == 3


def test_review_lists_flagged_scans_and_records_the_review(scanning):
    s = scanning
    client = login(s.operator)
    client.post("/devices/scan/submit/", json.dumps({"ref": "rev00001", "code": wrong_ean13("460000000001")}),
                content_type="application/json")
    client.post("/devices/scan/submit/", json.dumps({"ref": "rev00002", "code": s.code(0)}),
                content_type="application/json")
    page = client.get("/devices/review/").content.decode()
    assert 'data-flag="bad_check_digit"' in page and 'data-flag="found"' not in page
    scan = Scan.objects.get(flag="bad_check_digit")
    assert client.post(f"/devices/review/{scan.pk}/", {"note": ""}).status_code == 302
    assert not ScanReview.objects.exists()
    client.post(f"/devices/review/{scan.pk}/", {"note": "label reprinted"})
    assert ScanReview.objects.get(scan=scan).note == "label reprinted"
    assert 'data-flag="bad_check_digit"' not in client.get("/devices/review/").content.decode()
    assert "label reprinted" in client.get("/devices/review/?show=all").content.decode()


def test_batch_page_shows_every_problem_and_loads_nothing(scanning):
    s = scanning
    client = login(s.operator)
    bad = f"code,location\n{s.code(0)},101\n\x01\x02,101\n{s.code(1)},999\n".encode()
    page = client.post("/devices/batch/", {"count": s.count.pk, "file": SimpleUploadedFile("t.csv", bad)})
    html = page.content.decode()
    assert page.status_code == 200 and "BATCH-002" in html and "BATCH-005" in html and 'id="batch-refused"' in html
    assert Scan.objects.count() == 0
    good = f"code,location\n{s.code(0)},101\n{s.code(1)},102\n".encode()
    page = client.post("/devices/batch/", {"count": s.count.pk, "file": SimpleUploadedFile("t.csv", good)})
    assert 'id="batch-result"' in page.content.decode()
    assert Scan.objects.filter(source="batch").count() == 2


def test_demo_registers_the_school_scanners_once(world):
    from devices import demo

    from .devices_support import make_operator

    operator = make_operator("school.inventory", "8", world.a)
    assert demo.load_app_demo() == f"3 scanners registered at {world.a}"
    assert demo.load_app_demo() is None
    assert sorted(Device.objects.filter(institution=world.a).values_list("kind", flat=True)) == [
        "batch", "serial", "wedge"]
    assert all(d.active for d in Device.objects.all()) and operator.is_active
