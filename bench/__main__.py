"""python -m bench [--postings 1000000] [--quick] [--keep]

Creates the database `esep_bench` beside the one DATABASE_URL names (dropping a leftover),
migrates it, runs (a) service path, (b) bulk load, (c) trial balance, (d) hledger, ledger-cli
and beancount on the same ledger, then verify_all; writes bench/out/results-*.json, prints a
table, and (full default run) rewrites the measured part of BENCHMARKS.md. Drops the
database at the end unless --keep.
"""

import argparse
import json
import os
import secrets
import sys
import time
from contextlib import contextmanager
from decimal import Decimal

DEFAULT_URL = "postgres://esep@127.0.0.1:54329/esep"
FULL_POSTINGS = 1_000_000


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--postings", type=int, default=FULL_POSTINGS, help="size of the bulk-loaded ledger")
    p.add_argument("--quick", action="store_true",
                   help="fewer repetitions: 3 batches, 300 single entries, 5 trial-balance runs, one run per tool")
    p.add_argument("--chunk", type=int, default=5_000, help="entries per load_entries call")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds allowed to each tool run")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="first wait up to SECONDS for the 1-minute load average to fall below 0.5 "
                        "(other work on the machine lowers every figure)")
    p.add_argument("--database", default="esep_bench")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    p.add_argument("--skip-tools", action="store_true")
    p.add_argument("--what-if", action=argparse.BooleanOptionalAction, default=True,
                   help="at the end, apply the proposed product changes to the benchmark database and measure "
                        "(a) and (b) again")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=None,
                   help="rewrite BENCHMARKS.md (default: only for a full-size run without --quick)")
    return p.parse_args(argv)


def bench_url(database: str) -> tuple[str, str]:
    """(admin URL, benchmark URL): the same server as DATABASE_URL, another database."""
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    base, _slash, _db = url.rpartition("/")
    query = ""
    if "?" in _db:
        query = "?" + _db.split("?", 1)[1]
    return url, f"{base}/{database}{query}"


def recreate_database(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def drop_database(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def django_on_bench_database(database: str, *, keep: bool = False):
    """A fresh database beside the one DATABASE_URL names, Django set up on it with production
    settings (DEBUG off: no per-query recording), dropped afterwards unless `keep`. Yields the
    admin URL (the server's maintenance connection)."""
    admin_url, url = bench_url(database)
    recreate_database(admin_url, database)
    os.environ["DATABASE_URL"] = url
    os.environ["ESEP_DEBUG"] = "0"
    os.environ.setdefault("ESEP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esep.settings")
    import django

    django.setup()
    try:
        yield admin_url
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            drop_database(admin_url, database)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.wait_quiet:
        from .common import loadavg

        deadline = time.monotonic() + args.wait_quiet
        while loadavg() >= 0.5 and time.monotonic() < deadline:
            time.sleep(5)
        say(f"load average {loadavg()} at start")
    with django_on_bench_database(args.database, keep=args.keep) as admin_url:
        return run(args, admin_url)


def run(args, admin_url: str) -> int:
    from django.core.management import call_command
    from django.db import connection

    from ledger import reference
    from ledger.loading import load_reference
    from ledger.verification import verify_all

    from . import bulk_load, report, service_path, tools, trial_balance
    from .common import OUT, OthersCpu, loadavg, machine, median_ms, stopwatch
    from .fixtures import ensure_bench_accounts, make_books
    from .generate import Generator, Shape

    started = time.perf_counter()
    year = 2025
    quick = args.quick
    results: dict = {"args": " ".join(sys.argv[1:]) or "(defaults)", "year": year}
    say(f"database {args.database}: migrating")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        results["machine"] = machine(cursor)
    load_reference()
    results["bench_accounts_added"] = ensure_bench_accounts(200)
    reference.invalidate()
    ref = reference.snapshot()
    shape = Shape.from_reference(ref, year)
    results["shape"] = {"accounts": len(shape.accounts), "specifics": len(shape.specifics),
                        "programmes": len(shape.programmes), "funding_sources": shape.funding}

    ledger_books = make_books(1, year, "bench_bulk")
    batch_books = make_books(2, year, "bench_batch")
    single_books = make_books(3, year, "bench_single")
    raw_books = make_books(4, year, "bench_raw")

    say(f"(b) bulk load of {args.postings:,} postings")
    gen = Generator(shape, -(-args.postings // 3), seed=20251)  # three postings an entry, at least --postings
    with OthersCpu(args.database) as cpu:
        results["bulk"] = bulk_load.run(*ledger_books, gen, chunk=args.chunk)
    results["bulk"]["others_cpu_cores"] = cpu.cores
    b = results["bulk"]
    le = b["load_entries"]
    say(f"    load_entries {le['postings_per_s']}/s (first load {le['first_load_postings_per_s']}/s, last "
        f"{le['last_load_postings_per_s']}/s); raw COPY {b['raw_copy']['postings_per_s']}/s")
    results["bulk_breakdown"] = bulk_load.breakdown(
        *ledger_books, Generator(shape, args.chunk, seed=99, prefix="РАЗБОР"))

    say("(a) service path")
    with OthersCpu(args.database) as cpu:
        results["service_path"] = service_path.run(batch_books, single_books, raw_books, year=year,
                                                   batches=3 if quick else 10, singles=300 if quick else 2000,
                                                   singles_after=100 if quick else 500)
    results["service_path"]["others_cpu_cores"] = cpu.cores
    a = results["service_path"]
    say(f"    one per transaction {a['single']['entries_per_s']}/s (one-round-trip SQL "
        f"{a['single']['raw_entries_per_s']}/s); batches {a['batch']['entries_per_s']} entries/s; "
        f"one per transaction in a session begun with a batch "
        f"{a['single_after_batches']['entries_per_s']}/s (SQL {a['single_after_batches']['raw_entries_per_s']}/s)")

    expected = {code: Decimal(t).scaleb(-2) for code, t in gen.net_tiyn().items()}
    institution_id = ledger_books[0].id
    say("(c) trial balance")
    with OthersCpu(args.database) as cpu:
        results["trial_balance"] = trial_balance.run(institution_id, year, 5 if quick else 15, expected)
    results["trial_balance"]["others_cpu_cores"] = cpu.cores
    t = results["trial_balance"]["timings"]
    say(f"    turnovers year {t['turnovers_year']['median_ms']} ms, month {t['turnovers_month']['median_ms']} ms; "
        f"GROUP BY year {t['scan_year']['median_ms']} ms")

    if not args.skip_tools:
        say("(d) hledger, ledger-cli, beancount")
        export = tools.export(institution_id, "ledger")
        ranges = trial_balance.ranges(year)
        from ledger.queries import trial_balance as tb

        ours_year = trial_balance.net_by_code(tb(institution_id, *ranges["year"]))
        ours_month = trial_balance.net_by_code(tb(institution_id, *ranges["month"]))
        with OthersCpu(args.database) as cpu:
            runs = tools.measure(export["journal"], export["beancount"], ours_year, ours_month, ranges["year"],
                                 ranges["month"], args.timeout, quick)
        results["tools"] = {"export": export, "runs": runs, "timeout_s": args.timeout,
                            "versions": tools.tool_versions(), "others_cpu_cores": cpu.cores}
        timed_out = sorted({name.split("_")[0] for name, run in runs.items() if run["timed_out"]})
        if timed_out:
            results["tools"]["small"] = small_size(institution_id, timed_out, args.timeout)
        for name, run in runs.items():
            say(f"    {name}: {'timeout' if run['timed_out'] else str(run['seconds']) + ' s'}, "
                f"equal: {run['check'] and run['check']['equal']}")
        for path in (export["journal"], export["beancount"]):
            os.remove(path)

    say("ФЛК: rules engine throughput, memory over 100,000 checks, time added per posting")
    from . import rules_bench

    with OthersCpu(args.database) as cpu:
        results["rules"] = rules_bench.run()
    results["rules"]["others_cpu_cores"] = cpu.cores
    e = results["rules"]["engine"]
    say(f"    {e['posting_pass_3_lines']['checks_per_s']} checks/s; RSS growth {e['memory']['rss_kb_growth']} kB; "
        f"added per posting {results['rules'].get('posting', {}).get('no_cash_account', {}).get('added_ms')} ms")

    say("verify_all over the benchmark database")
    with stopwatch() as tv:
        breaches = verify_all()
    results["verify"] = {"seconds": round(tv.seconds, 1), "breaches": [str(b) for b in breaches[:20]]}

    if args.what_if:
        say("what-if: proposed product changes, on the benchmark database only (before, apply, after)")
        from . import what_if

        def what_if_round(serial: int) -> dict:
            with OthersCpu(args.database) as cpu:
                books = [make_books(serial + k, year, f"whatif{serial + k}") for k in range(4)]
                service = service_path.run(*books[:3], year=year, batches=3 if quick else 10,
                                           singles=100 if quick else 500, singles_after=100 if quick else 500,
                                           capture_round_trips=False)
                postings = min(args.postings, 60_000 if quick else 150_000)
                loads = bulk_load.run(*books[3], Generator(shape, postings // 3, seed=serial, prefix=f"W{serial}"),
                                      chunk=args.chunk)
                from ledger.queries import trial_balance as tb

                if serial >= 20:
                    results["what_if"]["applied"]["edge_index"] = what_if.create_edge_index()
                partial = trial_balance.ranges(year)["partial"]
                timing = median_ms(lambda: tb(institution_id, *partial), 5 if quick else 9)
            return {"service_path": service, "bulk": loads, "trial_balance_partial": timing,
                    "others_cpu_cores": cpu.cores}

        results["what_if"] = {"before": what_if_round(10)}
        results["what_if"]["applied"] = what_if.apply()
        reference.invalidate()
        results["what_if"]["after"] = what_if_round(20)
        for when in ("before", "after"):
            w = results["what_if"][when]
            say(f"    {when}: batches {w['service_path']['batch']['entries_per_s']} entries/s, one per transaction "
                f"{w['service_path']['single']['entries_per_s']}/s (session begun with a batch "
                f"{w['service_path']['single_after_batches']['entries_per_s']}/s), bulk "
                f"{w['bulk']['load_entries']['postings_per_s']} postings/s, partial trial balance "
                f"{w['trial_balance_partial']['median_ms']} ms")

    results["loadavg_end"] = loadavg()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"results-{stamp}.json", "latest.json"):
        (OUT / name).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print()
    print(report.table(results))
    print(f"\nresults: {OUT / f'results-{stamp}.json'} ({results['total_seconds'] / 60:.1f} min)")
    write_md = args.markdown if args.markdown is not None else (args.postings == FULL_POSTINGS and not quick)
    if write_md:
        report.write_markdown(results, "")
        print(f"updated {report.MARKDOWN}")
    return 0 if not breaches else 1


def small_size(institution_id: int, tools_names: list[str], timeout_s: float, postings: int = 100_002) -> dict:
    """The tools that hit their limit, again on the ledger's first `postings` postings."""
    from django.db import connection

    from . import tools

    with connection.cursor() as cursor:
        cursor.execute("SELECT entry_id FROM ledger_posting WHERE institution_id = %s ORDER BY entry_id, line_no "
                       "OFFSET %s LIMIT 1", [institution_id, postings - 1])
        last_entry = cursor.fetchone()[0]
        cursor.execute(
            "SELECT a.code, sum(CASE WHEN p.side = 'D' THEN p.amount ELSE -p.amount END) FROM ledger_posting p "
            "JOIN ledger_account a ON a.id = p.account_id WHERE p.institution_id = %s AND p.entry_id <= %s "
            "GROUP BY a.code", [institution_id, last_entry])
        ours = {code: total for code, total in cursor.fetchall() if total}
    export = tools.export(institution_id, "ledger-small", last_entry)
    runs = {}
    for name in tools_names:
        if name == "ledger":
            run, totals = tools.run_ledger(export["journal"], None, timeout_s)
        elif name == "hledger":
            run, totals = tools.run_hledger(export["journal"], None, timeout_s)
        else:
            tools.drop_beancount_cache()
            run, totals = tools.run_beancount(export["beancount"], None, timeout_s)
        runs[f"{name}_year"] = {"seconds": run["seconds"], "rss_mb": run["rss_mb"], "timed_out": run["timed_out"],
                                "check": tools.compare(totals, ours) if not run["timed_out"] else None}
    os.remove(export["journal"])
    os.remove(export["beancount"])
    tools.drop_beancount_cache()
    return {"postings": export["postings"], "entries": export["entries"], "runs": runs}


if __name__ == "__main__":
    sys.exit(main())
