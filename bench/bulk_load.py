"""(b) Postings per second through ledger.bulk.load_entries, beside raw COPY.

The same generator output goes, chunk by chunk, (1) into an unconstrained scratch table by
plain COPY (no index, no constraint, no trigger: the raw limit of this machine and client),
then (2) through load_entries (validation, journal, every trigger). The loads build the
ledger that (c) and (d) read.

Each load is timed on its own, so a slowdown as the ledger grows shows in the first and
last loads' rates.
"""

from django.db import connection, transaction

from ledger import bulk, facts, reference
from ledger.services import lock_for_posting
from rules import services as rules_services

from .common import loadavg, stopwatch
from .generate import Generator

SCRATCH = "bench_scratch_posting"


def _raw_copy(drafts, institution, ref) -> float:
    """Plain COPY of the drafts' postings into the scratch table, committed."""
    ids = list(range(1, len(drafts) + 1))
    with stopwatch() as t, transaction.atomic():
        pg = connection.cursor().connection
        with pg.cursor() as cursor:
            bulk._copy_rows(cursor, SCRATCH, bulk.POSTING_COLUMNS, bulk._posting_rows(institution, drafts, ids, ref))
    return t.seconds


def breakdown(institution, actor, gen: Generator) -> dict:
    """Where one load's time goes: the same steps as load_entries, timed one by one, in a
    transaction that is rolled back (SET CONSTRAINTS ALL IMMEDIATE runs the commit-time
    triggers: the seals and the deferred foreign-key checks)."""
    ref = reference.snapshot()
    drafts = gen.next_drafts(gen.entries_total)
    steps: dict[str, float] = {}

    class Rollback(Exception):
        pass

    with stopwatch() as t:
        bulk._draft_errors(drafts, ref)
    steps["validate (Python)"] = t.seconds
    try:
        with transaction.atomic():
            pg = connection.cursor().connection
            with stopwatch() as t:
                periods, balances = lock_for_posting(institution, drafts, ref)
                period_ids = {k: p.id for k, p in periods.items()}
            steps["lock periods and cash"] = t.seconds
            with stopwatch() as t:
                for draft in drafts:
                    rules_services.enforce(
                        "posting", facts.posting_facts(draft, ref, periods.get((draft.date.year, draft.date.month)),
                                                       balances),
                        institution=institution, actor=actor, on_date=draft.date)
            steps["ФЛК controls (rules engine, per draft)"] = t.seconds
            with pg.cursor() as cursor:
                cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
                with stopwatch() as t:
                    ids = bulk._reserve_entry_ids(cursor, len(drafts))
                steps["reserve ids"] = t.seconds
                with stopwatch() as t:
                    bulk._copy_rows(cursor, "ledger_journalentry", bulk.ENTRY_COLUMNS,
                                    bulk._entry_rows(institution, actor, drafts, ids, period_ids))
                steps["COPY entries (admission trigger, indexes)"] = t.seconds
                with stopwatch() as t:
                    bulk._copy_rows(cursor, "ledger_posting", bulk.POSTING_COLUMNS,
                                    bulk._posting_rows(institution, drafts, ids, ref))
                steps["COPY postings (admission trigger, turnover upsert, indexes)"] = t.seconds
                with stopwatch() as t:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                steps["commit-time triggers (balance check and seal, deferred checks)"] = t.seconds
            raise Rollback
    except Rollback:
        pass
    total = sum(steps.values())
    return {"entries": len(drafts), "postings": 3 * len(drafts),
            "seconds": {k: round(v, 3) for k, v in steps.items()},
            "share": {k: round(v / total, 3) for k, v in steps.items()},
            "postings_per_s": round(3 * len(drafts) / total)}


def run(institution, actor, gen: Generator, *, chunk: int) -> dict:
    ref = reference.snapshot()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(f"CREATE TABLE {SCRATCH} AS SELECT * FROM ledger_posting WITH NO DATA")
    result: dict = {"chunk_entries": chunk, "loadavg_before": loadavg()}
    generate_s = raw_s = 0.0
    loads: list[tuple[int, float]] = []
    while gen.produced < gen.entries_total:
        with stopwatch() as t:
            drafts = gen.next_drafts(chunk)
        generate_s += t.seconds
        postings = sum(len(d.lines) for d in drafts)
        raw_s += _raw_copy(drafts, institution, ref)
        with stopwatch() as t:
            bulk.load_entries(institution=institution, actor=actor, drafts=drafts, source="bench")
        loads.append((postings, t.seconds))
        del drafts
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH}")
    postings = sum(p for p, _s in loads)
    seconds = sum(s for _p, s in loads)
    result.update({
        "postings": postings, "entries": gen.produced, "loads": len(loads), "generate_seconds": round(generate_s, 1),
        "raw_copy": {"postings": postings, "seconds": round(raw_s, 2), "postings_per_s": round(postings / raw_s)},
        "load_entries": {"postings": postings, "seconds": round(seconds, 2),
                         "postings_per_s": round(postings / seconds),
                         "first_load_postings_per_s": round(loads[0][0] / loads[0][1]),
                         "last_load_postings_per_s": round(loads[-1][0] / loads[-1][1]),
                         "slowest_load_seconds": round(max(s for _p, s in loads), 2),
                         "seconds_per_load": [round(s, 2) for _p, s in loads]},
        "loadavg_after": loadavg(),
    })
    return result
