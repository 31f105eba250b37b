# ruff: noqa: F811  (the `inv` fixture is imported, then named by the tests)
"""Inventory pages and API: who sees what, the count workflow through the pages, downloads,
tenant isolation (another institution's asset or count is a 404)."""

import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from inventory import counting, services
from inventory.models import Asset, CountStatus, InventoryCount

from .inventory_support import DAY, asset_line, inv  # noqa: F401

pytestmark = pytest.mark.django_db


def client_for(user, language="ru") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def test_register_receipt_and_asset_pages(inv):
    operator = client_for(inv.operator)
    page = operator.get("/inventory/")
    assert page.status_code == 200
    answer = operator.post("/inventory/receipt/", {
        "date": DAY.isoformat(), "document": "Н-11", "name": "Интерактивная доска", "quantity": "2", "unit": "шт",
        "cost": "800000.00", "account": "2350", "specific": "414", "programme": "003", "subprogramme": "015",
        "funding_source": "budget_local", "location": inv.locations[0].pk, "responsible": inv.persons[0].pk})
    assert answer.status_code == 302
    made = Asset.objects.filter(institution=inv.a, name="Интерактивная доска")
    assert made.count() == 2
    detail = operator.get(answer["Location"])
    assert detail.status_code == 200 and "Интерактивная доска" in detail.content.decode()
    bad = operator.post("/inventory/receipt/", {"date": DAY.isoformat(), "document": "Н-12", "name": "",
                                                "quantity": "1", "cost": "-5", "account": "2350", "specific": "414",
                                                "programme": "003", "subprogramme": "015",
                                                "location": inv.locations[0].pk, "responsible": inv.persons[0].pk})
    assert bad.status_code == 422
    labels = operator.post("/inventory/labels/", {"asset": [a.pk for a in made], "symbology": "both"})
    assert labels.status_code == 200 and labels["Content-Type"] == "application/pdf"
    # the auditor reads, the other institution's operator gets 404, nobody else writes
    auditor = client_for(inv.auditor)
    assert auditor.get(f"/inventory/assets/{made[0].pk}/").status_code == 200
    assert auditor.post("/inventory/receipt/", {}).status_code == 403
    assert client_for(inv.operator_b).get(f"/inventory/assets/{made[0].pk}/").status_code == 404
    api = client_for(inv.operator_b).get(f"/api/v1/inventory/assets/{made[0].pk}/")
    assert api.status_code == 404
    listed = operator.get("/api/v1/inventory/assets/").json()
    assert {row["inventory_number"] for row in listed["results"]} == {a.inventory_number for a in made}


def test_count_workflow_through_pages(inv):
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1",
                                     lines=[asset_line(inv, location=i % 2, cost="5000.00") for i in range(6)])
    operator, chief = client_for(inv.operator, "kk"), client_for(inv.chief, "kk")
    created = operator.post("/inventory/counts/", {
        "number": "15", "order_date": DAY.isoformat(), "count_date": DAY.isoformat(), "chairman": "Директор",
        "members": "Бухгалтер\nЗавхоз", "shortage_decision": "recover"})
    assert created.status_code == 302
    count = InventoryCount.objects.get(institution=inv.a, number="15")
    assert operator.post(f"/inventory/counts/{count.pk}/start/").status_code == 302
    for n, asset in enumerate(assets[:5]):
        counting.record_scan(count=count, code=asset.barcode, location_id=asset.location_id, scan_ref=f"p:{n}")
    progress = operator.get(f"/inventory/counts/{count.pk}/progress/")
    assert progress.status_code == 200 and 'hx-trigger="every 3s"' in progress.content.decode()
    api = operator.get(f"/api/v1/inventory/counts/{count.pk}/progress/").json()
    assert sorted((p["found"], p["expected"]) for p in api) == [(2, 3), (3, 3)]
    assert operator.post(f"/inventory/counts/{count.pk}/close/").status_code == 302
    page = chief.get(f"/inventory/counts/{count.pk}/")
    assert page.status_code == 200 and assets[5].inventory_number in page.content.decode()
    xlsx = chief.get(f"/inventory/counts/{count.pk}/files/collation.xlsx")
    assert xlsx.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True) for c in row]
    assert assets[5].inventory_number in cells
    assert chief.get(f"/inventory/counts/{count.pk}/files/inventory-list.pdf").content.startswith(b"%PDF")
    assert operator.post(f"/inventory/counts/{count.pk}/approve/").status_code == 403
    assert chief.post(f"/inventory/counts/{count.pk}/approve/").status_code == 302
    count.refresh_from_db()
    assert count.status == CountStatus.APPROVED and count.entry_ids
    assert client_for(inv.operator_b).get(f"/inventory/counts/{count.pk}/").status_code == 404


def test_other_pages_render(inv):
    operator = client_for(inv.operator)
    for url in ("/inventory/reference/", "/inventory/depreciation/", "/inventory/counts/", "/inventory/e-invoice/",
                "/inventory/receipt/"):
        assert operator.get(url).status_code == 200, url
    assert operator.post("/inventory/reference/", {"kind": "location", "code": "Z1", "name": "Зал"}).status_code == 302
    assert operator.post("/inventory/depreciation/", {"year": "2026", "month": "4"}).status_code == 302
