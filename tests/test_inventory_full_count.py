# ruff: noqa: F811  (the `inv` fixture is imported, then named by the tests)
"""A full count over a book of 1,000 items with shortages, surpluses, misplaced items, repeated
scans and unknown codes: the statements' figures, the XLSX cells, the PDF text and the
postings of the commission's approval."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from access.errors import ControlError, PermissionRefused
from inventory import barcodes, counting, services, statements
from inventory.models import Asset, AssetStatus, CountStatus, ShortageDecision
from ledger.models import Posting

from .inventory_support import DAY, asset_line, inv  # noqa: F401

pytestmark = pytest.mark.django_db
COUNT_DAY = dt.date(2026, 5, 15)
DEPRECIATION = Decimal("104.17")  # 10 000 × 12.5 % / 12, April
BOOK = Decimal("10000.00") - DEPRECIATION


def _book(inv):
    per_location = (400, 350, 247)
    lines = [asset_line(inv, name=f"Парта {loc}", location=loc, person=loc % 2, cost=f"{n * 10000}.00", quantity=n)
             for loc, n in enumerate(per_location)]
    lines += [asset_line(inv, name=f"Бумага {i}", account="1316", specific="149", cost="50000.00", quantity=100,
                         unit="пачка", location=0) for i in range(3)]
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1000", lines=lines)
    assert len(assets) == 1000
    services.run_depreciation(institution=inv.a, actor=inv.operator, year=2026, month=4)
    return assets


def test_full_count_of_1000_items(inv):
    assets = _book(inv)
    fixed = [a for a in assets if a.account == "2350"]
    paper = [a for a in assets if a.account == "1316"]
    count = services.create_count(institution=inv.a, actor=inv.operator, number="7", order_date=COUNT_DAY,
                                  count_date=COUNT_DAY, chairman="Директор Ахметов", members=["Бухгалтер", "Завхоз"])
    count = services.start_count(count=count, actor=inv.operator)
    assert count.items.count() == 1000

    missing = fixed[:7]  # shortages; the last two written off by decision
    misplaced = fixed[100:105]  # booked at location 0, found at location 2
    ref = iter(range(1, 10_000))
    for asset in fixed[7:]:
        loc = asset.location_id if asset not in misplaced else inv.locations[2].id
        out = counting.record_scan(count=count, code=asset.barcode, location_id=loc, scan_ref=f"d:{next(ref)}")
        assert out.status == ("other_location" if asset in misplaced else "found")
    for asset in fixed[200:204]:  # repeated scans
        out = counting.record_scan(count=count, code=asset.barcode, location_id=asset.location_id,
                                   scan_ref=f"d:{next(ref)}")
        assert out.status == "repeated"
    for code in ("UNKNOWN-1", "UNKNOWN-2", "4870001234567"):
        assert counting.record_scan(count=count, code=code, location_id=inv.locations[1].id,
                                    scan_ref=f"d:{next(ref)}").status == "unknown"
    assert counting.record_scan(count=count, code=barcodes.make(inv.b.bin, 1), location_id=inv.locations[1].id,
                                scan_ref=f"d:{next(ref)}").status == "other_institution"
    # a resend of an earlier scan changes nothing
    assert counting.record_scan(count=count, code=fixed[7].barcode, location_id=None, scan_ref="d:1").status == "found"
    services.set_counted_quantity(count=count, actor=inv.operator, asset_id=paper[0].id, quantity=Decimal(95))
    services.set_counted_quantity(count=count, actor=inv.operator, asset_id=paper[1].id, quantity=Decimal(104))
    services.set_counted_quantity(count=count, actor=inv.operator, asset_id=paper[2].id, quantity=Decimal(100))
    services.register_surplus(count=count, actor=inv.operator, code="UNKNOWN-1", name="Принтер без номера",
                              account="2370", specific="414", location=inv.locations[1], responsible=inv.persons[1],
                              value=Decimal("25000.00"))
    progress = {p["location_id"]: p for p in counting.count_progress(count)}
    assert progress[inv.locations[0].id]["expected"] == 403
    assert progress[inv.locations[0].id]["found"] == 403 - 7
    with pytest.raises(PermissionRefused):  # the operator closes, the commission's chief approves
        services.approve_count(count=count, actor=inv.operator)
    count = services.close_count(count=count, actor=inv.operator)
    for asset in missing[5:]:
        services.set_shortage_decision(count=count, actor=inv.chief, asset_id=asset.id,
                                       decision=ShortageDecision.WRITE_OFF)

    result = statements.collation(count)
    shortages = {r.inventory_number: r for r in result.shortages}
    assert set(shortages) == {a.inventory_number for a in missing} | {paper[0].inventory_number}
    assert all(shortages[a.inventory_number].value == BOOK for a in missing)
    assert shortages[paper[0].inventory_number].value == Decimal("2500.00")  # 5 of 100 at 500
    assert [shortages[a.inventory_number].decision for a in missing] == ["recover"] * 5 + ["write_off"] * 2
    assert result.shortage_value == 7 * BOOK + Decimal("2500.00")
    surpluses = {r.inventory_number: r for r in result.surpluses}
    assert surpluses[paper[1].inventory_number].value == Decimal("2000.00")
    assert surpluses["UNKNOWN-1"].value == Decimal("25000.00")
    assert result.surplus_value == Decimal("27000.00")
    assert {r.inventory_number for r in result.found_elsewhere} == {a.inventory_number for a in misplaced}
    assert {r.code for r in result.repeated} == {a.barcode for a in fixed[200:204]}
    assert {r.code for r in result.unknown} == {"UNKNOWN-1", "UNKNOWN-2", "4870001234567", barcodes.make(inv.b.bin, 1)}
    listed = statements.inventory_list(count)
    assert len(listed) == 1000
    assert sum(r.book_value for r in listed) == 997 * BOOK + Decimal("150000.00")
    assert sum(r.actual_value for r in listed) == 990 * BOOK + Decimal("150000.00") - Decimal("2500.00") + \
        Decimal("2000.00")  # 95 and 104 packs at the unit book value of 500

    # XLSX: the cells of the collation statement (English: the developers' language; kk and ru below)
    with translation.override("en"):
        sheet = load_workbook(io.BytesIO(statements.collation_xlsx(count))).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    labels = [row[0] for row in values]
    start = labels.index("Shortages") + 2
    shortage_rows = values[start:start + 8]
    assert {r[0] for r in shortage_rows} == set(shortages)
    assert sum(Decimal(str(r[6])) for r in shortage_rows) == result.shortage_value
    total_row = values[start + 8]
    assert total_row[1] == "Total" and Decimal(str(total_row[6])) == result.shortage_value
    with translation.override("en"):
        list_sheet = load_workbook(io.BytesIO(statements.inventory_list_xlsx(count))).active
        assert list_sheet["A3"].value == "No." and list_sheet.max_row >= 1003
        # PDF: the text carries the figures
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(statements.collation_pdf(count))).pages)
    assert "Collation statement" in text and str(result.shortage_value) in text and "UNKNOWN-2" in text
    assert missing[0].inventory_number in text
    for language, title, section in (("kk", "Салыстыру ведомосы", "Жетіспеушіліктер"),
                                     ("ru", "Сличительная ведомость", "Недостачи")):
        with translation.override(language):
            cells = [r[0] for r in load_workbook(io.BytesIO(statements.collation_xlsx(count))).active.iter_rows(
                values_only=True)]
        assert cells[0] == title and section in cells

    # Approval posts the results.
    count = services.approve_count(count=count, actor=inv.chief)
    assert count.status == CountStatus.APPROVED
    sums: dict[tuple[str, str], Decimal] = {}
    for p in Posting.objects.filter(entry_id__in=count.entry_ids).select_related("account"):
        sums[(p.side, p.account.code)] = sums.get((p.side, p.account.code), Decimal(0)) + p.amount
    assert sums == {
        ("D", "1253"): 5 * BOOK + Decimal("2500.00"),  # recovered from the МОЛ
        ("D", "7130"): 2 * BOOK,  # written off by decision
        ("D", "2394"): 7 * DEPRECIATION,
        ("C", "2350"): Decimal("70000.00"),
        ("C", "1316"): Decimal("2500.00"),
        ("D", "1316"): Decimal("2000.00"),
        ("D", "2370"): Decimal("25000.00"),
        ("C", "6360"): Decimal("27000.00"),
    }
    assert {a.status for a in Asset.objects.filter(pk__in=[m.pk for m in missing])} == {AssetStatus.WRITTEN_OFF}
    p0, p1 = Asset.objects.get(pk=paper[0].pk), Asset.objects.get(pk=paper[1].pk)
    assert (p0.quantity, p0.cost, p1.quantity, p1.cost) == (95, Decimal("47500.00"), 104, Decimal("52000.00"))
    printer = Asset.objects.get(institution=inv.a, name="Принтер без номера")
    assert printer.barcode == "UNKNOWN-1" and printer.cost == Decimal("25000.00")
    with pytest.raises(ControlError):
        services.approve_count(count=count, actor=inv.chief)


def test_scope_and_freeze(inv):
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1", lines=[
        asset_line(inv, location=0), asset_line(inv, location=1), asset_line(inv, location=1, account="2370")])
    count = services.create_count(institution=inv.a, actor=inv.operator, number="8", order_date=DAY, count_date=DAY,
                                  chairman="Директор", members=["А", "Б"], locations=[inv.locations[1].id],
                                  accounts=["2350"])
    count = services.start_count(count=count, actor=inv.operator)
    assert [i.asset_id for i in count.items.all()] == [assets[1].id]
    # out of the scope: this institution's asset, reported as belonging elsewhere
    assert counting.record_scan(count=count, code=assets[0].barcode, location_id=inv.locations[1].id,
                                scan_ref="s:1").status == "other_location"
    # an asset in a count cannot move until the count is approved
    with pytest.raises(ControlError) as refused:
        services.transfer_asset(asset=assets[1], actor=inv.operator, date=DAY, document="П", location=inv.locations[0])
    assert refused.value.code == "asset_in_count"
    with pytest.raises(ControlError):
        services.start_count(count=count, actor=inv.operator)
