"""The inventory demo loads on top of the ledger demo, posts, and leaves a count in progress."""

import datetime as dt

import pytest

from inventory import counting, demo
from inventory.models import Asset, CountStatus, InventoryCount
from ledger.demo import SCHOOL, load_demo

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 4, 20)


def test_demo_loads_once_with_a_count_in_progress():
    load_demo(entries_per_month=2, today=TODAY)
    summary = demo.load_app_demo(today=TODAY)
    assert summary and "in progress" in summary
    assert demo.load_app_demo(today=TODAY) is None  # idempotent
    school = Asset.objects.filter(institution__bin=SCHOOL.bin)
    assert school.count() == 57 and school.filter(funding_source="grant", grant__isnull=False).count() == 3
    count = InventoryCount.objects.get(institution__bin=SCHOOL.bin)
    assert count.status == CountStatus.IN_PROGRESS
    progress = counting.count_progress(count)
    found, expected = sum(p["found"] for p in progress), sum(p["expected"] for p in progress)
    assert expected == 57 and 0 < found < expected
