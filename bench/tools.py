"""(d) The same ledger as journals for ledger-cli, hledger and beancount, and their time to
compute the same balances.

The journals are exported from the database (not from the generator), so what the tools sum
is what Esep holds. Each tool runs as a separate process with a time limit; wall time and
peak memory (ru_maxrss) come from wait4(). Every per-account total must equal Esep's exactly.
"""

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal

from django.db import connection

from ledger.models import Account, AccountKind

from .common import OUT

ROOT = {AccountKind.ASSET: "Assets", AccountKind.CONTRA_ASSET: "Assets", AccountKind.LIABILITY: "Liabilities",
        AccountKind.NET_ASSETS: "Equity", AccountKind.INCOME: "Income", AccountKind.EXPENSE: "Expenses"}
EXPORT_SQL = """
COPY (SELECT p.entry_id, p.date, p.account_id, p.side, p.amount, e.doc_number, e.description
        FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id
       WHERE p.institution_id = {institution} AND p.entry_id <= {last_entry}
       ORDER BY p.entry_id, p.line_no) TO STDOUT
"""


def account_names() -> dict[int, str]:
    return {a.id: f"{ROOT[a.kind]}:A{a.code}" for a in Account.objects.all()}


def code_of(name: str) -> str:
    return name.rsplit(":A", 1)[1]


def export(institution_id: int, stem: str, last_entry: int | None = None) -> dict:
    """Write <stem>.journal (ledger-cli and hledger) and <stem>.beancount from the database."""
    names = account_names()
    OUT.mkdir(parents=True, exist_ok=True)
    journal_path, bean_path = OUT / f"{stem}.journal", OUT / f"{stem}.beancount"
    started = time.perf_counter()
    used: set[str] = set()
    postings = entries = 0
    with open(journal_path, "w", encoding="utf-8") as journal, open(bean_path, "w", encoding="utf-8") as bean:
        bean_body = io.StringIO()
        pg = connection.cursor().connection
        with pg.cursor() as cursor, cursor.copy(
                EXPORT_SQL.format(institution=int(institution_id), last_entry=int(last_entry or 2**62))) as copy:
            current = None
            for entry_id, date, account_id, side, amount, doc_number, description in copy.rows():
                if entry_id != current:
                    current = entry_id
                    entries += 1
                    text = f"{doc_number} {description}".replace('"', "'")
                    journal.write(f"\n{date} * {text}\n")
                    bean_body.write(f'\n{date} * "{text}"\n')
                name = names[int(account_id)]
                used.add(name)
                signed = amount if side == "D" else f"-{amount}"
                journal.write(f"    {name}  {signed} KZT\n")
                bean_body.write(f"  {name}  {signed} KZT\n")
                postings += 1
        bean.write('option "operating_currency" "KZT"\n\n')
        for name in sorted(used):
            bean.write(f"2000-01-01 open {name}\n")
        bean.write(bean_body.getvalue())
    return {"journal": str(journal_path), "beancount": str(bean_path), "entries": entries, "postings": postings,
            "journal_mb": round(journal_path.stat().st_size / 2**20, 1),
            "beancount_mb": round(bean_path.stat().st_size / 2**20, 1),
            "seconds": round(time.perf_counter() - started, 1)}


def run_process(cmd: list[str], timeout_s: float, env: dict | None = None) -> dict:
    """Run cmd; wall time, peak RSS (MB), exit code, stdout; killed after timeout_s."""
    out_path = OUT / "tool.stdout"
    err_path = OUT / "tool.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout_s:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": round(elapsed, 2), "rss_mb": round(usage.ru_maxrss / 1024), "exit": proc.returncode,
            "timed_out": timed_out, "stdout": out_path.read_text(encoding="utf-8", errors="replace"),
            "stderr": err_path.read_text(encoding="utf-8", errors="replace")[-2000:]}


AMOUNT = re.compile(r"(-?[\d,]*\.?\d+)\s*KZT")


def parse_ledger(text: str) -> dict[str, Decimal]:
    totals = {}
    for row in text.splitlines():
        if "\t" not in row:
            continue
        name, amount = row.split("\t", 1)
        m = AMOUNT.search(amount)
        if m and ":A" in name:
            totals[code_of(name.strip())] = Decimal(m.group(1).replace(",", ""))
    return totals


def parse_hledger_csv(text: str) -> dict[str, Decimal]:
    totals = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and ":A" in row[0]:
            m = AMOUNT.search(row[1])
            if m:
                totals[code_of(row[0])] = Decimal(m.group(1).replace(",", ""))
    return totals


def parse_beancount(text: str) -> dict[str, Decimal]:
    totals = {}
    for row in text.splitlines():
        if "\t" in row and ":A" in row:
            name, number = row.split("\t")
            totals[code_of(name)] = Decimal(number)
    return totals


def compare(theirs: dict[str, Decimal], ours: dict[str, Decimal]) -> dict:
    theirs = {k: v for k, v in theirs.items() if v}
    ours = {k: v for k, v in ours.items() if v}
    wrong = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    return {"accounts": len(ours), "equal": not wrong, "mismatches": len(wrong),
            "examples": {k: [str(theirs.get(k)), str(ours.get(k))] for k in wrong[:5]}}


def _range_args(tool: str, period: tuple[dt.date, dt.date] | None) -> list[str]:
    if not period:
        return []
    start, end = period
    end_excl = (end + dt.timedelta(days=1)).isoformat()
    return ["-b", start.isoformat(), "-e", end_excl]


def run_ledger(journal: str, period, timeout_s) -> tuple[dict, dict]:
    cmd = ["ledger", "-f", journal, "--flat", "--no-total", "--balance-format",
           "%(account)\t%(display_total)\n", *_range_args("ledger", period), "balance"]
    run = run_process(cmd, timeout_s)
    return run, parse_ledger(run["stdout"])


def run_hledger(journal: str, period, timeout_s) -> tuple[dict, dict]:
    cmd = ["hledger", "-f", journal, "balance", "--flat", "--no-total", "-O", "csv",
           *_range_args("hledger", period)]
    run = run_process(cmd, timeout_s)
    return run, parse_hledger_csv(run["stdout"])


def drop_beancount_cache() -> None:
    for cache in OUT.glob(".*.picklecache"):
        cache.unlink()


def run_beancount(path: str, period, timeout_s) -> tuple[dict, dict]:
    """beancount's loader (parse, book, validate; pickle cache on) and realization."""
    env = dict(os.environ)
    env.pop("BEANCOUNT_DISABLE_LOAD_CACHE", None)
    cmd = [sys.executable, "-m", "bench.beancount_balance", path]
    if period:
        cmd += ["--begin", period[0].isoformat(), "--end", (period[1] + dt.timedelta(days=1)).isoformat()]
    run = run_process(cmd, timeout_s, env=env)
    try:
        run["internal"] = json.loads(run["stderr"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        run["internal"] = None
    return run, parse_beancount(run["stdout"])


def tool_versions() -> dict:
    def first(cmd):
        if not shutil.which(cmd[0]):
            return None
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]

    from importlib.metadata import version

    return {"ledger": first(["ledger", "--version"]), "hledger": first(["hledger", "--version"]),
            "beancount": version("beancount")}


def measure(journal: str, bean: str, ours_year: dict, ours_month: dict, year_range, month_range,
            timeout_s: float, quick: bool) -> dict:
    """Each tool on the year and on one month (beancount: uncached, cached, month cached)."""
    runs: dict[str, dict] = {}

    def record(name, run_and_totals, ours):
        run, totals = run_and_totals
        entry = {k: v for k, v in run.items() if k not in ("stdout", "stderr")}
        entry["check"] = compare(totals, ours) if not run["timed_out"] and run["exit"] == 0 else None
        if run["exit"] != 0 and not run["timed_out"]:
            entry["stderr"] = run["stderr"][-500:]
        runs[name] = entry
        return entry

    record("ledger_year", run_ledger(journal, None, timeout_s), ours_year)
    record("ledger_month", run_ledger(journal, month_range, timeout_s), ours_month)
    record("hledger_year", run_hledger(journal, None, timeout_s), ours_year)
    if not quick:
        record("hledger_month", run_hledger(journal, month_range, timeout_s), ours_month)
    drop_beancount_cache()  # the first run parses the file and writes the pickle cache
    record("beancount_year_uncached", run_beancount(bean, None, timeout_s), ours_year)
    if not quick:
        record("beancount_year_cached", run_beancount(bean, None, timeout_s), ours_year)
        record("beancount_month_cached", run_beancount(bean, month_range, timeout_s), ours_month)
    drop_beancount_cache()
    return runs
