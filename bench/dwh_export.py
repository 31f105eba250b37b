"""python -m bench.dwh_export [--operations 1000000] [--quick] [--keep]

Export to БО ДБҚ, measured on its own database (esep_bench_dwh, beside DATABASE_URL's):
(1) the cost the outbox adds to posting: service path (batches, single entries) and bulk
    COPY, with the outbox triggers enabled and disabled, interleaved in the same run;
(2) throughput: N operations bulk-loaded (not timed), then outbox → reference receiver over
    HTTP (its own database), timed until the receiver holds all N; the receiver's control
    totals are then compared with the ledger's;
(3) steady-state lag: a real Celery worker and beat (interval DWH_EXPORT_INTERVAL) deliver
    while entries are posted one a time at a steady rate; lag = receipt time at the receiver
    − the event's transaction time.
Writes its section of BENCHMARKS.md (markers dwh_export) unless --no-markdown.
"""

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .__main__ import bench_url, drop_database, recreate_database, say

ROOT = Path(__file__).resolve().parent.parent
TRIGGERS = [("ledger_entryseal", "dwh_export_entry_events"), ("ledger_periodtransition", "dwh_export_period_events")]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.dwh_export", description=__doc__.split("\n\n")[0])
    p.add_argument("--operations", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="100,000 operations, shorter lag run")
    p.add_argument("--batch-events", type=int, default=20_000)
    p.add_argument("--lag-seconds", type=float, default=240)
    p.add_argument("--interval", type=float, default=60)
    p.add_argument("--rate", type=float, default=5, help="entries per second posted during the lag run")
    p.add_argument("--database", default="esep_bench_dwh")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--skip-lag", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.operations = min(args.operations, 100_000)
        args.lag_seconds = min(args.lag_seconds, 60)
        args.interval = min(args.interval, 15)
    return args


def set_outbox(enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {trigger}")


def overhead(books_on_off, gens, rounds: int) -> dict:
    """Median rates with the outbox on and off, alternating which goes first each round."""
    from ledger.bulk import load_entries
    from ledger.services import post_entries, post_entry

    from .common import stopwatch

    rates = {mode: {"batch": [], "single": [], "bulk": []} for mode in ("on", "off")}
    for r in range(rounds):
        for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
            institution, actor = books_on_off[mode]
            gen = gens[mode]  # one generator per institution: it keeps that ledger's cash non-negative
            set_outbox(mode == "on")
            drafts = gen.next_drafts(500)
            with stopwatch() as t:
                post_entries(institution=institution, actor=actor, drafts=drafts)
            rates[mode]["batch"].append(len(drafts) / t.seconds)
            drafts = gen.next_drafts(50)
            with stopwatch() as t:
                for d in drafts:
                    post_entry(institution=institution, actor=actor, draft=d)
            rates[mode]["single"].append(len(drafts) / t.seconds)
            drafts = gen.next_drafts(5000)
            postings = sum(len(d.lines) for d in drafts)
            with stopwatch() as t:
                load_entries(institution=institution, actor=actor, drafts=drafts, source="bench")
            rates[mode]["bulk"].append(postings / t.seconds)
    set_outbox(True)
    out = {mode: {k: round(statistics.median(v)) for k, v in kinds.items()} for mode, kinds in rates.items()}
    out["added_pct"] = {k: round(100 * (out["off"][k] / out["on"][k] - 1), 1) for k in ("batch", "single", "bulk")}
    out["rounds"] = rounds
    return out


def start_receiver(admin_url: str, database: str, public_pem: Path, port: int, log: Path) -> subprocess.Popen:
    import requests

    recreate_database(admin_url, database)
    url = admin_url.rpartition("/")[0] + "/" + database
    proc = subprocess.Popen([sys.executable, "-m", "dwh_export.receiver", "--port", str(port), "--database-url",
                             url, "--public-key", f"esep-bench={public_pem}"], cwd=ROOT,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("receiver did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(institution, actor, gen, n: int, admin_url: str, database: str, key: dict, workdir: Path,
               batch_events: int) -> dict:
    import psycopg

    from dwh_export import services
    from dwh_export.conf import config
    from ledger.bulk import load_entries

    from .common import loadavg, stopwatch

    say(f"(2) loading {n:,} operations (not timed)")
    with stopwatch() as load:
        while gen.produced < gen.entries_total:
            load_entries(institution=institution, actor=actor, drafts=gen.next_drafts(50_000), source="bench")
    say(f"    loaded in {load.seconds:.0f} s")
    port = free_port()
    rdb = f"{database}_recv"
    receiver = start_receiver(admin_url, rdb, key["public"], port, workdir / "receiver.log")
    os.environ.update({"DWH_EXPORT_URL": f"http://127.0.0.1:{port}", "DWH_EXPORT_BATCH_EVENTS": str(batch_events),
                       "DWH_EXPORT_RUN_SECONDS": "3600", "DWH_EXPORT_TIMEOUT": "600"})
    try:
        load_before = loadavg()
        say(f"    delivering (batches of {batch_events:,} events)")
        with stopwatch() as t:
            result = services.deliver_all(config())
        load_after = loadavg()
        rurl = admin_url.rpartition("/")[0] + "/" + rdb
        with psycopg.connect(rurl) as conn:
            held = conn.execute("SELECT count(*) FROM dwh_operation WHERE institution_bin = %s",
                                [institution.bin]).fetchone()[0]
            postings = conn.execute("SELECT count(*) FROM dwh_posting").fetchone()[0]
        with stopwatch() as r:
            recon = services.reconcile(institution, cfg=config())
        say(f"    {held:,} operations in {t.seconds:.1f} s; reconciliation {recon.status} in {r.seconds:.1f} s")
        return {"operations": n, "held_by_receiver": held, "postings_at_receiver": postings,
                "seconds": round(t.seconds, 1), "ops_per_s": round(held / t.seconds),
                "load_seconds": round(load.seconds), "batch_events": batch_events,
                "reconciliation": recon.status, "reconciliation_seconds": round(r.seconds, 1),
                "cells_compared": recon.compared, "result": result, "loadavg_before": load_before,
                "loadavg_after": load_after, "receiver_port": port, "receiver_db": rdb}
    finally:
        stop(receiver)


def steady_lag(institution, actor, gen, admin_url: str, database: str, key: dict, workdir: Path, seconds: float,
               interval: float, rate: float) -> dict:
    """Real worker + beat deliver on their own Redis database while entries are posted one a time."""
    import psycopg

    from dwh_export.models import Event
    from ledger.services import post_entry

    from .common import loadavg

    port = free_port()
    rdb = f"{database}_lag"
    receiver = start_receiver(admin_url, rdb, key["public"], port, workdir / "receiver-lag.log")
    env = {**os.environ, "DWH_EXPORT_URL": f"http://127.0.0.1:{port}", "DWH_EXPORT_INTERVAL": str(interval),
           "DWH_EXPORT_BATCH_EVENTS": "5000", "DWH_EXPORT_RUN_SECONDS": str(max(interval - 5, 5)),
           "REDIS_URL": "redis://127.0.0.1:63799/9"}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "esep", "worker", "-B", "--pool", "solo",
                               "-s", str(workdir / "beat-schedule"), "--without-gossip", "--without-mingle",
                               "-l", "INFO"], cwd=ROOT, env=env, stdout=open(workdir / "worker.log", "ab"),  # noqa: SIM115
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = (Event.objects.filter(institution=institution).order_by("-seq").values_list("seq", flat=True)
                 .first() or 0) + 1
        say(f"(3) steady state: {rate}/s single entries for {seconds:.0f} s, beat every {interval:.0f} s")
        start = time.monotonic()
        posted = 0
        load_samples = []
        while time.monotonic() - start < seconds:
            post_entry(institution=institution, actor=actor, draft=gen.next_drafts(1)[0])
            posted += 1
            load_samples.append(loadavg())
            time.sleep(max(0.0, start + posted / rate - time.monotonic()))
        last = Event.objects.filter(institution=institution).order_by("-seq").values_list("seq", flat=True).first()
        rurl = admin_url.rpartition("/")[0] + "/" + rdb
        deadline = time.monotonic() + interval * 3 + 60
        while time.monotonic() < deadline:
            with psycopg.connect(rurl) as conn:
                row = conn.execute("SELECT next_seq FROM dwh_stream WHERE institution_bin = %s",
                                   [institution.bin]).fetchone()
            if row and row[0] > last:
                break
            time.sleep(1)
        with psycopg.connect(rurl) as conn:
            batches = conn.execute("SELECT first_seq, last_seq, received_at FROM dwh_batch WHERE institution_bin = %s",
                                   [institution.bin]).fetchall()
        created = dict(Event.objects.filter(institution=institution, seq__gte=first, seq__lte=last)
                       .values_list("seq", "created_at"))
        lags = []
        for f, lst, received in batches:
            for seq in range(max(f, first), min(lst, last) + 1):
                lags.append((received - created[seq]).total_seconds())
        lags.sort()
        return {"posted": posted, "rate_per_s": rate, "seconds": seconds, "interval_s": interval,
                "events_measured": len(lags), "events_expected": last - first + 1,
                "lag_max_s": round(lags[-1], 1) if lags else None,
                "lag_p95_s": round(lags[int(len(lags) * 0.95) - 1], 1) if lags else None,
                "lag_median_s": round(statistics.median(lags), 1) if lags else None,
                "loadavg_max": max(load_samples) if load_samples else None}
    finally:
        stop(worker)
        stop(receiver)


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Run {r['at']} on {m}; `{r['args']}`. Own database `{r['database']}`; 1-minute load average "
        f"{r['loadavg_start']} at start (anything else running on the 2 cores slows every figure).",
        "",
    ]
    if "overhead" in r:
        o = r["overhead"]
        lines += [
            "**(1) Cost of the outbox on posting** — outbox triggers enabled vs disabled, interleaved, "
            f"{o['rounds']} rounds, medians:",
            "",
            "| path | outbox on | outbox off | added |",
            "|---|---|---|---|",
            f"| service path, batches of 500 entries | {o['on']['batch']:,} entries/s | {o['off']['batch']:,} entries/s"
            f" | {o['added_pct']['batch']} % |",
            f"| service path, one entry per transaction | {o['on']['single']:,} entries/s | "
            f"{o['off']['single']:,} entries/s | {o['added_pct']['single']} % |",
            f"| bulk COPY (load_entries, 5,000 entries) | {o['on']['bulk']:,} postings/s | {o['off']['bulk']:,} "
            f"postings/s | {o['added_pct']['bulk']} % |",
            "",
        ]
    if "throughput" in r:
        t = r["throughput"]
        verdict = "PASS" if t["seconds"] <= 60 and t["held_by_receiver"] == t["operations"] else "MISS"
        lines += [
            f"**(2) Outbox → receiver**: {t['held_by_receiver']:,} of {t['operations']:,} operations "
            f"({t['postings_at_receiver']:,} postings) delivered over HTTP in **{t['seconds']} s** "
            f"({t['ops_per_s']:,} operations/s; batches of {t['batch_events']:,}); target ≤ 60 s: **{verdict}**. "
            f"Load average {t['loadavg_before']} → {t['loadavg_after']}. Reconciliation afterwards: "
            f"{t['reconciliation']} over {t['cells_compared']} account×period cells in "
            f"{t['reconciliation_seconds']} s. "
            f"(Bulk load of the operations, not timed: {t['load_seconds']} s.)",
            "",
        ]
    if "lag" in r:
        g = r["lag"]
        ok = g["lag_max_s"] is not None and g["lag_max_s"] <= 120 and g["events_measured"] == g["events_expected"]
        lines += [
            f"**(3) Steady-state lag** (real Celery worker + beat every {g['interval_s']:.0f} s, {g['posted']} entries "
            f"posted one per transaction at {g['rate_per_s']}/s over {g['seconds']:.0f} s): lag median "
            f"{g['lag_median_s']} s, p95 {g['lag_p95_s']} s, max **{g['lag_max_s']} s** over "
            f"{g['events_measured']}/{g['events_expected']} events; target ≤ 120 s: **{'PASS' if ok else 'MISS'}**. "
            f"Max load average during the run {g['loadavg_max']}.",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    admin_url, url = bench_url(args.database)
    recreate_database(admin_url, args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["ESEP_DEBUG"] = "0"
    os.environ.setdefault("ESEP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esep.settings")
    workdir = Path(tempfile.mkdtemp(prefix="bench-dwh-"))
    os.environ["DWH_EXPORT_KEY_PATH"] = str(workdir / "ed25519.pem")
    os.environ["DWH_EXPORT_KEY_ID"] = "esep-bench"
    import django

    django.setup()
    import logging

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", "%H:%M:%S"))
    logging.getLogger("dwh_export").addHandler(handler)
    logging.getLogger("dwh_export").setLevel(logging.INFO)
    logging.getLogger("dwh_export").propagate = False
    from django.core.management import call_command
    from django.db import connection, connections

    from dwh_export.signing import deployment_signer
    from ledger import reference
    from ledger.loading import load_reference

    from .common import loadavg, machine
    from .fixtures import ensure_bench_accounts, make_books
    from .generate import Generator, Shape

    signer = deployment_signer()
    public = workdir / "public.pem"
    public.write_bytes(signer.public_pem())
    key = {"public": public}
    results: dict = {"args": " ".join(sys.argv[1:]) or "(defaults)", "database": args.database,
                     "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "loadavg_start": loadavg()}
    try:
        say(f"database {args.database}: migrating")
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            mach = machine(cursor)
        results["machine"] = f"{mach['cpu_model']}, {mach['nproc']} cores, {mach['ram_gb']} GB, {mach['postgresql']}"
        results["machine_detail"] = mach
        load_reference()
        ensure_bench_accounts(200)
        reference.invalidate()
        shape = Shape.from_reference(reference.snapshot(), 2025)
        if not args.skip_overhead:
            say("(1) posting with the outbox on and off")
            books = {"on": make_books(11, 2025, "dwh_on"), "off": make_books(12, 2025, "dwh_off")}
            gens = {"on": Generator(shape, 10_000_000, seed=7, prefix="ON"),
                    "off": Generator(shape, 10_000_000, seed=7, prefix="OFF")}
            results["overhead"] = overhead(books, gens, rounds=3 if args.quick else 6)
            say(f"    {results['overhead']}")
        inst, actor = make_books(13, 2025, "dwh_tp")
        gen = Generator(shape, args.operations, seed=8, prefix="TP")
        results["throughput"] = throughput(inst, actor, gen, args.operations, admin_url, args.database, key, workdir,
                                           args.batch_events)
        if not args.skip_lag:
            lag_books = make_books(14, 2025, "dwh_lag")
            results["lag"] = steady_lag(*lag_books, Generator(shape, 10_000_000, seed=9, prefix="LG"), admin_url,
                                        args.database, key, workdir, args.lag_seconds, args.interval, args.rate)
            say(f"    lag {results['lag']}")
        out = ROOT / "bench" / "out" / f"dwh_export-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        text = markdown(results)
        print(text)
        if args.markdown:
            from .section import write_section

            write_section("dwh_export", text)
        return 0
    finally:
        connections.close_all()
        if not args.keep:
            for db in (args.database, f"{args.database}_recv", f"{args.database}_lag"):
                drop_database(admin_url, db)


if __name__ == "__main__":
    raise SystemExit(main())
