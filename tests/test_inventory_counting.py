# ruff: noqa: F811  (the `inv` fixture is imported, then named by the tests)
"""The scan contract devices/ calls: outcomes, idempotency by scan_ref, progress, closed counts."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from inventory import barcodes, counting, services
from inventory.models import CountItem, Scan

from .inventory_support import DAY, asset_line, inv  # noqa: F401

pytestmark = pytest.mark.django_db


def _count(inv, assets_per_location=(2, 1), **scope):
    lines = [asset_line(inv, name=f"Стол {i}", location=loc, cost="10000.00")
             for loc, n in enumerate(assets_per_location) for i in range(n)]
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1", lines=lines)
    count = services.create_count(institution=inv.a, actor=inv.operator, number="1", order_date=DAY,
                                  count_date=DAY, chairman="Директор", members=["Бухгалтер", "Завхоз"], **scope)
    return services.start_count(count=count, actor=inv.operator), assets


def test_found_repeated_other_location_unknown_other_institution(inv):
    count, assets = _count(inv)
    loc0, loc1 = inv.locations[0].id, inv.locations[1].id
    first = counting.record_scan(count=count, code=assets[0].barcode, location_id=loc0, scan_ref="d1:1")
    assert (first.status, first.asset_id, first.found, first.expected) == ("found", assets[0].id, 1, 2)
    assert assets[0].name in first.message
    again = counting.record_scan(count=count, code=assets[0].barcode, location_id=loc0, scan_ref="d1:2")
    assert (again.status, again.found, again.expected) == ("repeated", 1, 2)
    moved = counting.record_scan(count=count, code=assets[1].barcode, location_id=loc1, scan_ref="d1:3")
    assert moved.status == "other_location" and moved.asset_id == assets[1].id
    # progress of the scan's location: loc1's own item is not found yet
    assert (moved.found, moved.expected) == (0, 1)
    by_number = counting.record_scan(count=count, code=assets[2].inventory_number, location_id=loc1,
                                     scan_ref="d1:4")
    assert (by_number.status, by_number.found, by_number.expected) == ("found", 1, 1)
    unknown = counting.record_scan(count=count, code="4600000000001", location_id=loc1, scan_ref="d1:5")
    assert (unknown.status, unknown.asset_id) == ("unknown", None)
    foreign = barcodes.make(inv.b.bin, 5)
    other = counting.record_scan(count=count, code=foreign, location_id=loc1, scan_ref="d1:6")
    assert other.status == "other_institution"
    whole = counting.record_scan(count=count, code="zzz", location_id=None, scan_ref="d1:7")
    assert (whole.found, whole.expected) == (3, 3)
    item = CountItem.objects.get(count=count, asset=assets[1])
    assert item.found_location_id == loc1 and item.found_quantity == 1
    progress = {p["location_id"]: p for p in counting.count_progress(count)}
    assert (progress[loc0]["found"], progress[loc0]["expected"], progress[loc1]["found"]) == (2, 2, 1)
    assert progress[loc1]["found_elsewhere"] == 1 and progress[loc0]["repeated"] == 1


def test_same_scan_ref_counts_once_and_returns_first_outcome(inv):
    count, assets = _count(inv)
    first = counting.record_scan(count=count, code=assets[0].barcode, location_id=inv.locations[0].id,
                                 scan_ref="agent-7:42")
    replay = counting.record_scan(count=count, code=assets[0].barcode, location_id=inv.locations[0].id,
                                  scan_ref="agent-7:42")
    assert replay.status == "found" == first.status and replay.asset_id == first.asset_id
    assert Scan.objects.filter(count=count).count() == 1
    assert CountItem.objects.get(count=count, asset=assets[0]).scans == 1


def test_closed_count_answers_count_closed_and_writes_nothing(inv):
    count, assets = _count(inv)
    services.close_count(count=count, actor=inv.operator)
    outcome = counting.record_scan(count=count, code=assets[0].barcode, location_id=None, scan_ref="x:1")
    assert outcome.status == "count_closed"
    assert not Scan.objects.filter(count=count).exists()
    assert list(counting.open_counts(inv.a)) == []


def test_open_counts_are_the_institutions_in_progress(inv):
    count, _assets = _count(inv)
    assert list(counting.open_counts(inv.a)) == [count]
    assert list(counting.open_counts(inv.b)) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_of_one_asset_count_it_once(transactional_db):
    from .inventory_support import build_inv

    world = build_inv()
    count, assets = _count(world, assets_per_location=(1,))
    barrier = threading.Barrier(8)
    outcomes = []

    def scan(n):
        try:
            barrier.wait()
            outcomes.append(counting.record_scan(count=count, code=assets[0].barcode,
                                                 location_id=world.locations[0].id, scan_ref=f"dev{n}:1"))
            # and the same ref again from a resend
            outcomes.append(counting.record_scan(count=count, code=assets[0].barcode,
                                                 location_id=world.locations[0].id, scan_ref=f"dev{n}:1"))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(o.status for o in outcomes)
    assert statuses.count("found") == 2  # the winner and its resend
    assert statuses.count("repeated") == 14
    item = CountItem.objects.get(count=count, asset=assets[0])
    assert (item.found_quantity, item.scans) == (Decimal(1), 8)
    assert Scan.objects.filter(count=count).count() == 8

