# ruff: noqa: F811  (the `inv` fixture is imported, then named by the tests)
"""E-invoice (ЭСФ XML) import, all-or-nothing, and label sheets (Code 128 and QR)."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from access.errors import ControlError
from esep.imports import ImportRefused
from inventory import esf, labels, services
from inventory.models import Asset
from ledger.models import Counterparty, Posting

from .factories import make_bin
from .inventory_support import DAY, asset_line, inv  # noqa: F401

pytestmark = pytest.mark.django_db


def invoice_xml(customer: str, seller: str, *, reg="ESF-000123456", products=None, currency="KZT") -> bytes:
    products = products if products is not None else [
        ("Ноутбук Lenovo", "262013.000.000003", "шт", "2", "900000.00"),
        ("Проектор Epson", "267017.100.000000", "шт", "1", "250000.00"),
    ]
    items = "".join(
        f"<product><description>{d}</description><catalogTruId>{c}</catalogTruId>"
        f"<unitNomenclature>{u}</unitNomenclature><quantity>{q}</quantity><priceWithTax>{p}</priceWithTax></product>"
        for d, c, u, q, p in products)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<esf:invoiceContainer xmlns:esf="namespace.esf"><invoiceSet><invoice>'
        f"<num>17</num><date>10.03.2026</date><registrationNumber>{reg}</registrationNumber>"
        f"<sellers><seller><tin>{seller}</tin><name>ТОО «Техника»</name></seller></sellers>"
        f"<customers><customer><tin>{customer}</tin><name>Школа</name></customer></customers>"
        f"<productSet><currencyCode>{currency}</currencyCode><products>{items}</products></productSet>"
        "</invoice></invoiceSet></esf:invoiceContainer>").encode()


def _import(inv, data):
    return esf.import_esf(institution=inv.a, actor=inv.operator, data=data, account="2350", specific="414",
                          location_id=inv.locations[0].id, responsible_id=inv.persons[0].id, programme="003",
                          subprogramme="015")


def test_esf_invoice_becomes_a_receipt(inv):
    seller = make_bin("88")
    assets = _import(inv, invoice_xml(inv.a.bin, seller))
    assert [a.name for a in assets] == ["Ноутбук Lenovo", "Ноутбук Lenovo", "Проектор Epson"]
    assert assets[0].classifier_code == "262013.000.000003" and assets[0].cost == Decimal("450000.00")
    supplier = Counterparty.objects.get(institution=inv.a, iin_bin=seller)
    credit = Posting.objects.filter(asset_id__in=[a.id for a in assets], side="C")
    assert sum(p.amount for p in credit) == Decimal("1150000.00")
    assert {p.counterparty_id for p in credit} == {supplier.id}
    with pytest.raises(ImportRefused) as again:
        _import(inv, invoice_xml(inv.a.bin, seller))
    assert [p.rule for p in again.value.problems] == ["already_imported"]


def test_bad_invoice_refused_with_every_problem_and_nothing_written(inv):
    data = invoice_xml(inv.b.bin, "123456789012", currency="USD", products=[
        ("", "", "шт", "-1", "10.001"), ("Стул", "", "шт", "2", "abc")])
    with pytest.raises(ImportRefused) as refused:
        _import(inv, data)
    found = {(p.rule, p.row, p.column) for p in refused.value.problems}
    assert {("customer_mismatch", None, "customers/customer/tin"), ("seller_tin_invalid", None, "sellers/seller/tin"),
            ("currency", None, "productSet/currencyCode"), ("required", 1, "description"),
            ("quantity_invalid", 1, "quantity"), ("amount_invalid", 1, "priceWithTax"),
            ("amount_invalid", 2, "priceWithTax")} <= found
    assert refused.value.as_dict()["code"] == "import_refused"
    assert not Asset.objects.exists() and not Counterparty.objects.filter(source="esf").exists()
    for broken in (b"<invoice><num>1</num>", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><invoice/>'):
        with pytest.raises(ImportRefused) as refused:
            _import(inv, broken)
        assert refused.value.problems[0].rule in {"xml_malformed", "xml_dtd"}


def test_label_sheet_carries_codes_and_names(inv):
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1",
                                     lines=[asset_line(inv, name=f"Жиһаз {i}", cost="1000.00") for i in range(30)])
    pdf = labels.render(assets, labels.Layout(), header="Мектеп")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2  # 24 labels a page on the default 3×8 sheet
    text = reader.pages[0].extract_text()
    assert assets[0].barcode in text and "Жиһаз 0" in text and assets[0].inventory_number in text
    small = labels.render(assets[:4], labels.Layout(label_width=52.5, label_height=29.7, columns=4, rows=10,
                                                    symbology="qr"))
    assert len(PdfReader(io.BytesIO(small)).pages) == 1
    with pytest.raises(ControlError) as refused:
        labels.render(assets, labels.Layout(label_width=80, columns=3))
    assert refused.value.code == "layout_too_big"


def test_esf_api_answers_422_with_every_problem_or_201(inv):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    client = Client()
    client.force_login(inv.operator)
    form = {"account": "2350", "specific": "414", "location": inv.locations[0].id, "responsible": inv.persons[0].id,
            "programme": "003", "subprogramme": "015"}
    bad = client.post("/api/v1/inventory/e-invoice/", {
        **form, "file": SimpleUploadedFile("esf.xml", invoice_xml(inv.b.bin, make_bin("88")))})
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "import_refused" and body["errors"][0]["rule"] == "customer_mismatch"
    assert body["errors"][0]["column"] == "customers/customer/tin"
    good = client.post("/api/v1/inventory/e-invoice/", {
        **form, "file": SimpleUploadedFile("esf.xml", invoice_xml(inv.a.bin, make_bin("88")))})
    assert good.status_code == 201 and len(good.json()) == 3
    auditor = Client()
    auditor.force_login(inv.auditor)
    assert auditor.post("/api/v1/inventory/e-invoice/", form).status_code == 403
