"""What-if: product changes BENCHMARKS.md proposes, applied to the benchmark database only
(never to the product's migrations) after every other measurement, then (a), (b) and the
partial-range trial balance measured again in the same run.

1. The admission triggers of postings and of entries plan their statements for the
   transition table they get when it is large (more than 100 rows: EXECUTE, planned each
   time) and keep the cached plan for small ones. PL/pgSQL otherwise keeps, for the whole
   database session, the plan made for the first transition table it saw: when a session's
   first insert is a batch or a bulk load, every later one-entry post in that session
   hashes the whole entry table.
2. The posting trigger's turnover upsert takes each posting's period from ledger_period by the posting's date
   (admission has just checked it equals its entry's date) instead of joining
   ledger_journalentry.
3. Single-column foreign-key indexes that a composite or unique index already leads with
   are dropped, if the schema still has any (postings and turnovers).
4. A covering index on postings (institution, date) for the partial months at the edges of
   a trial-balance range, if the schema has none.
"""

from django.db import connection

from .common import stopwatch

TURNOVER_FROM_OLD = (
    "    SELECT n.institution_id, e.period_id, n.account_id, n.specific, n.funding_source_id,",
    "      FROM new_rows n JOIN ledger_journalentry e ON e.id = n.entry_id\n     GROUP BY 1, 2, 3, 4, 5",
)
TURNOVER_FROM_NEW = (
    "    SELECT n.institution_id, per.id, n.account_id, n.specific, n.funding_source_id,",
    "      FROM new_rows n JOIN ledger_period per ON per.institution_id = n.institution_id\n"
    "       AND per.year = extract(year FROM n.date)::int AND per.month = extract(month FROM n.date)::int\n"
    "     GROUP BY 1, 2, 3, 4, 5",
)

REDUNDANT = {  # table: single columns whose own index nothing needs
    "ledger_posting": ("account_id", "counterparty_id", "entry_id", "funding_source_id", "institution_id"),
    "ledger_turnover": ("account_id", "funding_source_id", "institution_id", "period_id"),
}
def _switch(text: str, start: str, end: str, into: str | None) -> str:
    """The statement from `start` to `end` (inclusive): with EXECUTE, planned for the transition
    table at hand, above SWITCH_ROWS rows; the static statement (cached plan) below."""
    a = text.index(start)
    b = text.index(end, a) + len(end)
    static = text[a:b]
    dynamic = static.replace(f"      INTO {into}\n", "").rstrip(";") if into else static.rstrip(";")
    execute = f"EXECUTE $q${dynamic}$q$" + (f" INTO {into};" if into else ";")
    return (text[:a] + f"    IF (SELECT count(*) FROM new_rows) > {SWITCH_ROWS} THEN\n    {execute}\n"
            f"    ELSE\n{static}\n    END IF;" + text[b:])


def _posting_admit(text: str) -> str:
    text = _switch(text, "    SELECT n.entry_id, n.line_no,", "LIMIT 1;", "v_entry, v_line, v_fault")
    text = _switch(text, "    INSERT INTO ledger_turnover", "credit = ledger_turnover.credit + EXCLUDED.credit;", None)
    # EXECUTE … INTO does not set FOUND; both branches leave v_fault NULL when nothing is wrong
    return text.replace("    IF FOUND THEN\n        RAISE EXCEPTION USING ERRCODE = 'check_violation',\n"
                        "            MESSAGE = format('%s: posting line",
                        "    IF v_fault IS NOT NULL THEN\n        RAISE EXCEPTION USING ERRCODE = 'check_violation',\n"
                        "            MESSAGE = format('%s: posting line")


def _entry_admit(text: str) -> str:
    text = _switch(text, "    SELECT n.id,\n", "     LIMIT 1;", "v_entry, v_fault")
    raise_it = "\n        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = v_fault;"
    return text.replace("    IF FOUND THEN" + raise_it, "    IF v_fault IS NOT NULL THEN" + raise_it)


SWITCH_ROWS = 100
EDGE_INDEX = ("CREATE INDEX bench_posting_inst_date ON ledger_posting (institution_id, date) "
              "INCLUDE (account_id, side, amount)")


def apply() -> dict:
    applied = {}
    with stopwatch() as t, connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
                       "WHERE p.proname LIKE 'pgtrigger_posting_admit_%'")
        patched = []
        for (definition,) in cursor.fetchall():
            text = definition.replace("\r\n", "\n")
            if all(old in text for old in TURNOVER_FROM_OLD) and "EXECUTE $q$" not in text:
                for old, new in zip(TURNOVER_FROM_OLD, TURNOVER_FROM_NEW, strict=True):
                    text = text.replace(old, new)
                cursor.execute(_posting_admit(text))
                patched.append(f"postings: EXECUTE above {SWITCH_ROWS} rows, turnover period by date")
        cursor.execute("SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
                       "WHERE p.proname LIKE 'pgtrigger_entry_admit_%'")
        for (definition,) in cursor.fetchall():
            text = definition.replace("\r\n", "\n")
            if "    SELECT n.id,\n" in text and "INTO v_entry, v_fault" in text and "EXECUTE $q$" not in text:
                cursor.execute(_entry_admit(text))
                patched.append(f"entries: EXECUTE above {SWITCH_ROWS} rows")
        applied["posting_trigger"] = "; ".join(patched) or "not applicable (the triggers' SQL has changed)"

        dropped = []
        for table, columns in REDUNDANT.items():
            cursor.execute(
                "SELECT i.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_attribute a ON a.attrelid = t.oid "
                "AND a.attnum = x.indkey[0] WHERE t.relname = %s AND x.indnatts = 1 AND NOT x.indisunique "
                "AND x.indpred IS NULL", [table])
            for index, column in cursor.fetchall():
                if column in columns:
                    cursor.execute(f'DROP INDEX "{index}"')
                    dropped.append(index)
        applied["dropped_indexes"] = dropped
    applied["seconds"] = round(t.seconds, 2)
    return applied


def create_edge_index() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_posting' "
                       "AND indexdef LIKE '%%USING btree (institution_id, date%%'")
        existing = cursor.fetchone()
    if existing:
        return f"already in the product ({existing[0]})"
    with stopwatch() as t, connection.cursor() as cursor:
        cursor.execute(EDGE_INDEX)
        cursor.execute("VACUUM ANALYZE ledger_posting")
    return f"built in {t.seconds:.1f} s with VACUUM ANALYZE"
