# ruff: noqa: F811  (the `inv` fixture is imported, then named by the tests)
"""The register's operations: receipt, transfer, write-off, depreciation; each posts through the
posting schemes and is all-or-nothing; the database holds uniqueness and tenant isolation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from access.errors import ControlError, PermissionRefused
from inventory import barcodes, services
from inventory.models import Asset, AssetOperation, AssetStatus
from ledger.models import Counterparty, Posting
from ledger.services import close_period

from .factories import make_bin
from .inventory_support import DAY, asset_line, inv  # noqa: F401

pytestmark = pytest.mark.django_db


def postings(entry_ids) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = {}
    for p in Posting.objects.filter(entry_id__in=entry_ids).select_related("account"):
        sums[(p.side, p.account.code)] = sums.get((p.side, p.account.code), Decimal(0)) + p.amount
    return sums


def test_receipt_registers_assets_and_posts_debit_asset_credit_supplier(inv):
    supplier = Counterparty.objects.create(institution=inv.a, iin_bin=make_bin("77"), name="ТОО Поставщик")
    assets = services.receive_assets(
        institution=inv.a, actor=inv.operator, date=DAY, document="ЭСФ-1", supplier_id=supplier.id,
        lines=[asset_line(inv, quantity=3, cost="1000000.00", classifier_code="262013.000.000003"),
               asset_line(inv, name="Бумага А4", account="1316", specific="149", cost="45000.00", quantity=30,
                          unit="пачка")])
    assert len(assets) == 4  # three laptops (one per object) and one stock line
    laptops = [a for a in assets if a.account == "2350"]
    assert sorted(a.cost for a in laptops) == [Decimal("333333.33"), Decimal("333333.33"), Decimal("333333.34")]
    assert all(barcodes.owner_bin(a.barcode) == inv.a.bin for a in assets)
    assert len({a.inventory_number for a in assets}) == 4
    entry_ids = AssetOperation.objects.filter(asset__in=assets).values_list("entry_id", flat=True).distinct()
    sums = postings(list(entry_ids))
    assert sums == {("D", "2350"): Decimal("1000000.00"), ("D", "1316"): Decimal("45000.00"),
                    ("C", "3210"): Decimal("1045000.00")}
    lines = Posting.objects.filter(entry_id__in=entry_ids, side="D")
    assert {p.asset_id for p in lines} == {a.id for a in assets}
    assert {p.counterparty_id for p in lines} == {supplier.id}


def test_grant_financed_asset_must_name_its_grant(inv):
    with pytest.raises(ControlError) as refused:
        services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Г-1",
                                lines=[asset_line(inv, funding_source="grant")])
    assert refused.value.code == "grant_required" and refused.value.field == "lines[0].grant"
    grant = services.create_grant(institution=inv.a, actor=inv.operator, donor="ЮНИСЕФ", agreement_number="G-7",
                                  agreement_date=dt.date(2026, 1, 5))
    (asset,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Г-1",
                                       lines=[asset_line(inv, funding_source="grant", grant_id=grant.id)])
    assert asset.grant.donor == "ЮНИСЕФ"
    # the database holds the rule too
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(grant=None)


def test_refused_receipt_writes_nothing(inv):
    close_period(period=inv.a.periods.get(year=2026, month=3), actor=inv.chief)
    with pytest.raises(ControlError) as refused:
        services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-9",
                                lines=[asset_line(inv)])
    assert refused.value.code in {"period_closed", "FLC-PER-001"}
    assert not Asset.objects.filter(institution=inv.a).exists()
    assert not AssetOperation.objects.exists()


def test_bad_lines_are_refused_with_every_fault_named(inv):
    with pytest.raises(ControlError) as refused:
        services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-2", lines=[
            services.AssetInput(name="", account="9999", specific="414", location_id=inv.location_b.id,
                                responsible_id=inv.persons[0].id, cost=Decimal("-1"), quantity=Decimal("1.5"))])
    fields = {e.field for e in refused.value.errors}
    assert {"lines[0].name", "lines[0].account", "lines[0].location", "lines[0].cost",
            "lines[0].quantity"} <= fields
    assert not Asset.objects.exists()


def test_another_institutions_operator_is_refused(inv):
    with pytest.raises(PermissionRefused):
        services.receive_assets(institution=inv.a, actor=inv.operator_b, date=DAY, document="Н-3",
                                lines=[asset_line(inv)])
    with pytest.raises(PermissionRefused):
        services.receive_assets(institution=inv.a, actor=inv.auditor, date=DAY, document="Н-3",
                                lines=[asset_line(inv)])


def test_inventory_number_and_barcode_unique_per_institution_and_tenant_keys(inv):
    (asset,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-4",
                                       lines=[asset_line(inv, inventory_number="ОС-1")])
    with pytest.raises(ControlError) as refused:
        services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-5",
                                lines=[asset_line(inv, inventory_number="ОС-1")])
    assert refused.value.code == "duplicate"
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(**{**_fields(asset), "barcode": "other"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(**{**_fields(asset), "inventory_number": "ОС-2"})
    # the same number in another institution is fine
    services.receive_assets(institution=inv.b, actor=inv.operator_b, date=DAY, document="Н-4", lines=[
        services.AssetInput(name="Стол", account="2370", specific="414", location_id=inv.location_b.id,
                            responsible_id=inv.person_b.id, cost=Decimal("5000"), inventory_number="ОС-1",
                            programme="024", subprogramme="015")])
    # a location of another institution is refused by the database (composite foreign key)
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(location=inv.location_b)


def _fields(asset):
    return {f.attname: getattr(asset, f.attname) for f in Asset._meta.concrete_fields
            if f.attname not in ("id", "created_at")}


def test_transfer_moves_without_posting(inv):
    (asset,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-6",
                                       lines=[asset_line(inv)])
    before = Posting.objects.count()
    moved = services.transfer_asset(asset=asset, actor=inv.operator, date=DAY, document="П-1",
                                    location=inv.locations[2], responsible=inv.persons[1])
    assert (moved.location_id, moved.responsible_id) == (inv.locations[2].id, inv.persons[1].id)
    assert Posting.objects.count() == before
    op = AssetOperation.objects.get(asset=asset, kind="transfer")
    assert (op.from_location_id, op.to_location_id) == (inv.locations[0].id, inv.locations[2].id)
    with pytest.raises(ControlError):
        services.transfer_asset(asset=asset, actor=inv.operator, date=DAY, document="П-2", location=inv.location_b)


def test_depreciation_monthly_straight_line_once_then_write_off(inv):
    (asset,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-7",
                                       lines=[asset_line(inv, cost="120000.00")])
    march = services.run_depreciation(institution=inv.a, actor=inv.operator, year=2026, month=3)
    assert (march.assets, march.total) == (0, 0)  # acquired in March: from the next month
    april = services.run_depreciation(institution=inv.a, actor=inv.operator, year=2026, month=4)
    assert april.total == Decimal("1250.00")  # 120 000 × 12.5 % / 12
    assert postings([april.entry_id]) == {("D", "7030"): Decimal("1250.00"), ("C", "2394"): Decimal("1250.00")}
    with pytest.raises(ControlError) as refused:
        services.run_depreciation(institution=inv.a, actor=inv.operator, year=2026, month=4)
    assert refused.value.code == "depreciation_done"
    asset.refresh_from_db()
    assert asset.accumulated_depreciation == Decimal("1250.00")
    done = services.write_off_asset(asset=asset, actor=inv.operator, date=dt.date(2026, 5, 4), document="А-1",
                                    reason="Сломан")
    assert done.status == AssetStatus.WRITTEN_OFF and done.cost == 0
    op = AssetOperation.objects.get(asset=asset, kind="write_off")
    assert postings([op.entry_id]) == {("D", "2394"): Decimal("1250.00"), ("D", "7130"): Decimal("118750.00"),
                                       ("C", "2350"): Decimal("120000.00")}
    with pytest.raises(ControlError):
        services.write_off_asset(asset=asset, actor=inv.operator, date=dt.date(2026, 5, 4), document="А-2",
                                 reason="again")


def test_stock_written_off_in_part(inv):
    (paper,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-8", lines=[
        asset_line(inv, name="Бумага", account="1316", specific="149", cost="45000.00", quantity=30)])
    services.write_off_asset(asset=paper, actor=inv.operator, date=DAY, document="А-3", reason="В расход",
                             quantity=Decimal(10))
    paper.refresh_from_db()
    assert (paper.quantity, paper.cost, paper.status) == (Decimal(20), Decimal("30000.00"), AssetStatus.IN_USE)
    op = AssetOperation.objects.get(asset=paper, kind="write_off")
    assert postings([op.entry_id]) == {("D", "7060"): Decimal("15000.00"), ("C", "1316"): Decimal("15000.00")}


def test_database_refuses_edits_of_operations_and_backward_count_states(inv):
    from django.db import DatabaseError

    from inventory.models import InventoryCount

    (asset,) = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-9",
                                       lines=[asset_line(inv)])
    with pytest.raises(DatabaseError), transaction.atomic():
        AssetOperation.objects.filter(asset=asset).update(amount=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AssetOperation.objects.filter(asset=asset).delete()
    count = services.create_count(institution=inv.a, actor=inv.operator, number="1", order_date=DAY, count_date=DAY,
                                  chairman="Директор", members=["А", "Б"])
    with pytest.raises(DatabaseError), transaction.atomic():
        InventoryCount.objects.filter(pk=count.pk).update(status="approved")  # skipping the count
    services.start_count(count=count, actor=inv.operator)
    with pytest.raises(DatabaseError), transaction.atomic():
        InventoryCount.objects.filter(pk=count.pk).update(status="draft")  # unfreezing
