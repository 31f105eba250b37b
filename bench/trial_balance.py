"""(c) Trial balance over the bulk-loaded ledger: from turnovers and by a full GROUP BY.

Run after VACUUM ANALYZE of the ledger tables (what autovacuum does after a load), with
warm-up calls first; each figure is the median of several calls of the real query
functions (ledger.queries), Python assembly included.
"""

import datetime as dt
from decimal import Decimal

from django.db import connection

from ledger.queries import trial_balance, trial_balance_by_scan

from .common import loadavg, median_ms, stopwatch


def ranges(year: int) -> dict[str, tuple[dt.date, dt.date]]:
    return {
        "year": (dt.date(year, 1, 1), dt.date(year, 12, 31)),
        "month": (dt.date(year, 6, 1), dt.date(year, 6, 30)),
        "partial": (dt.date(year, 3, 15), dt.date(year, 9, 10)),  # whole months from turnovers, edges from postings
    }


def net_by_code(tb) -> dict[str, Decimal]:
    """Debit minus credit turnover per account code, zero rows left out."""
    return {r.code: r.debit - r.credit for r in tb.rows if r.debit - r.credit}


def sizes(institution_id: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting WHERE institution_id = %s", [institution_id])
        postings = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM ledger_turnover WHERE institution_id = %s", [institution_id])
        turnovers = cursor.fetchone()[0]
        cursor.execute("SELECT count(DISTINCT account_id), count(DISTINCT specific) FROM ledger_turnover "
                       "WHERE institution_id = %s", [institution_id])
        accounts, specifics = cursor.fetchone()
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('ledger_posting')), "
                       "pg_size_pretty(pg_total_relation_size('ledger_journalentry'))")
        posting_size, entry_size = cursor.fetchone()
    return {"postings": postings, "turnover_rows": turnovers, "accounts": accounts, "specifics": specifics,
            "ledger_posting_size": posting_size, "ledger_journalentry_size": entry_size}


def vacuum_analyze() -> float:
    with stopwatch() as t, connection.cursor() as cursor:
        for table in ("ledger_posting", "ledger_journalentry", "ledger_turnover", "ledger_entryseal",
                      "ledger_period", "ledger_account"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return t.seconds


def run(institution_id: int, year: int, runs: int, expected_net: dict[str, Decimal]) -> dict:
    result: dict = {"vacuum_analyze_seconds": round(vacuum_analyze(), 1), "size": sizes(institution_id),
                    "loadavg_before": loadavg()}
    timings, agree = {}, {}
    for name, (start, end) in ranges(year).items():
        timings[f"turnovers_{name}"] = median_ms(lambda s=start, e=end: trial_balance(institution_id, s, e), runs)
        timings[f"scan_{name}"] = median_ms(lambda s=start, e=end: trial_balance_by_scan(institution_id, s, e), runs)
        from_turnovers = trial_balance(institution_id, start, end)
        by_scan = trial_balance_by_scan(institution_id, start, end)
        agree[name] = [(r.code, r.opening, r.debit, r.credit) for r in from_turnovers.rows] == [
            (r.code, r.opening, r.debit, r.credit) for r in by_scan.rows]
    year_tb = trial_balance(institution_id, *ranges(year)["year"])
    result.update({
        "timings": timings,
        "turnovers_equal_scan": agree,
        "equals_generator_totals": net_by_code(year_tb) == {k: v for k, v in expected_net.items() if v},
        "accounts_in_year": len(year_tb.rows),
        "loadavg_after": loadavg(),
    })
    return result
