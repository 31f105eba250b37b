"""SQL of the outbox: triggers installed on the ledger's tables by migration 0002, and the
function statements use. Set-based, once per statement: the seal trigger inserts all the seals
of one institution of one transaction in one INSERT (service path and bulk COPY alike), so
the outbox adds one counter upsert and one INSERT … SELECT per institution per commit.

Sequence numbers come from dwh_export_counter: the upsert locks the institution's counter row
until commit. Seals are written at commit, so that lock is held for microseconds on the
posting path; and since every writer of an institution's events queues on that row, the
seqs commit in order and without gaps (a rolled-back transaction rolls its increment back).
"""

NEXT_SEQS = """
    WITH n AS (SELECT institution_id, count(*) AS k FROM new_rows GROUP BY institution_id),
         c AS (
           INSERT INTO dwh_export_counter AS t (institution_id, last_seq)
           SELECT institution_id, k FROM n ORDER BY institution_id
           ON CONFLICT (institution_id) DO UPDATE SET last_seq = t.last_seq + EXCLUDED.last_seq
           RETURNING t.institution_id, t.last_seq
         )
    INSERT INTO dwh_export_event (institution_id, seq, kind, {ref_column})
    SELECT r.institution_id,
           c.last_seq - n.k + row_number() OVER (PARTITION BY r.institution_id ORDER BY r.{order}),
           '{kind}', r.{ref}
      FROM new_rows r JOIN n USING (institution_id) JOIN c USING (institution_id);
"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION dwh_export_entry_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{NEXT_SEQS.format(ref_column="entry_id", order="seq", kind="entry", ref="entry_id")}
    RETURN NULL;
END $$;

CREATE TRIGGER dwh_export_entry_events AFTER INSERT ON ledger_entryseal
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dwh_export_entry_events();

CREATE OR REPLACE FUNCTION dwh_export_period_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{NEXT_SEQS.format(ref_column="transition_id", order="id", kind="period", ref="id")}
    RETURN NULL;
END $$;

CREATE TRIGGER dwh_export_period_events AFTER INSERT ON ledger_periodtransition
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dwh_export_period_events();

-- One event with its payload (approved statements); returns its seq.
CREATE OR REPLACE FUNCTION dwh_export_emit(p_institution bigint, p_kind text, p_payload jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_seq bigint;
BEGIN
    INSERT INTO dwh_export_counter AS t (institution_id, last_seq) VALUES (p_institution, 1)
    ON CONFLICT (institution_id) DO UPDATE SET last_seq = t.last_seq + 1
    RETURNING t.last_seq INTO v_seq;
    INSERT INTO dwh_export_event (institution_id, seq, kind, payload) VALUES (p_institution, v_seq, p_kind, p_payload);
    RETURN v_seq;
END $$;
"""

REVERSE = """
DROP TRIGGER IF EXISTS dwh_export_entry_events ON ledger_entryseal;
DROP TRIGGER IF EXISTS dwh_export_period_events ON ledger_periodtransition;
DROP FUNCTION IF EXISTS dwh_export_entry_events();
DROP FUNCTION IF EXISTS dwh_export_period_events();
DROP FUNCTION IF EXISTS dwh_export_emit(bigint, text, jsonb);
"""

# The operations of one batch as JSON Lines, built by PostgreSQL: json_build_object writes
# text directly (measured 0.6 s for 20,000 entries against 1.5 s with jsonb, which builds a
# binary value first and then prints it; a Python loop is slower still). One line per event,
# in seq order; amounts are numeric(18,2) printed as text, so always two decimals.
# Parameters: institution, first seq, last seq (also used to bound the postings' join).
BATCH_LINES = """
WITH ev AS (
  SELECT seq, kind, entry_id, transition_id, payload FROM dwh_export_event
   WHERE institution_id = %(institution)s AND seq BETWEEN %(first)s AND %(last)s
), pp AS (
  SELECT p.entry_id, json_agg(json_build_object(
        'line', p.line_no, 'account', a.code, 'side', p.side, 'amount', p.amount::text,
        'administrator', p.administrator, 'programme', p.programme, 'subprogramme', p.subprogramme,
        'specific', p.specific, 'funding_source', f.code, 'counterparty_bin', c.iin_bin,
        'employee_id', p.employee_id, 'asset_id', p.asset_id, 'description', p.description)
        ORDER BY p.line_no) AS postings
    FROM ev
    JOIN ledger_posting p ON p.entry_id = ev.entry_id
    JOIN ledger_account a ON a.id = p.account_id
    JOIN ledger_fundingsource f ON f.id = p.funding_source_id
    LEFT JOIN ledger_counterparty c ON c.id = p.counterparty_id
   GROUP BY p.entry_id
)
SELECT ev.seq, (CASE ev.kind
  WHEN 'entry' THEN json_build_object(
    'seq', ev.seq, 'type', 'entry',
    'entry', json_build_object(
        'id', e.id, 'date', e.date, 'period', to_char(e.date, 'YYYY-MM'), 'kind', e.kind,
        'doc_type', e.doc_type, 'doc_number', e.doc_number, 'memorial_order', e.memorial_order,
        'description', e.description, 'basis', e.basis, 'recorded_at', e.created_at,
        'reverses', e.reverses_id, 'corrects', cl.original_id,
        'chain_seq', s.seq, 'chain_hash', s.hash),
    'postings', pp.postings)
  WHEN 'period' THEN json_build_object(
    'seq', ev.seq, 'type', 'period',
    'period', json_build_object(
        'period', lpad(pr.year::text, 4, '0') || '-' || lpad(pr.month::text, 2, '0'),
        'from_status', t.from_status, 'to_status', t.to_status, 'at', t.at, 'reason', t.reason))
  ELSE json_build_object('seq', ev.seq, 'type', 'statement', 'statement', ev.payload)
  END)::text
  FROM ev
  LEFT JOIN ledger_journalentry e ON e.id = ev.entry_id
  LEFT JOIN ledger_entryseal s ON s.entry_id = ev.entry_id
  LEFT JOIN ledger_correctionlog cl ON cl.corrected_id = ev.entry_id
  LEFT JOIN pp ON pp.entry_id = ev.entry_id
  LEFT JOIN ledger_periodtransition t ON t.id = ev.transition_id
  LEFT JOIN ledger_period pr ON pr.id = t.period_id
 ORDER BY ev.seq
"""

# Control totals of the ledger over the events the receiver has acknowledged: per period and
# account, debit, credit and the number of entries. Same shape as the receiver's answer.
LEDGER_TOTALS = """
SELECT to_char(p.date, 'YYYY-MM') AS period, a.code AS account,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debit,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credit,
       count(DISTINCT p.entry_id) AS entries
  FROM dwh_export_event ev
  JOIN ledger_posting p ON p.entry_id = ev.entry_id
  JOIN ledger_account a ON a.id = p.account_id
 WHERE ev.institution_id = %s AND ev.seq <= %s AND ev.kind = 'entry'
 GROUP BY 1, 2
"""
