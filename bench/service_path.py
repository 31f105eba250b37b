"""(a) Entries per second through the service path, with controls and the action journal.

Three ways of writing the same kind of entry (three postings), each into its own institution
so no chain head is shared, on the database the bulk load has filled:
- post_entry, one entry per transaction, in a fresh database session;
- post_entries in batches (one transaction and one journal row per batch of 1,000 entries),
  read against the target of 2,000 entries/s;
- post_entry again, in a new session whose first posting insert was a batch of 1,000:
  PL/pgSQL keeps the plan of a trigger statement for the session, made for the first
  transition table it saw;
- the limit: the whole entry as one SQL statement (CTEs), one round trip, autocommit, on a
  plain psycopg 3 connection. Every database trigger runs; no Python checks, no journal.
  The one-per-transaction target is ≥ 50% of this rate, measured interleaved with post_entry
  (blocks of 50) so both see the same load from the rest of the machine.
"""

import psycopg
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import reference
from ledger.services import post_entries, post_entry

from .common import loadavg, stopwatch
from .generate import Generator, Shape

BATCH_ENTRIES = 1_000
INTERLEAVE_BLOCK = 50

RAW_ENTRY_SQL = """
WITH e AS (
    INSERT INTO ledger_journalentry (institution_id, period_id, date, doc_type, doc_number, description, basis,
                                     author_id, created_at, kind)
    SELECT %(inst)s, per.id, %(date)s, %(doc_type)s, %(doc_number)s, %(description)s, '', %(author)s, now(),
           'regular'
      FROM ledger_period per
     WHERE per.institution_id = %(inst)s AND per.year = %(year)s AND per.month = %(month)s
    RETURNING id
)
INSERT INTO ledger_posting (institution_id, entry_id, line_no, date, account_id, side, amount, administrator,
                            programme, subprogramme, specific, funding_source_id, description)
SELECT %(inst)s, e.id, v.line_no, %(date)s, v.account_id, v.side, v.amount, %(adm)s, %(prog)s, %(sub)s,
       v.specific, v.funding_source_id, v.description
  FROM e, unnest(%(line_no)s::smallint[], %(account)s::bigint[], %(side)s::text[], %(amount)s::numeric[],
                 %(specific)s::text[], %(funding)s::bigint[], %(descr)s::text[])
          AS v(line_no, account_id, side, amount, specific, funding_source_id, description)
"""


def _raw_params(draft, institution_id: int, author_id: int, ref) -> dict:
    lines = draft.lines
    return {
        "inst": institution_id, "date": draft.date, "year": draft.date.year, "month": draft.date.month,
        "doc_type": draft.doc_type, "doc_number": draft.doc_number,
        "description": draft.description, "author": author_id, "adm": lines[0].administrator,
        "prog": lines[0].programme, "sub": lines[0].subprogramme,
        "line_no": list(range(1, len(lines) + 1)), "account": [ref.accounts[x.account].id for x in lines],
        "side": [x.side for x in lines], "amount": [x.amount for x in lines], "specific": [x.specific for x in lines],
        "funding": [ref.funding_sources[x.funding_source].id for x in lines], "descr": [x.description for x in lines],
    }


def _dsn() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None, port=str(db.get("PORT") or "") or None,
    )


def round_trips(books_batch, books_single, gen_batch: Generator, gen_single: Generator) -> dict:
    """The statements one post_entry and one post_entries batch send (outside the timings)."""
    reference.snapshot()  # warm: the snapshot reloads (5 queries) at most every 30 s, not per entry
    inst, user = books_single
    with CaptureQueriesContext(connection) as single:
        post_entry(institution=inst, actor=user, draft=gen_single.next_drafts(1)[0])
    inst, user = books_batch
    with CaptureQueriesContext(connection) as batch:
        post_entries(institution=inst, actor=user, drafts=gen_batch.next_drafts(10))

    def summary(captured):
        return [" ".join(q["sql"].split())[:110] for q in captured.captured_queries]

    return {"post_entry": summary(single), "post_entries_10": summary(batch)}


def _singles(drafts, books, raw_cursor, raw_params) -> tuple[float, float]:
    """post_entry for each draft, interleaved in blocks with the one-statement limit."""
    inst, user = books
    single_s = raw_s = 0.0
    for start in range(0, len(drafts), INTERLEAVE_BLOCK):
        with stopwatch() as t:
            for draft in drafts[start:start + INTERLEAVE_BLOCK]:
                post_entry(institution=inst, actor=user, draft=draft)
        single_s += t.seconds
        with stopwatch() as t:
            for p in raw_params[start:start + INTERLEAVE_BLOCK]:
                raw_cursor.execute(RAW_ENTRY_SQL, p)
        raw_s += t.seconds
    return single_s, raw_s


def _rates(n: int, single_s: float, raw_s: float) -> dict:
    return {"entries": n, "seconds": round(single_s, 2), "entries_per_s": round(n / single_s),
            "raw_entries_per_s": round(n / raw_s), "share_of_raw": round(raw_s / single_s, 3)}


def run(books_batch, books_single, books_raw, *, year: int, batches: int, singles: int, singles_after: int,
        capture_round_trips: bool = True) -> dict:
    ref = reference.snapshot()
    shape = Shape.from_reference(ref, year)
    result: dict = {"batch_entries": BATCH_ENTRIES, "loadavg_before": loadavg()}
    gen_single = Generator(shape, singles + singles_after + 10, seed=12, prefix="ОД")
    gen_raw = Generator(shape, singles + singles_after + 1, seed=13, prefix="SQL")
    raw_inst, raw_user = books_raw
    raw_params = [_raw_params(d, raw_inst.id, raw_user.id, ref)
                  for d in gen_raw.next_drafts(singles + singles_after + 1)]
    connection.close()  # a fresh session: no plan cached from earlier work
    with psycopg.connect(_dsn(), autocommit=True) as conn, conn.cursor() as raw_cursor:
        raw_cursor.execute(RAW_ENTRY_SQL, raw_params.pop())  # the first one plans the statement

        # One entry per transaction, fresh session.
        single_s, raw_s = _singles(gen_single.next_drafts(singles), books_single, raw_cursor, raw_params[:singles])
        result["single"] = _rates(singles, single_s, raw_s)

        # Batches through post_entries.
        gen = Generator(shape, (batches + 1) * BATCH_ENTRIES + 10, seed=11, prefix="ПАК")
        inst, user = books_batch
        per_batch = []
        for _ in range(batches):
            drafts = gen.next_drafts(BATCH_ENTRIES)
            with stopwatch() as t:
                post_entries(institution=inst, actor=user, drafts=drafts)
            per_batch.append(round(t.seconds, 3))
        total = sum(per_batch)
        result["batch"] = {
            "entries": batches * BATCH_ENTRIES, "postings": 3 * batches * BATCH_ENTRIES, "seconds": round(total, 2),
            "entries_per_s": round(batches * BATCH_ENTRIES / total), "seconds_per_batch": per_batch,
            "first_batch_entries_per_s": round(BATCH_ENTRIES / per_batch[0]),
            "last_batch_entries_per_s": round(BATCH_ENTRIES / per_batch[-1]),
        }

        # One entry per transaction again, in a new session whose first posting insert is a
        # batch of 1,000 (as in a web worker whose first request was a batch).
        connection.close()
        post_entries(institution=inst, actor=user, drafts=gen.next_drafts(BATCH_ENTRIES))
        single_s, raw_s = _singles(gen_single.next_drafts(singles_after), books_single, raw_cursor,
                                   raw_params[singles:])
        result["single_after_batches"] = _rates(singles_after, single_s, raw_s)
    result["raw_one_round_trip"] = {"entries_per_s": result["single"]["raw_entries_per_s"]}
    if capture_round_trips:
        result["round_trips"] = round_trips(books_batch, books_single, gen, gen_single)
    result["loadavg_after"] = loadavg()
    return result
