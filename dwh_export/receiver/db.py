"""The receiver's own database: streams, batches (with receipts), operations, postings,
period events and statements."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS dwh_stream (
    institution_bin text PRIMARY KEY,
    next_seq bigint NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    updated_at timestamptz
);
CREATE TABLE IF NOT EXISTS dwh_batch (
    batch_id uuid PRIMARY KEY,
    institution_bin text NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    content_hash text NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL,
    received_at timestamptz NOT NULL,
    receipt jsonb NOT NULL,
    UNIQUE (institution_bin, first_seq)
);
CREATE TABLE IF NOT EXISTS dwh_operation (
    institution_bin text NOT NULL,
    entry_id bigint NOT NULL,
    seq bigint NOT NULL,
    date date NOT NULL,
    period text NOT NULL,
    kind text NOT NULL,
    doc_type text NOT NULL,
    doc_number text NOT NULL,
    description text NOT NULL,
    reverses bigint,
    corrects bigint,
    chain_hash text,
    batch_id uuid NOT NULL,
    PRIMARY KEY (institution_bin, entry_id)
);
CREATE TABLE IF NOT EXISTS dwh_posting (
    institution_bin text NOT NULL,
    entry_id bigint NOT NULL,
    line int NOT NULL,
    period text NOT NULL,
    account text NOT NULL,
    side char(1) NOT NULL,
    amount numeric(18, 2) NOT NULL,
    administrator text NOT NULL,
    programme text NOT NULL,
    subprogramme text NOT NULL,
    specific text NOT NULL,
    funding_source text NOT NULL,
    counterparty_bin text,
    PRIMARY KEY (institution_bin, entry_id, line)
);
CREATE TABLE IF NOT EXISTS dwh_period_event (
    institution_bin text NOT NULL,
    seq bigint NOT NULL,
    period text NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    at timestamptz,
    reason text,
    PRIMARY KEY (institution_bin, seq)
);
CREATE TABLE IF NOT EXISTS dwh_statement (
    institution_bin text NOT NULL,
    seq bigint NOT NULL,
    form text NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    version int NOT NULL,
    document jsonb NOT NULL,
    PRIMARY KEY (institution_bin, seq)
);
"""

# First line breaking the event schema (docs/exchange/dwh-event.schema.json), checked
# set-based over the staged batch: the same rules as the schema, in SQL, because a JSON
# Schema validator in Python costs ~80 µs a line (80 s for a million operations). CASE arms
# are evaluated in order, so a cast runs only after its shape was checked.
DATE = r"'^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"
LINE_FAULT = rf"""
SELECT n, CASE
    WHEN jsonb_typeof(doc) <> 'object' THEN 'event is not an object'
    WHEN jsonb_typeof(doc->'seq') IS DISTINCT FROM 'number' THEN 'seq: a number is required'
    WHEN (doc->>'seq')::numeric <> %(first)s + n - 1 THEN format('seq: %%s expected', %(first)s + n - 1)
    WHEN doc->>'type' IS NULL OR doc->>'type' NOT IN ('entry', 'period', 'statement')
      THEN 'type: one of entry, period, statement'
    WHEN doc->>'type' = 'entry' AND (
         jsonb_typeof(doc->'entry') IS DISTINCT FROM 'object'
      OR jsonb_typeof(doc->'entry'->'id') IS DISTINCT FROM 'number'
      OR coalesce(doc->'entry'->>'date', '') !~ {DATE}
      OR coalesce(doc->'entry'->>'period', '') !~ '^[0-9]{{4}}-[0-9]{{2}}$'
      OR coalesce(doc->'entry'->>'kind', '') NOT IN ('regular', 'reversal', 'corrected')
      OR jsonb_typeof(doc->'entry'->'doc_type') IS DISTINCT FROM 'string'
      OR jsonb_typeof(doc->'entry'->'doc_number') IS DISTINCT FROM 'string'
      OR jsonb_typeof(doc->'entry'->'description') IS DISTINCT FROM 'string'
      OR (doc->'entry'->>'kind' = 'reversal' AND jsonb_typeof(doc->'entry'->'reverses') IS DISTINCT FROM 'number'))
      THEN 'entry: id, date, period, kind, doc_type, doc_number, description required; a reversal names reverses'
    WHEN doc->>'type' = 'entry' AND (jsonb_typeof(doc->'postings') IS DISTINCT FROM 'array'
                                     OR jsonb_array_length(doc->'postings') < 2)
      THEN 'postings: an array of at least two postings'
    WHEN doc->>'type' = 'period' AND (
         coalesce(doc->'period'->>'period', '') !~ '^[0-9]{{4}}-[0-9]{{2}}$'
      OR coalesce(doc->'period'->>'from_status', '') NOT IN ('open', 'closed', 'approved')
      OR coalesce(doc->'period'->>'to_status', '') NOT IN ('open', 'closed', 'approved'))
      THEN 'period: period YYYY-MM, from_status and to_status required'
    WHEN doc->>'type' = 'statement' AND (
         jsonb_typeof(doc->'statement'->'form') IS DISTINCT FROM 'string'
      OR coalesce(doc->'statement'->>'period_start', '') !~ {DATE}
      OR coalesce(doc->'statement'->>'period_end', '') !~ {DATE}
      OR jsonb_typeof(doc->'statement'->'version') IS DISTINCT FROM 'number'
      OR jsonb_typeof(doc->'statement'->'payload') IS DISTINCT FROM 'object')
      THEN 'statement: form, period_start, period_end, version and payload required'
  END AS fault
  FROM stage
"""

POSTING_FAULT = r"""
SELECT n, CASE
    WHEN jsonb_typeof(p) <> 'object' THEN format('postings[%s]: not an object', i - 1)
    WHEN jsonb_typeof(p->'line') IS DISTINCT FROM 'number' THEN format('postings[%s].line: a number', i - 1)
    WHEN coalesce(p->>'account', '') !~ '^[0-9]{4}$' THEN format('postings[%s].account: four digits', i - 1)
    WHEN coalesce(p->>'side', '') NOT IN ('D', 'C') THEN format('postings[%s].side: D or C', i - 1)
    WHEN jsonb_typeof(p->'amount') IS DISTINCT FROM 'string' OR p->>'amount' !~ '^-?[0-9]{1,16}\.[0-9]{2}$'
      THEN format('postings[%s].amount: a decimal string with two places', i - 1)
    WHEN coalesce(p->>'administrator', '') !~ '^[0-9]{3}$' OR coalesce(p->>'programme', '') !~ '^[0-9]{3}$'
      OR coalesce(p->>'subprogramme', '') !~ '^[0-9]{3}$' OR coalesce(p->>'specific', '') !~ '^[0-9]{3}$'
      THEN format('postings[%s]: administrator, programme, subprogramme and specific are three digits', i - 1)
    WHEN coalesce(p->>'funding_source', '') = '' THEN format('postings[%s].funding_source: required', i - 1)
  END AS fault
  FROM stage, jsonb_array_elements(doc->'postings') WITH ORDINALITY AS x(p, i)
 WHERE doc->>'type' = 'entry'
"""

UNBALANCED = r"""
SELECT n, 'entry: debits and credits differ' AS fault
  FROM stage, jsonb_array_elements(doc->'postings') AS p
 WHERE doc->>'type' = 'entry'
 GROUP BY n
HAVING coalesce(sum((p->>'amount')::numeric) FILTER (WHERE p->>'side' = 'D'), 0)
    <> coalesce(sum((p->>'amount')::numeric) FILTER (WHERE p->>'side' = 'C'), 0)
"""


def first_fault_query() -> str:
    return (f"SELECT n, fault FROM ({LINE_FAULT}) q WHERE fault IS NOT NULL ORDER BY n LIMIT 1")


def posting_fault_query() -> str:
    return f"SELECT n, fault FROM ({POSTING_FAULT}) q WHERE fault IS NOT NULL ORDER BY n LIMIT 1"


def unbalanced_query() -> str:
    """Only after posting_fault_query found nothing: it casts every amount."""
    return f"{UNBALANCED} ORDER BY n LIMIT 1"


# Storing, with the per-posting rules of the event schema applied on the way in: a value that
# breaks its rule becomes NULL and the NOT NULL column refuses it (one pass over the postings
# instead of a checking pass and a storing pass; measured ~30 % of the receiver's time). On a
# refusal the savepoint is rolled back and POSTING_FAULT names the line and the rule.
# The last statement returns an entry whose postings do not balance, if any.
STORE = [
    """
INSERT INTO dwh_operation (institution_bin, entry_id, seq, date, period, kind, doc_type, doc_number, description,
                           reverses, corrects, chain_hash, batch_id)
SELECT %(bin)s, (e->>'id')::bigint, (doc->>'seq')::bigint, (e->>'date')::date, e->>'period', e->>'kind',
       e->>'doc_type', e->>'doc_number', e->>'description', (e->>'reverses')::bigint, (e->>'corrects')::bigint,
       e->>'chain_hash', %(batch)s
  FROM stage, LATERAL (SELECT doc->'entry') AS x(e)
 WHERE doc->>'type' = 'entry'
""",
    """
INSERT INTO dwh_period_event (institution_bin, seq, period, from_status, to_status, at, reason)
SELECT %(bin)s, (doc->>'seq')::bigint, doc->'period'->>'period', doc->'period'->>'from_status',
       doc->'period'->>'to_status', (doc->'period'->>'at')::timestamptz, doc->'period'->>'reason'
  FROM stage WHERE doc->>'type' = 'period'
""",
    """
INSERT INTO dwh_statement (institution_bin, seq, form, period_start, period_end, version, document)
SELECT %(bin)s, (doc->>'seq')::bigint, doc->'statement'->>'form', (doc->'statement'->>'period_start')::date,
       (doc->'statement'->>'period_end')::date, (doc->'statement'->>'version')::int, doc->'statement'
  FROM stage WHERE doc->>'type' = 'statement'
""",
    r"""
WITH stored AS (
  INSERT INTO dwh_posting (institution_bin, entry_id, line, period, account, side, amount, administrator, programme,
                           subprogramme, specific, funding_source, counterparty_bin)
  SELECT %(bin)s, (doc->'entry'->>'id')::bigint,
         CASE WHEN jsonb_typeof(p->'line') = 'number' THEN (p->>'line')::int END,
         doc->'entry'->>'period',
         CASE WHEN p->>'account' ~ '^[0-9]{4}$' THEN p->>'account' END,
         CASE WHEN p->>'side' IN ('D', 'C') THEN p->>'side' END,
         CASE WHEN jsonb_typeof(p->'amount') = 'string' AND p->>'amount' ~ '^-?[0-9]{1,16}\.[0-9]{2}$'
              THEN (p->>'amount')::numeric END,
         CASE WHEN p->>'administrator' ~ '^[0-9]{3}$' THEN p->>'administrator' END,
         CASE WHEN p->>'programme' ~ '^[0-9]{3}$' THEN p->>'programme' END,
         CASE WHEN p->>'subprogramme' ~ '^[0-9]{3}$' THEN p->>'subprogramme' END,
         CASE WHEN p->>'specific' ~ '^[0-9]{3}$' THEN p->>'specific' END,
         nullif(p->>'funding_source', ''),
         p->>'counterparty_bin'
    FROM stage, jsonb_array_elements(doc->'postings') AS p
   WHERE doc->>'type' = 'entry'
  RETURNING entry_id, side, amount
)
SELECT entry_id FROM stored GROUP BY entry_id
HAVING sum(amount) FILTER (WHERE side = 'D') IS DISTINCT FROM sum(amount) FILTER (WHERE side = 'C')
 LIMIT 1
""",
]

TOTALS = """
SELECT period, account,
       coalesce(sum(amount) FILTER (WHERE side = 'D'), 0)::text AS debit,
       coalesce(sum(amount) FILTER (WHERE side = 'C'), 0)::text AS credit,
       count(DISTINCT entry_id) AS entries
  FROM dwh_posting
 WHERE institution_bin = %(bin)s AND (%(period)s::text IS NULL OR period = %(period)s)
   AND (%(account)s::text IS NULL OR account = %(account)s)
 GROUP BY period, account
 ORDER BY period, account
"""
