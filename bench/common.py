"""Timing, the machine's description and small helpers shared by the benchmark sections."""

import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def loadavg() -> float:
    """1-minute load average: other work on this 2-core machine moves every figure."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return -1.0


@contextmanager
def stopwatch():
    """with stopwatch() as t: ...; t.seconds"""

    class Result:
        seconds = 0.0

    result = Result()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start


def median_ms(fn, runs: int, warmup: int = 2) -> dict:
    """Median (and min/max) wall time of fn() in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "runs": runs}


def _first_line(cmd: list[str]) -> str:
    if not shutil.which(cmd[0]):
        return "not installed"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def machine(cursor) -> dict:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    cursor.execute("SELECT version()")
    pg_version = cursor.fetchone()[0]
    settings = {}
    for name in ("shared_buffers", "work_mem", "synchronous_commit", "fsync", "max_wal_size", "jit"):
        cursor.execute(f"SHOW {name}")
        settings[name] = cursor.fetchone()[0]
    try:
        from importlib.metadata import version

        packages = {p: version(p) for p in ("Django", "psycopg", "django-pgtrigger", "beancount")}
    except Exception:  # noqa: BLE001 (best effort description)
        packages = {}
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "ram_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "postgresql": pg_version.split(" on ")[0],
        "postgresql_settings": settings,
        "packages": packages,
        "hledger": _first_line(["hledger", "--version"]),
        "ledger": _first_line(["ledger", "--version"]),
        "loadavg_start": loadavg(),
    }


def _cpu_by_pid() -> dict[int, tuple[str, int]]:
    """pid → (command line, user+system clock ticks so far) of every process on the machine."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (cmdline, int(fields[11]) + int(fields[12]))
    return table


class OthersCpu:
    """CPU used by processes that are not the benchmark's during a section, in cores on
    average: other work on a 2-core machine moves every figure, so each section reports it.

    Ours: this process and its children, and the PostgreSQL backends of the benchmark
    database. Processes born and dead inside the section are not seen (an underestimate)."""

    def __init__(self, database: str):
        self.database = database
        self.me = os.getpid()

    def _ours(self, pid: int, cmdline: str) -> bool:
        return pid == self.me or f" {self.database} " in f"{cmdline} "

    def __enter__(self):
        self.start = _cpu_by_pid()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        end = _cpu_by_pid()
        ticks = 0
        for pid, (cmdline, total) in end.items():
            if self._ours(pid, cmdline) or _is_descendant(pid, self.me):
                continue
            ticks += total - self.start.get(pid, (cmdline, 0))[1]
        seconds = time.perf_counter() - self.started
        self.cores = round(ticks / os.sysconf("SC_CLK_TCK") / seconds, 2) if seconds > 0 else 0.0
        return False


def _is_descendant(pid: int, ancestor: int) -> bool:
    for _ in range(20):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return False
        pid = int(fields[1])
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
    return False
