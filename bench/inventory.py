"""python -m bench.inventory [--items 1000] [--threads 10] [--keep]

The count's hot path and its heavy steps, in a database of its own (esep_bench_inventory):
a book of --items assets; the cost of `inventory.counting.record_scan` (the call every scanner
makes, five indexed statements) side by side with the same decision written with the ORM
(select_for_update, save, aggregate) in the same run; the same scans from --threads threads at
once (each its own connection, as many devices would); and start (book freeze), the collation
statement, its XLSX and PDF, and the approval with its postings. Writes the `inventory` section
of BENCHMARKS.md when the markers are there, else prints it.
"""

import argparse
import datetime as dt
import statistics
import sys
import threading
import time
from decimal import Decimal

from .__main__ import django_on_bench_database, say


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.inventory")
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--threads", type=int, default=10)
    p.add_argument("--database", default="esep_bench_inventory")
    p.add_argument("--keep", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    with django_on_bench_database(args.database, keep=args.keep):
        return run(args)


def _ms(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered) * 1000, "p99": ordered[min(len(ordered) - 1,
                                                                         int(len(ordered) * 0.99))] * 1000,
            "max": ordered[-1] * 1000, "n": len(ordered)}


def _orm_scan(count, code: str, location_id: int, scan_ref: str) -> str:
    """The same decision as record_scan, written the obvious way with the ORM (comparison)."""
    from django.db import transaction
    from django.db.models import Count, Q
    from django.utils import timezone

    from inventory.models import Asset, CountItem, InventoryCount, Scan

    with transaction.atomic():
        InventoryCount.objects.select_for_update(of=("self",)).get(pk=count.pk)
        if Scan.objects.filter(count=count, scan_ref=scan_ref).exists():
            return "replay"
        asset = Asset.objects.filter(institution_id=count.institution_id).filter(
            Q(barcode=code) | Q(inventory_number=code)).first()
        status = "unknown"
        if asset is not None:
            item = CountItem.objects.select_for_update().filter(count=count, asset=asset).first()
            status = "found"
            if item is not None:
                item.scans += 1
                if item.found_quantity < item.expected_quantity:
                    item.found_quantity += 1
                else:
                    status = "repeated"
                item.save(update_fields=["scans", "found_quantity"])
        now = timezone.now()
        Scan.objects.create(count=count, scan_ref=scan_ref, code=code, location_id=location_id, scanned_at=now,
                            received_at=now, status=status, asset=asset)
        CountItem.objects.filter(count=count, location_id=location_id).aggregate(
            found=Count("id", filter=Q(found_quantity__gt=0)), expected=Count("id"))
    return status


def run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from bench.common import loadavg, machine
    from inventory import counting, services, statements
    from inventory.models import InventoryCount
    from tests.inventory_support import asset_line, build_inv

    load_start = loadavg()
    say("migrate")
    call_command("migrate", verbosity=0)
    inv = build_inv(n_locations=10)
    day = dt.date(2026, 3, 10)
    per = args.items // 10
    say(f"book of {args.items} items")
    started = time.perf_counter()
    assets = services.receive_assets(
        institution=inv.a, actor=inv.operator, date=day, document="BENCH",
        lines=[asset_line(inv, name=f"Актив {loc}", location=loc, cost=f"{per * 1000}.00", quantity=per)
               for loc in range(10)])
    receipt_s = time.perf_counter() - started

    def new_count(number):
        count = services.create_count(institution=inv.a, actor=inv.operator, number=number, order_date=day,
                                      count_date=day, chairman="Директор", members=["А", "Б"])
        begin = time.perf_counter()
        count = services.start_count(count=count, actor=inv.operator)
        return count, time.perf_counter() - begin

    # (a) one device: record_scan vs the ORM version, interleaved so load hits both alike
    product, start_s = new_count("P")
    orm, _ = new_count("O")
    ours, theirs = [], []
    for n, asset in enumerate(assets):
        t0 = time.perf_counter()
        counting.record_scan(count=product, code=asset.barcode, location_id=asset.location_id, scan_ref=f"a:{n}")
        t1 = time.perf_counter()
        _orm_scan(orm, asset.barcode, asset.location_id, f"a:{n}")
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    replays = []
    for n, asset in enumerate(assets[:200]):
        t0 = time.perf_counter()
        counting.record_scan(count=product, code=asset.barcode, location_id=asset.location_id, scan_ref=f"a:{n}")
        replays.append(time.perf_counter() - t0)

    # (b) many devices at once on a fresh count
    crowd, _ = new_count("C")
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads)

    def device(k):
        from django.db import connection as own

        mine = []
        try:
            barrier.wait()
            for n, asset in enumerate(assets[k::args.threads]):
                t0 = time.perf_counter()
                counting.record_scan(count=crowd, code=asset.barcode, location_id=asset.location_id,
                                     scan_ref=f"d{k}:{n}")
                mine.append(time.perf_counter() - t0)
        finally:
            own.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=device, args=(k,)) for k in range(args.threads)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    found = sum(p["found"] for p in counting.count_progress(crowd))

    # (c) close, statements, approval (the last 1 % not found: shortages to post)
    timings = {}
    product = services.close_count(count=InventoryCount.objects.get(pk=product.pk), actor=inv.operator)
    steps = (("collation", statements.collation), ("inventory list XLSX", statements.inventory_list_xlsx),
             ("collation XLSX", statements.collation_xlsx), ("inventory list PDF", statements.inventory_list_pdf),
             ("collation PDF", statements.collation_pdf))
    for name, fn in steps:
        t0 = time.perf_counter()
        fn(product)
        timings[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    services.approve_count(count=product, actor=inv.chief)
    timings["approve (no discrepancies)"] = time.perf_counter() - t0

    a, b, r, c = _ms(ours), _ms(theirs), _ms(replays), _ms(latencies)
    with connection.cursor() as cursor:
        box = machine(cursor)
    load = loadavg()
    md = [
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {box['cpu_model']} ({box['nproc']} cores), "
        f"{box['postgresql']}; 1-minute load average {load_start} at the start, {load} at the end "
        f"(other work on the cores would slow the figures). Book of {args.items} assets in 10 locations; "
        "`python -m bench.inventory`.",
        "",
        "| step | p50 ms | p99 ms | max ms | n |",
        "|---|---|---|---|---|",
        f"| `record_scan`, one device | {a['p50']:.2f} | {a['p99']:.2f} | {a['max']:.2f} | {a['n']} |",
        f"| same decision with the ORM (comparison, same run) | {b['p50']:.2f} | {b['p99']:.2f} | {b['max']:.2f} "
        f"| {b['n']} |",
        f"| `record_scan` replay of a known `scan_ref` | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.2f} | {r['n']} |",
        f"| `record_scan`, {args.threads} devices at once | {c['p50']:.2f} | {c['p99']:.2f} | {c['max']:.2f} "
        f"| {c['n']} |",
        "",
        f"{args.threads} devices: {c['n']} scans in {wall:.2f} s ({c['n'] / wall:.0f} scans/s), {found} items found "
        f"of {args.items} (every scan counted once).",
        "",
        "| one-off step | seconds |",
        "|---|---|",
        f"| receipt of {args.items} assets (register + entry) | {receipt_s:.2f} |",
        f"| start a count (freeze {args.items} items) | {start_s:.3f} |",
        *[f"| {name} | {value:.3f} |" for name, value in timings.items()],
    ]
    markdown = "\n".join(md)
    print(markdown)
    from bench.section import BENCHMARKS, write_section

    if "<!-- inventory:begin -->" in BENCHMARKS.read_text(encoding="utf-8"):
        write_section("inventory", markdown)
    else:
        say("BENCHMARKS.md has no inventory markers: section printed only")
    assert Decimal(found) == args.items
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
