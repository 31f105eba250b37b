"""ФЛК engine: checks per second, time per check, memory over 100,000 checks in a row, and
the time the posting controls add to a posting.

    python -m bench.rules_bench          # engine only (no database)
    run()                                # inside `python -m bench`: engine + posting path

Targets (issue 3): ≥ 20,000 checks/s; ≤ 0.3 ms added per posting.

The posting part measures the product's own code: ledger.facts (facts and the cash locks)
and rules.services.enforce, as ledger.services._write runs them.
"""

import datetime as dt
import gc
import statistics
import threading
import time
from collections.abc import Sequence
from decimal import Decimal

CHECKS = 20_000
MEMORY_CHECKS = 100_000
THREADS = 8
POSTINGS = 2_000


# -- proposed for ledger/services.py ------------------------------------------------------

def lock_periods_and_cash(institution, drafts: Sequence, ref, *, cash: bool = True) -> tuple[dict, dict[str, int]]:
    """What ledger.services._write locks and reads before it builds the posting facts
    (ledger.services.lock_for_posting); `cash=False` measures the period part alone."""
    from ledger.services import lock_for_posting

    return lock_for_posting(institution, drafts, ref, cash=cash)


def posting_facts(draft, ref, period, balances: dict[str, int]) -> dict:
    from ledger import facts

    return facts.posting_facts(draft, ref, period, balances)


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def sample_posting_facts(lines: int = 3, *, bad: bool = False) -> dict:
    """A posting's facts as the builder makes them: `lines` lines, passing or failing every
    posting control."""
    rows = []
    for i in range(lines):
        rows.append({
            "account": "7010" if i == 0 else "1010", "specific": "111" if not bad else "414",
            "account_has_correspondence_rows": i == 0, "corresponds": not bad, "specific_valid": True,
            "programme": "261.003.015", "programme_valid": not bad, "is_cash": i > 0,
            "decreases_balance": i > 0, "balance_after_tiyn": 10_000 if not bad else -1,
        })
    return {"period_status": "closed" if bad else "open", "period": "2026-03", "date": "2026-03-05",
            "debit_tiyn": 300_000, "credit_tiyn": 300_000 - (1 if bad else 0), "lines": rows}


def _rate(fn, n: int) -> dict:
    for _ in range(min(1_000, n // 10)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    seconds = time.perf_counter() - start
    return {"checks": n, "checks_per_s": round(n / seconds), "us_per_check": round(seconds / n * 1e6, 1)}


def engine_figures(checks: int = CHECKS, memory_checks: int = MEMORY_CHECKS) -> dict:
    from rules import engine

    check = engine.check
    passing, blocking = sample_posting_facts(), sample_posting_facts(bad=True)
    advance = {"month": "2026-03", "employee": "0001", "monthly_salary_tiyn": 30_000_000,
               "advances_paid_tiyn": 0, "this_tiyn": 15_000_000}
    figures = {
        "posting_pass_3_lines": _rate(lambda: check("posting", passing), checks),
        "posting_block_3_lines_7_hits": _rate(lambda: check("posting", blocking), checks // 4),
        "advance_pass_1_fact": _rate(lambda: check("advance", advance), checks),
    }
    lines_500 = sample_posting_facts(500)
    figures["posting_pass_500_lines"] = _rate(lambda: check("posting", lines_500), 200)

    # 100,000 checks in a row: RSS after a warm-up, then after the run (kB, /proc/self/status)
    for _ in range(2_000):
        check("posting", passing)
        check("posting", blocking)
    gc.collect()
    before = _rss_kb()
    start = time.perf_counter()
    for n in range(memory_checks):
        check("posting", blocking if n % 10 == 0 else passing)
    seconds = time.perf_counter() - start
    gc.collect()
    after = _rss_kb()
    figures["memory"] = {"checks": memory_checks, "blocking_share": 0.1, "rss_kb_before": before,
                         "rss_kb_after": after, "rss_kb_growth": after - before, "seconds": round(seconds, 2)}

    # 8 threads at once: the lock serialises the engine; verdicts must equal sequential ones
    expected = [check("posting", blocking if n % 3 == 0 else passing) for n in range(300)]
    mismatches = []
    per_thread = 2_000

    def worker():
        for n in range(per_thread):
            got = check("posting", blocking if n % 3 == 0 else passing)
            if got != expected[n % 300]:
                mismatches.append(n)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    figures["threads"] = {"threads": THREADS, "checks": THREADS * per_thread,
                          "checks_per_s": round(THREADS * per_thread / seconds), "mismatches": len(mismatches)}
    return figures


def posting_figures(postings: int = POSTINGS) -> dict:
    """Time the posting controls add to a posting: building the facts from the reference
    snapshot and the locked period, enforce (parameters, switches, engine), and — only when
    the entry pays out of a cash account — the advisory lock and the balance read, which ride
    in the round trip that already locks the period rows. added_ms = facts and enforce + (the
    period lock with the cash part − without it). Runs in a transaction rolled back at the end."""
    from django.db import transaction

    from ledger import reference
    from ledger.drafts import EntryDraft, LineDraft
    from ledger.services import post_entry
    from rules.services import enforce

    from .fixtures import make_books

    ref = reference.snapshot()
    year = 2026
    cash = sorted(code for code, a in ref.accounts.items() if a.is_cash)
    expense = [row for rows in ref.correspondence.values() for row in rows]
    if not cash or not expense or not ref.programmes:
        return {"skipped": "no reference data (ledger.loading.load_reference) in this database"}
    pair = expense[0]
    programme = sorted(ref.programmes)[0]

    def line(account, side, tiyn, specific):
        return LineDraft(account=account, side=side, amount=Decimal(tiyn).scaleb(-2), specific=specific,
                         administrator=programme[0], programme=programme[1], subprogramme=programme[2],
                         funding_source=sorted(ref.funding_sources)[0])

    non_cash = next(code for code, a in sorted(ref.accounts.items()) if not a.is_cash and code not in
                    ref.correspondence)
    drafts_plain = [EntryDraft(date=dt.date(year, 3, 1 + n % 28), doc_type="МО", doc_number=f"RB-{n}",
                               description="bench", lines=(line(pair.account.code, "D", 10_000 + n, pair.specific.code),
                                                           line(non_cash, "C", 10_000 + n, pair.specific.code)))
                    for n in range(postings)]
    def drafts(debit: str, credit: str) -> list:
        return [EntryDraft(date=d.date, doc_type="МО", doc_number=d.doc_number, description="bench",
                           lines=(line(debit, "D", 10_000 + n, pair.specific.code),
                                  line(credit, "C", 10_000 + n, pair.specific.code)))
                for n, d in enumerate(drafts_plain)]

    cases = (("no_cash_account", drafts_plain), ("cash_in", drafts(cash[0], non_cash)),
             ("cash_out_lock_and_read", drafts(pair.account.code, cash[0])))
    results = {}
    with transaction.atomic():
        institution, actor = make_books(90, year, f"rules_bench_{time.time_ns()}")
        # money in the cash account first, so paying out of it passes FLC-LED-004
        post_entry(institution=institution, actor=actor, draft=EntryDraft(
            date=dt.date(year, 1, 10), doc_type="МО", doc_number="RB-0", description="opening cash",
            lines=(line(cash[0], "D", 10**12, pair.specific.code), line(non_cash, "C", 10**12, pair.specific.code))))
        for name, batch in cases:
            today, without_cash, with_cash, rules_ms = [], [], [], []
            for n, draft in enumerate(batch):
                # the reads under lock: the period part alone and with the cash locks and
                # balances in its second round trip, alternated so that drift hits both alike;
                # the period part alone, for reference
                start = time.perf_counter()
                lock_periods_and_cash(institution, [draft], ref, cash=False)
                today.append((time.perf_counter() - start) * 1000)
                for with_cash_part in ((False, True) if n % 2 else (True, False)):
                    start = time.perf_counter()
                    periods, balances = lock_periods_and_cash(institution, [draft], ref, cash=with_cash_part)
                    (with_cash if with_cash_part else without_cash).append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                facts = posting_facts(draft, ref, periods.get((draft.date.year, draft.date.month)), balances)
                enforce("posting", facts, institution=institution, actor=actor, on_date=draft.date)
                rules_ms.append((time.perf_counter() - start) * 1000)
            cash_part = statistics.median(with_cash) - statistics.median(without_cash)
            results[name] = {
                "postings": len(batch),
                "period_lock_today_median_ms": round(statistics.median(today), 4),
                "period_lock_same_statements_median_ms": round(statistics.median(without_cash), 4),
                "with_cash_part_median_ms": round(statistics.median(with_cash), 4),
                "facts_and_enforce_median_ms": round(statistics.median(rules_ms), 4),
                "facts_and_enforce_p95_ms": round(sorted(rules_ms)[int(len(rules_ms) * 0.95)], 4),
                "added_ms": round(max(cash_part, 0) + statistics.median(rules_ms), 4),
            }
        transaction.set_rollback(True)
    results["target_ms"] = 0.3
    return results


def run(*, database: bool = True) -> dict:
    """Figures for BENCHMARKS.md: engine throughput and memory, and (with a database holding
    the reference data) the time added per posting."""
    from rules import engine

    results = {"engine": engine_figures(), "target_checks_per_s": 20_000}
    results["catalogue"] = {"controls": len(engine.default().catalogue.rules),
                            "scopes": list(engine.default().scopes)}
    if database:
        results["posting"] = posting_figures()
    return results


if __name__ == "__main__":
    import json
    import os
    import sys

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esep.settings")
    import django

    django.setup()
    print(json.dumps(run(database="--db" in sys.argv), indent=2, ensure_ascii=False))
