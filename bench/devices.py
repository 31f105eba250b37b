"""python -m bench.devices [--seconds 60] [--scanners 10] [--rate 5] [--workers 4] [--wait-quiet 600] [--keep]
[--no-markdown]

Scan-to-acknowledgement under load: `--scanners` simulated serial scanners, each on its own
pseudo-terminal, each read by its own scanner agent (pyserial → on-disk queue, fsync'ed →
HTTP), against gunicorn on a benchmark database (`esep_bench_devices`, dropped at the end),
each scanner scanning `--rate` labels a second for `--seconds` seconds, scans spread over a
count of `--assets` assets (3 % unknown codes, repeats as they fall).

(A) the whole path: the time from the scanner's last byte on the wire until the agent holds
    the server's acknowledgement (the outcome of the count).
(B) side by side, the same load sent straight to the API without agents or queue: the
    server's share of (A).

Afterwards it checks that nothing was lost: every scan written to a port is in the raw scan
store once and in the count once, and every agent's queue is drained.
"""

import argparse
import collections
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .__main__ import bench_url, drop_database, recreate_database, say
from .common import loadavg

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.devices", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--scanners", type=int, default=10)
    p.add_argument("--rate", type=float, default=5, help="scans a second per scanner")
    p.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    p.add_argument("--assets", type=int, default=5000)
    p.add_argument("--database", default="esep_bench_devices")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--skip-direct", action="store_true", help="run only (A)")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="first wait up to SECONDS for the 1-minute load average to fall below 1.0")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {}
    ordered = sorted(values_ms)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"n": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def setup_data(n_assets: int, scanners: int):
    """The world of the tests, a count of n_assets assets in progress, 2×scanners devices."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from devices import services
    from tests.devices_support import build_scanning
    from tests.factories import build_world

    s = build_scanning(build_world(), n=n_assets)
    devices = []
    for i in range(2 * scanners):
        device, token = services.create_device(actor=s.operator, institution=s.world.a, label=f"bench-{i + 1:02d}",
                                               terminator="CR")
        devices.append((device.pk, token))
    codes = [a.barcode for a in s.assets]
    from django.db import connections

    connections.close_all()
    return s.count.pk, codes, devices


def start_server(port: int, workers: int, threads: int, env: dict) -> subprocess.Popen:
    command = [str(ROOT / ".venv/bin/gunicorn"), "esep.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
               str(workers), "--threads", str(threads), "--worker-class", "gthread", "--log-level", "warning",
               "--keep-alive", "30", "--preload"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/login/", timeout=2)
            return server
        except requests.RequestException:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def warm_up(server: str, token: str, n: int) -> None:
    """Every worker opens its database connection and loads its URL map before the clock runs."""
    import requests

    def hit():
        with requests.Session() as http:
            for _i in range(5):
                http.get(f"{server}/api/v1/devices/me/", headers={"Authorization": f"Device {token}"}, timeout=30)

    threads = [threading.Thread(target=hit) for _i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) the gunicorn workers have used so far: load-independent cost."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def pick(rng: random.Random, codes: list[str]) -> str:
    if rng.random() < 0.03:
        return f"UNKNOWN-{rng.randrange(10**9)}"
    return rng.choice(codes)


def run_agents(server: str, devices, codes, args, tmp: Path) -> dict:
    """(A): pty → SerialReader → ScanQueue → HTTP; latency from the write to the ack."""
    from devices.agent import Agent, ScanQueue
    from devices.serial_reader import PortSettings
    from tests.devices_support import PtyScanner, wait_for

    latencies: list[float] = []
    lock = threading.Lock()
    agents, scanners, sent = [], [], collections.Counter()
    for index, (device_id, token) in enumerate(devices):
        link = tmp / f"scanner-{index}"
        scanner = PtyScanner(link, terminator=b"\r")
        written: collections.deque = collections.deque()

        def on_result(result, written=written):
            now = time.perf_counter()
            at = written.popleft()  # one device's scans are acknowledged in the order they were read
            with lock:
                latencies.append((now - at) * 1000)

        agent = Agent(server=server, device=device_id, token=token, queue=ScanQueue(tmp / f"queue-{index}.sqlite3"),
                      port=PortSettings(port=str(link), terminator="CR"), on_result=on_result, timeout=10)
        agent.start()
        agents.append((agent, written))
        scanners.append(scanner)
    for agent, _written in agents:
        wait_for(agent.reader.connected.is_set)

    stop_at = time.perf_counter() + args.seconds

    def scan_loop(index: int):
        rng = random.Random(index)
        scanner, written = scanners[index], agents[index][1]
        interval = 1 / args.rate
        next_at = time.perf_counter() + rng.random() * interval
        while next_at < stop_at:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            code = pick(rng, codes)
            written.append(time.perf_counter())
            scanner.scan(code)
            sent[index] += 1
            next_at += interval

    threads = [threading.Thread(target=scan_loop, args=(i,)) for i in range(len(devices))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(agent.drained() for agent, _w in agents):
        time.sleep(0.2)
    time.sleep(0.5)
    pending = sum(agent.queue.counts().get("pending", 0) for agent, _w in agents)
    for agent, _w in agents:
        agent.stop()
        agent.queue.close()
    for scanner in scanners:
        scanner.close()
    return {"latency": percentiles(latencies), "written": sum(sent.values()), "acknowledged": len(latencies),
            "pending_after": pending, "per_device": {devices[i][0]: n for i, n in sent.items()}}


def run_direct(server: str, devices, codes, args) -> dict:
    """(B): the same load straight to the API (one HTTP request a scan, keep-alive)."""
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    sent = collections.Counter()
    errors = collections.Counter()
    stop_at = time.perf_counter() + args.seconds

    def loop(index: int):
        device_id, token = devices[index]
        rng = random.Random(1000 + index)
        http = requests.Session()
        http.headers["Authorization"] = f"Device {token}"
        interval = 1 / args.rate
        next_at = time.perf_counter() + rng.random() * interval
        seq = 0
        while next_at < stop_at:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            seq += 1
            start = time.perf_counter()
            try:
                r = http.post(f"{server}/api/v1/devices/scans/", json={"device": device_id, "scans": [
                    {"seq": seq, "raw": pick(rng, codes)}]}, timeout=10)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                sent[index] += 1
                if not ok:
                    errors[index] += 1
            next_at += interval
        http.close()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(devices))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latency": percentiles(latencies), "written": sum(sent.values()), "errors": sum(errors.values()),
            "per_device": {devices[i][0]: n for i, n in sent.items()}}


def check(count_id: int, expected_per_device: dict) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT device_id, count(*), count(DISTINCT seq) FROM devices_scan GROUP BY device_id")
        stored = {d: (n, distinct) for d, n, distinct in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM inventory_scan WHERE count_id = %s", [count_id])
        in_count = cursor.fetchone()[0]
        cursor.execute("SELECT flag, count(*) FROM devices_scan GROUP BY flag ORDER BY flag")
        flags = dict(cursor.fetchall())
    missing = {d: n - stored.get(d, (0, 0))[0] for d, n in expected_per_device.items()
               if stored.get(d, (0, 0))[0] != n}
    total = sum(expected_per_device.values())
    return {"expected": total, "stored": sum(n for n, _d in stored.values()), "in_count": in_count,
            "duplicates": sum(n - d for n, d in stored.values()), "missing_by_device": missing, "flags": flags}


def machine() -> str:
    cpu = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu or 'unknown CPU'})"


def markdown(args, results: dict) -> str:
    a, b, c = results["agents"], results.get("direct"), results["check"]

    def row(name, r):
        lat = r["latency"]
        client = f"{r['client_cpu_ms']:.1f}" if "client_cpu_ms" in r else "—"
        return (f"| {name} | {r['written']:,} | {lat.get('p50', 0):.1f} | {lat.get('p90', 0):.1f} | "
                f"**{lat.get('p99', 0):.1f}** | {lat.get('max', 0):.1f} | {r.get('server_cpu_ms', 0):.1f} | "
                f"{client} |")

    verdict = "met" if a["latency"].get("p99", 1e9) <= 100 and c["ok"] else "NOT met"
    lines = [
        f"Run {results['when']} on {results['machine']}; 1-minute load average {results['load_start']} at start, "
        f"{results['load_end']} at the end (other work on the machine raises the latencies, not the CPU per scan).",
        "",
        f"`python -m bench.devices --seconds {args.seconds:g} --scanners {args.scanners} --rate {args.rate:g}`: "
        f"{args.scanners} simulated serial scanners (one pseudo-terminal each, real pyserial I/O), each read by its "
        f"own scanner agent (queue on disk, sqlite WAL, fsync per scan), {args.rate:g} scans/s each for "
        f"{args.seconds:g} s, against gunicorn ({args.workers} workers × {args.threads} threads, DEBUG off) on a "
        f"separate database; a count of {args.assets:,} assets, 3 % unknown codes, repeats as they fall.",
        "",
        "| path | scans | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/scan | agents' CPU ms/scan |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        row("(A) scanner → agent (queue, fsync) → API → count → ack", a),
    ]
    if b:
        lines.append(row("(B) same load straight to the API (server share)", b))
    lines += [
        "",
        "Server CPU ms/scan is the gunicorn workers' user+system time divided by the scans: it does not grow "
        "with other work on the machine, unlike the latencies (a 1-minute load average above the 2 cores means "
        "the run waited for CPU). Agents' CPU is the bench process (10 agents, readers and simulated scanners).",
        "",
        f"Target p99 scan-to-acknowledgement ≤ 100 ms: **{verdict}** (A: p99 {a['latency'].get('p99', 0):.1f} ms).",
        f"Nothing lost: {c['expected']:,} scans written to the ports and posted; {c['stored']:,} in the raw scan "
        f"store, {c['in_count']:,} in the count, {c['duplicates']} duplicates, missing per device "
        f"{c['missing_by_device'] or 'none'}, agents' queues pending after the run: {a['pending_after']}. "
        f"Outcomes: {', '.join(f'{k} {v:,}' for k, v in c['flags'].items())}.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    deadline = time.monotonic() + args.wait_quiet
    while args.wait_quiet and loadavg() >= 1.0 and time.monotonic() < deadline:
        time.sleep(5)
    load_start = loadavg()
    admin_url, url = bench_url(args.database)
    recreate_database(admin_url, args.database)
    env = {**os.environ, "DATABASE_URL": url, "ESEP_DEBUG": "0", "ESEP_SSL_REDIRECT": "0",
           "ESEP_SECRET_KEY": os.environ.get("ESEP_SECRET_KEY") or secrets.token_urlsafe(50),
           "ESEP_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SETTINGS_MODULE": "esep.settings"}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "ESEP_DEBUG", "ESEP_SECRET_KEY", "ESEP_SSL_REDIRECT",
                                           "ESEP_ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()
    server = None
    try:
        say(f"database {args.database}: migrating and building a count of {args.assets} assets")
        count_id, codes, devices = setup_data(args.assets, args.scanners)
        port = free_port()
        server = start_server(port, args.workers, args.threads, env)
        base = f"http://127.0.0.1:{port}"
        warm_up(base, devices[0][1], args.workers * args.threads * 4)
        results = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
                   "load_start": load_start}
        with tempfile.TemporaryDirectory() as tmp:
            say(f"(A) {args.scanners} agents × {args.rate} scans/s × {args.seconds} s")
            cpu_server, cpu_client = server_cpu_seconds(server), time.process_time()
            results["agents"] = run_agents(base, devices[: args.scanners], codes, args, Path(tmp))
            a = results["agents"]
            a["server_cpu_ms"] = (server_cpu_seconds(server) - cpu_server) * 1000 / max(a["written"], 1)
            a["client_cpu_ms"] = (time.process_time() - cpu_client) * 1000 / max(a["written"], 1)
        say(f"(A) {results['agents']['latency']}")
        expected = dict(results["agents"]["per_device"])
        if not args.skip_direct:
            say("(B) the same load straight to the API")
            cpu_server = server_cpu_seconds(server)
            results["direct"] = run_direct(base, devices[args.scanners:], codes, args)
            d = results["direct"]
            d["server_cpu_ms"] = (server_cpu_seconds(server) - cpu_server) * 1000 / max(d["written"], 1)
            say(f"(B) {results['direct']['latency']} errors {results['direct']['errors']}")
            expected.update(results["direct"]["per_device"])
        results["check"] = check(count_id, expected)
        c = results["check"]
        c["ok"] = (c["stored"] == c["expected"] == c["in_count"] and not c["duplicates"]
                   and not c["missing_by_device"] and results["agents"]["pending_after"] == 0)
        results["load_end"] = loadavg()
        text = markdown(args, results)
        print(text)
        if args.markdown:
            from .section import write_section

            write_section("devices", text)
        return 0 if c["ok"] else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(admin_url, args.database)


if __name__ == "__main__":
    sys.exit(main())
