"""python -m bench.reporting [--postings 1000000] [--institutions 200] [--per-institution 3000] [--runs 7]

FO-1…FO-4 (with FO-5 and the cross-form checks) of one institution with 1,000,000 postings,
and consolidation of an administrator over 200 subordinate institutions with internal
entries eliminated. Side by side in the same run: the same statements computed from the
postings by GROUP BY instead of the turnovers (the result must be identical; the difference
is what reading turnovers buys). Own database `esep_bench_reporting`, dropped at the end
unless --keep. Writes the reporting section of BENCHMARKS.md (full-size run).
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal

from .__main__ import django_on_bench_database, say

TARGET_SINGLE_S = 2.0
TARGET_CONSOLIDATION_S = 10.0
YEAR = 2025

SCAN_SQL = """
SELECT account_id, specific, extract(year FROM date)::int * 12 + extract(month FROM date)::int - 1 AS m,
       CASE WHEN side = 'D' THEN amount ELSE 0 END AS d, CASE WHEN side = 'C' THEN amount ELSE 0 END AS c
FROM ledger_posting WHERE institution_id = ANY(%(ids)s) AND date <= %(end)s
"""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.reporting")
    p.add_argument("--postings", type=int, default=1_000_000)
    p.add_argument("--institutions", type=int, default=200)
    p.add_argument("--per-institution", type=int, default=3_000, help="postings of each subordinate")
    p.add_argument("--internal", type=int, default=10, help="internal entries of each subordinate")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--database", default="esep_bench_reporting")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=None)
    return p.parse_args(argv)


def timed(fn, runs: int, warmup: int = 1) -> tuple[dict, object]:
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(samples), 3), "min_s": round(min(samples), 3),
            "max_s": round(max(samples), 3), "runs": runs}, result


def bench_maps():
    """Line maps for the bench-only accounts (codes s9nn), so every amount lands on a line and
    the checks hold on the generated ledger too."""
    from reporting.models import LineMap

    rows = [("FO-1", "19", "D", "060"), ("FO-1", "29", "D", "160"), ("FO-1", "39", "C", "360"),
            ("FO-1", "49", "C", "420"), ("FO-1", "59", "C", "540"), ("FO-2", "69", "C", "030"),
            ("FO-2", "79", "D", "180"), ("FO-4", "59", "C", "050")]
    LineMap.objects.bulk_create([LineMap(form=f, account=a, side=s, line=line, valid_from=dt.date(2024, 1, 1),
                                         source="bench", status="demo") for f, a, s, line in rows])
    # Real books move plan allocations on 1081 and 1091 together (a memo line outside the
    # totals); the generator posts to them at random, so here they count as other assets.
    LineMap.objects.filter(form="FO-1", account__in=["1081", "1091"]).update(line="060")


def scan_source(ids, start, end):
    """The same Source as reporting.statements.load_source, from postings by GROUP BY."""
    from unittest import mock

    from reporting import statements

    with mock.patch.object(statements, "MONTHLY_SQL", SCAN_SQL):
        return statements.load_source(ids, start, end)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    with django_on_bench_database(args.database, keep=args.keep):
        return run(args)


def run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from access.models import Membership
    from access.roles import Role
    from ledger import bulk, reference
    from ledger.drafts import EntryDraft, LineDraft
    from ledger.loading import load_reference
    from ledger.models import Counterparty
    from ledger.services import ensure_year
    from reporting.loading import load_reporting_reference
    from reporting.statements import compute, statement_data

    from . import bulk_load
    from .common import OUT, loadavg, machine
    from .fixtures import ensure_bench_accounts, make_accountant, make_books, make_institution
    from .generate import Generator, Shape
    from .section import write_section

    results: dict = {"args": " ".join(sys.argv[1:]) or "(defaults)",
                     "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "loadavg_start": loadavg()}
    say(f"database {args.database}: migrating")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        m = machine(cursor)
    results["machine"] = f"{m['cpu_model']}, {m['nproc']} cores, {m['ram_gb']} GB, {m['postgresql']}"
    load_reference()
    ensure_bench_accounts(200)
    load_reporting_reference()
    bench_maps()
    reference.invalidate()
    shape = Shape.from_reference(reference.snapshot(), YEAR)
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)

    # (1) one institution, 1,000,000 postings
    say(f"(1) loading {args.postings:,} postings into one institution")
    big, actor = make_books(1, YEAR, "bench_reporting")
    gen = Generator(shape, -(-args.postings // 3), seed=20257)
    load = bulk_load.run(big, actor, gen, chunk=5_000)
    results["single"] = {"postings": load["postings"], "load_seconds": load["load_entries"]["seconds"]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_turnover WHERE institution_id = %s", [big.id])
        results["single"]["turnover_rows"] = cursor.fetchone()[0]
        cursor.execute("ANALYZE")
    say("    statements from turnovers")
    results["single"]["loadavg"] = loadavg()
    results["single"]["year"], year_data = timed(lambda: statement_data(big, start, end), args.runs)
    results["single"]["month"], _ = timed(lambda: statement_data(big, dt.date(YEAR, 12, 1), end), args.runs)
    say("    the same from postings by GROUP BY")
    results["single"]["scan_year"], scan_data = timed(lambda: compute(scan_source([big.id], start, end)),
                                                      max(3, args.runs // 2))
    results["single"]["identical"] = scan_data["forms"] == year_data["forms"]
    results["single"]["checks_ok"] = all(c["ok"] for c in year_data["checks"])
    results["single"]["failed_checks"] = [c["code"] for c in year_data["checks"] if not c["ok"]]
    say(f"    {results['single']}")

    # (2) consolidation over N subordinates
    say(f"(2) {args.institutions} subordinates of {args.per_institution:,} postings each")
    admin = make_institution(900, "Администратор")
    clerk = make_accountant(admin, "bench_group")
    subs = []
    for n in range(args.institutions):
        inst = make_institution(1000 + n, "Подведомственное")
        inst.parent = admin
        inst.save(update_fields=["parent"])
        ensure_year(inst, YEAR)
        Membership.objects.create(user=clerk, institution=inst, role=Role.ACCOUNTANT)
        subs.append(inst)
    programme = shape.programmes[0]
    internal_total = 0
    t0 = time.perf_counter()
    for n, inst in enumerate(subs):
        gen = Generator(shape, -(-args.per_institution // 3), seed=3000 + n, prefix=f"S{n}")
        drafts = gen.next_drafts(gen.entries_total)
        neighbour = subs[(n + 1) % len(subs)]
        cp = Counterparty.objects.create(institution=inst, iin_bin=neighbour.bin, name=neighbour.name_ru)

        def ln(account, side, amount, cp_id=None):
            return LineDraft(account=account, side=side, amount=amount, specific="159", administrator=programme[0],
                             programme=programme[1], subprogramme=programme[2], funding_source="budget_local",
                             counterparty_id=cp_id)

        for k in range(args.internal):
            amount = Decimal(gen.rng.randrange(10_000, 1_000_000)).scaleb(-2)
            drafts.append(EntryDraft(date=dt.date(YEAR, 1 + k % 12, 10), doc_type="Акт", doc_number=f"IG-{n}-{k}",
                                     description="внутригрупповая операция",
                                     lines=(ln("7070", "D", amount), ln("3210", "C", amount, cp.id))))
            internal_total += 1
        drafts.sort(key=lambda d: d.date)
        bulk.load_entries(institution=inst, actor=clerk, drafts=drafts, source="bench")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM ledger_posting WHERE institution_id = ANY(%s)", [[s.id for s in subs]])
        group_postings = cursor.fetchone()[0]
    results["group"] = {"institutions": len(subs), "postings": group_postings, "internal_entries": internal_total,
                        "load_seconds": round(time.perf_counter() - t0, 1), "loadavg": loadavg()}
    say("    consolidation")
    results["group"]["consolidated"], group_data = timed(
        lambda: statement_data(admin, start, end, consolidated=True), max(3, args.runs // 2))
    ids = admin.subtree_ids()
    results["group"]["scan"], scan_group = timed(lambda: compute(scan_source(ids, start, end)), 3)
    results["group"]["eliminated_debit"] = group_data["eliminated"]["debit"]
    results["group"]["checks_ok"] = all(c["ok"] for c in group_data["checks"])
    results["group"]["failed_checks"] = [c["code"] for c in group_data["checks"] if not c["ok"]]
    results["loadavg_end"] = loadavg()
    say(f"    {results['group']}")

    OUT.mkdir(exist_ok=True)
    (OUT / f"reporting-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2, default=str))
    full = args.postings >= 1_000_000 and args.institutions >= 200
    if args.markdown or (args.markdown is None and full):
        write_section("reporting", markdown(results))
        say("BENCHMARKS.md: reporting section written")
    print(json.dumps(results, indent=2, default=str))
    return 0


def markdown(r: dict) -> str:
    s, g = r["single"], r["group"]

    def verdict(seconds, target):
        return "MEETS" if seconds <= target else "MISS"

    def outcome(part):
        return "all pass" if part["checks_ok"] else "FAILED " + ", ".join(part["failed_checks"])

    def spread(t):
        return f"{t['min_s']}–{t['max_s']} s"

    one = f"1 institution, {s['postings']:,} postings ({s['turnover_rows']:,} turnover rows)"
    many = f"{g['institutions']} institutions, {g['postings']:,} postings, {g['internal_entries']:,} internal entries"
    rows = [
        ("measurement", "data", "median", "min–max", "target", "verdict"),
        ("---",) * 6,
        ("(1) FO-1…FO-5 of a year, from turnovers", one, f"{s['year']['median_s']} s", spread(s["year"]),
         f"≤ {TARGET_SINGLE_S} s", verdict(s["year"]["median_s"], TARGET_SINGLE_S)),
        ("(1) the same, one month (December)", "same", f"{s['month']['median_s']} s", spread(s["month"]), "", ""),
        ("(1) comparison: the same statements from postings by GROUP BY", "same", f"{s['scan_year']['median_s']} s",
         spread(s["scan_year"]), "", f"identical: {s['identical']}"),
        ("(2) consolidation with elimination", many, f"{g['consolidated']['median_s']} s",
         spread(g["consolidated"]), f"≤ {TARGET_CONSOLIDATION_S} s",
         verdict(g["consolidated"]["median_s"], TARGET_CONSOLIDATION_S)),
        ("(2) comparison: the group from postings by GROUP BY (no elimination)", "same", f"{g['scan']['median_s']} s",
         spread(g["scan"]), "", ""),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)

    return f"""### Statements FO-1…FO-5 and consolidation (`python -m bench.reporting`, {r['at']})

Machine: {r['machine']}. Load average (1 min): {r['loadavg_start']} at start, {s['loadavg']} during (1),
{g['loadavg']} during (2), {r['loadavg_end']} at the end (above 2, the 2 cores were shared and the
figures pessimistic). Each figure is the median of repeated runs after one warm-up; the whole
statement set is timed: FO-1…FO-4 from the line maps, FO-5 quoting them, the five cross-form checks.

{table}

Cross-form checks on the generated ledgers: single {outcome(s)}; consolidated {outcome(g)}; eliminated
debit turnover {g['eliminated_debit']} tenge. Data: the ledger benchmark's generator (`bench/generate.py`,
three postings an entry over 2025, 200 accounts) loaded by `ledger.bulk.load_entries`
({s['load_seconds']} s for (1), {g['load_seconds']} s for (2)); bench-only accounts get line maps of
their own (bench.reporting.bench_maps).

Why it is fast: statements read `ledger_turnover` (one row per month, account, specific and
funding source) with one GROUP BY, never the postings; consolidation adds one query for the
entries to eliminate, found through the partial index on counterparty.
"""


if __name__ == "__main__":
    raise SystemExit(main())
