"""Scans of a count in progress: the contract the scanner side (devices/) calls.

    open_counts(institution)                         counts in progress, for scan pages to choose
    record_scan(count=, code=, location_id=, scan_ref=, device_label=, scanned_at=) -> ScanOutcome
    count_progress(count)                            found / expected per location, for pages

Guarantees:
- a scan is counted once: `scan_ref` (device id and sequence number) is unique per count
  (constraint inv_scan_ref_unique); the same scan_ref again returns the first outcome and
  changes nothing, also when the two arrive at the same moment (the second insert waits for
  the first's commit on the unique index, then reads it)
- concurrent scans of one asset from many devices serialise on the asset's CountItem row
  (UPDATE takes its lock): one is "found", the rest "repeated"; found never exceeds expected
- a scan never changes a count that is not in progress: it reads the count's status under a
  FOR SHARE lock, and closing takes FOR UPDATE, so a close waits for scans in flight and every
  scan after it answers "count_closed"
- cost: five indexed statements, no ORM model instantiation (≈1–2 ms on the bench machine)

Statuses, in the order they are decided:
  count_closed       the count is not in progress (nothing is written)
  found              an asset of the count's book, first time (or within its book quantity)
  repeated           the asset was already counted up to its book quantity
  other_location     an asset of this institution scanned away from its book location, or an
                     asset outside this count's scope (counted as found where the book says)
  other_institution  a label in the register's layout carrying another institution's BIN
  unknown            any other code: kept for the commission (surplus or a stray label)
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import barcodes
from .models import CountStatus, InventoryCount

STATUSES = ("found", "repeated", "other_location", "unknown", "other_institution", "count_closed")
SCAN_REF_MAX = 120  # column width; the devices side builds "<device>:<sequence>"
CODE_MAX = 200


@dataclass(frozen=True)
class ScanOutcome:
    status: str  # one of STATUSES
    message: str  # translated, short: what a handheld terminal shows
    asset_id: int | None
    asset_name: str
    found: int  # items found of the scan's location (or of the whole count if location is None)
    expected: int  # items expected there


def open_counts(institution):
    """Counts in progress of an institution, newest first."""
    return InventoryCount.objects.filter(institution=institution, status=CountStatus.IN_PROGRESS).order_by(
        "-count_date", "-id")


def _message(status: str, name: str, code: str) -> str:
    if status == "found":
        return _("Found: %(name)s") % {"name": name}
    if status == "repeated":
        return _("Already counted: %(name)s") % {"name": name}
    if status == "other_location":
        return _("Belongs to another location: %(name)s") % {"name": name}
    if status == "other_institution":
        return _("Label of another institution: %(code)s") % {"code": code}
    if status == "count_closed":
        return _("The count is not in progress.")
    return _("Unknown code: %(code)s") % {"code": code}


_PROGRESS_SQL = (
    "SELECT count(*) FILTER (WHERE COALESCE(counted_quantity, found_quantity) > 0), count(*) "
    "FROM inventory_countitem WHERE count_id = %s"
)


def _progress(cursor, count_id: int, location_id: int | None) -> tuple[int, int]:
    if location_id is None:
        cursor.execute(_PROGRESS_SQL, [count_id])
    else:
        cursor.execute(_PROGRESS_SQL + " AND location_id = %s", [count_id, location_id])
    found, expected = cursor.fetchone()
    return int(found), int(expected)


def _stored(cursor, count_id: int, scan_ref: str, location_id: int | None) -> ScanOutcome:
    cursor.execute(
        "SELECT s.status, s.asset_id, COALESCE(a.name, ''), s.code, s.location_id FROM inventory_scan s "
        "LEFT JOIN inventory_asset a ON a.id = s.asset_id WHERE s.count_id = %s AND s.scan_ref = %s",
        [count_id, scan_ref])
    status, asset_id, name, code, stored_location = cursor.fetchone()
    found, expected = _progress(cursor, count_id, stored_location if location_id is None else location_id)
    return ScanOutcome(status, _message(status, name, code), asset_id, name, found, expected)


def record_scan(*, count: InventoryCount, code: str, location_id: int | None, scan_ref: str,
                device_label: str = "", scanned_at: dt.datetime | None = None) -> ScanOutcome:
    """Record one scan of a count and say what it was (see the module docstring)."""
    code = (code or "").strip()[:CODE_MAX]
    scan_ref = scan_ref[:SCAN_REF_MAX]
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.status, c.institution_id, i.bin FROM inventory_inventorycount c "
            "JOIN access_institution i ON i.id = c.institution_id WHERE c.id = %s FOR SHARE OF c", [count.id])
        status, institution_id, own_bin = cursor.fetchone()
        if status != CountStatus.IN_PROGRESS:
            found, expected = _progress(cursor, count.id, location_id)
            return ScanOutcome("count_closed", _message("count_closed", "", code), None, "", found, expected)
        cursor.execute("SELECT 1 FROM inventory_scan WHERE count_id = %s AND scan_ref = %s", [count.id, scan_ref])
        if cursor.fetchone():
            return _stored(cursor, count.id, scan_ref, location_id)

        # The label's value first, then the inventory number typed by hand.
        cursor.execute(
            "SELECT id, name FROM inventory_asset WHERE institution_id = %s "
            "AND (barcode = %s OR inventory_number = %s) ORDER BY (barcode = %s) DESC LIMIT 1",
            [institution_id, code, code, code])
        row = cursor.fetchone()
        asset_id, name = row if row else (None, "")
        if asset_id is None:
            owner = barcodes.owner_bin(code)
            outcome = "other_institution" if owner is not None and owner != own_bin else "unknown"
        else:
            outcome = "found"
        cursor.execute(
            "INSERT INTO inventory_scan (count_id, scan_ref, code, location_id, device_label, scanned_at, "
            "received_at, status, asset_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (count_id, scan_ref) DO NOTHING RETURNING id",
            [count.id, scan_ref, code, location_id, device_label[:120], scanned_at or now, now, outcome, asset_id])
        inserted = cursor.fetchone()
        if inserted is None:  # the same scan arrived twice at once; the first one counts
            return _stored(cursor, count.id, scan_ref, location_id)

        progress_location = location_id
        if asset_id is not None:
            # found_quantity = min(scans, expected): the row lock orders concurrent scans of one asset.
            cursor.execute(
                "UPDATE inventory_countitem SET scans = scans + 1, "
                "found_quantity = CASE WHEN found_quantity < expected_quantity THEN found_quantity + 1 "
                "ELSE found_quantity END, found_location_id = COALESCE(found_location_id, %s) "
                "WHERE count_id = %s AND asset_id = %s RETURNING scans, expected_quantity, location_id",
                [location_id, count.id, asset_id])
            item = cursor.fetchone()
            if item is None:
                outcome = "other_location"  # this institution's asset, outside the count's book
            else:
                scans, expected_quantity, book_location = item
                if scans > expected_quantity:
                    outcome = "repeated"
                elif location_id is not None and book_location != location_id:
                    outcome = "other_location"
                if location_id is None:
                    progress_location = None
            if outcome != "found":
                cursor.execute("UPDATE inventory_scan SET status = %s WHERE id = %s", [outcome, inserted[0]])
        found, expected = _progress(cursor, count.id, progress_location)
    return ScanOutcome(outcome, _message(outcome, name, code), asset_id, name, found, expected)


def count_progress(count: InventoryCount) -> list[dict]:
    """Per location of the count's book: location_id, name, expected and found items (an item
    counts as found wherever it was scanned), plus scans there of items booked elsewhere."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.code, l.name, count(*), "
            "count(*) FILTER (WHERE COALESCE(ci.counted_quantity, ci.found_quantity) > 0) "
            "FROM inventory_countitem ci JOIN inventory_location l ON l.id = ci.location_id "
            "WHERE ci.count_id = %s GROUP BY l.id, l.code, l.name ORDER BY l.code", [count.id])
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT location_id, count(*) FILTER (WHERE status = 'other_location'), "
            "count(*) FILTER (WHERE status = 'unknown'), count(*) FILTER (WHERE status = 'repeated') "
            "FROM inventory_scan WHERE count_id = %s GROUP BY location_id", [count.id])
        extra = {r[0]: r[1:] for r in cursor.fetchall()}
    result = []
    for location_id, code, name, expected, found in rows:
        elsewhere, unknown, repeated = extra.get(location_id, (0, 0, 0))
        result.append({"location_id": location_id, "code": code, "name": name, "expected": expected,
                       "found": found, "percent": int(100 * found / expected) if expected else 100,
                       "found_elsewhere": elsewhere, "unknown": unknown, "repeated": repeated})
    return result
