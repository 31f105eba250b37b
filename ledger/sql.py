"""SQL of the ledger's invariants. Trigger bodies are declared on the models (pgtrigger); the
helper functions they call are installed by migration 0002 from FUNCTIONS below.

Every refusal raises SQLSTATE 23514 (check_violation, so Django reports IntegrityError) with
a message that starts with a stable code (`period_closed: …`) and names the row.
"""

# Canonical text of an entry and of a posting, hashed into the chain. verify_ledger rebuilds
# the same text in Python (ledger/verification.py); a change here must change both.
FUNCTIONS = r"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE OR REPLACE FUNCTION ledger_entry_text(e ledger_journalentry) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        e.id::text, e.institution_id::text, to_char(e.date, 'YYYY-MM-DD'), e.doc_type, e.doc_number,
        coalesce(e.memorial_order::text, ''), e.description, e.basis, e.author_id::text,
        ((extract(epoch FROM e.created_at) * 1000000)::bigint)::text, e.kind,
        coalesce(e.reverses_id::text, ''))::text
$$;

CREATE OR REPLACE FUNCTION ledger_posting_text(p ledger_posting) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        p.line_no::text, p.account_id::text, p.side, p.amount::text, p.administrator, p.programme,
        p.subprogramme, p.specific, p.funding_source_id::text, coalesce(p.counterparty_id::text, ''),
        coalesce(p.employee_id::text, ''), coalesce(p.asset_id::text, ''), p.description)::text
$$;
"""

FUNCTIONS_REVERSE = """
DROP FUNCTION IF EXISTS ledger_entry_text(ledger_journalentry);
DROP FUNCTION IF EXISTS ledger_posting_text(ledger_posting);
"""

CURRENT_TXID = "pg_current_xact_id()::text::bigint"

# PL/pgSQL caches a statement's plan for the whole database session, made for the first
# transition table it saw. After a session's first insert was a batch (a hash join over the
# whole entry table is right for 100,000 rows), every later one-entry post reused that plan
# (measured: 57–62 ms per 3-posting entry on a 600,000-posting ledger, against ~1 ms). Large
# statements are therefore planned for the rows at hand (EXECUTE); small ones keep a cached
# plan, which then only ever sees small inputs.
PLAN_PER_CALL_ROWS_MIN = 100


def planned_by_size(statement: str, into: str | None = None) -> str:
    """`statement` (no trailing semicolon, no INTO) run with EXECUTE above
    PLAN_PER_CALL_ROWS_MIN transition rows and as a static statement below."""
    into_clause = f" INTO {into}" if into else ""
    if into:
        head, _sep, tail = statement.partition("\n      FROM new_rows n")
        static = f"{head}\n      INTO {into}\n      FROM new_rows n{tail};"
    else:
        static = statement + ";"
    return (
        f"    IF (SELECT count(*) FROM new_rows) > {PLAN_PER_CALL_ROWS_MIN} THEN\n"
        f"        EXECUTE $q${statement}$q${into_clause};\n"
        f"    ELSE\n{static}\n    END IF;"
    )

# AFTER INSERT on entries, once per statement over all inserted rows (COPY included). The
# periods named are locked first with a shared advisory lock (the lock manager queues fairly,
# so a waiting close is not starved by posters), then FOR SHARE (a close in flight finishes
# first and no close starts until this transaction ends); the check then reads the status
# committed last. References are checked in the same join, set-based, instead of per-row
# foreign keys. Finally the transaction is queued, once, for sealing at commit.
ENTRY_CHECK = f"""
    SELECT n.id,
           CASE
             WHEN p.id IS NULL OR p.institution_id <> n.institution_id
               THEN format('period_missing: entry %s names period %s, which is not a period of institution %s',
                           n.id, n.period_id, n.institution_id)
             WHEN p.year <> extract(year FROM n.date)::int OR p.month <> extract(month FROM n.date)::int
               THEN format('period_mismatch: entry %s is dated %s but names period %s-%s',
                           n.id, to_char(n.date, 'YYYY-MM-DD'), p.year, lpad(p.month::text, 2, '0'))
             WHEN p.status <> 'open'
               THEN format('period_closed: period %s of institution %s is %s; entry dated %s refused',
                           to_char(n.date, 'YYYY-MM'), n.institution_id, p.status, to_char(n.date, 'YYYY-MM-DD'))
             WHEN n.txid IS DISTINCT FROM {CURRENT_TXID}
               THEN format('txid_forged: entry %s must carry the id of the transaction that inserts it', n.id)
             WHEN u.id IS NULL
               THEN format('author_missing: entry %s names author %s, who does not exist', n.id, n.author_id)
             WHEN n.reverses_id IS NOT NULL AND (o.id IS NULL OR o.institution_id <> n.institution_id)
               THEN format('tenant_mismatch: entry reverses %s, which is not an entry of institution %s',
                           n.reverses_id, n.institution_id)
           END
      FROM new_rows n
      LEFT JOIN ledger_period p ON p.id = n.period_id
      LEFT JOIN access_user u ON u.id = n.author_id
      LEFT JOIN ledger_journalentry o ON o.id = n.reverses_id
     WHERE p.id IS NULL OR p.institution_id <> n.institution_id
        OR p.year <> extract(year FROM n.date)::int OR p.month <> extract(month FROM n.date)::int
        OR p.status <> 'open' OR n.txid IS DISTINCT FROM {CURRENT_TXID} OR u.id IS NULL
        OR (n.reverses_id IS NOT NULL AND (o.id IS NULL OR o.institution_id <> n.institution_id))
     ORDER BY n.id
     LIMIT 1
"""

ENTRY_ADMIT = f"""
    PERFORM pg_advisory_xact_lock_shared(1885696620, q.period_id::int)
       FROM (SELECT DISTINCT period_id FROM new_rows) q ORDER BY q.period_id;
    PERFORM 1 FROM ledger_period WHERE id IN (SELECT period_id FROM new_rows) ORDER BY id FOR SHARE;

{planned_by_size(ENTRY_CHECK.strip(chr(10)), "v_entry, v_fault")}
    IF v_fault IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = v_fault;
    END IF;

    INSERT INTO ledger_sealqueue(txid) VALUES ({CURRENT_TXID}) ON CONFLICT DO NOTHING;
    RETURN NULL;
"""

# Deferred to commit, once per transaction that inserted entries (its ledger_sealqueue row):
# checks and seals every unsealed entry of the transaction, set-based, one pass per
# institution, then removes the queue row. The chain of each institution is serialised by a
# transaction-level advisory lock taken here, at commit, and its tail is read from the seals'
# (institution, seq) index, so no row is rewritten per entry (a row updated thousands of
# times in one transaction grows a version chain every later lookup walks).
ENTRY_SEAL = """
    FOR v_institution IN
        SELECT DISTINCT e.institution_id FROM ledger_journalentry e
         WHERE e.txid = NEW.txid AND NOT EXISTS (SELECT 1 FROM ledger_entryseal s WHERE s.entry_id = e.id)
         ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(1936024940, v_institution::int);  -- key space 'seal'
        SELECT seq, hash INTO v_seq, v_hash FROM ledger_entryseal
         WHERE institution_id = v_institution ORDER BY seq DESC LIMIT 1;
        IF NOT FOUND THEN
            v_seq := 0;
            v_hash := '';
        END IF;
        v_ids := '{}'; v_seqs := '{}'; v_prevs := '{}'; v_hashes := '{}'; v_totals := '{}'; v_searches := '{}';
        FOR v_row IN
            SELECT e.id, ledger_entry_text(e) AS entry_text,
                   string_agg(ledger_posting_text(p), ',' ORDER BY p.line_no) AS postings_text,
                   count(p.id) AS n_postings,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debit_total,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credit_total,
                   to_tsvector('simple', e.doc_type || ' ' || e.doc_number || ' ' || e.description || ' ' || e.basis
                               || ' ' || coalesce(string_agg(p.description, ' '), '')) AS search
              FROM ledger_journalentry e LEFT JOIN ledger_posting p ON p.entry_id = e.id
             WHERE e.txid = NEW.txid AND e.institution_id = v_institution
               AND NOT EXISTS (SELECT 1 FROM ledger_entryseal s WHERE s.entry_id = e.id)
             GROUP BY e.id
             ORDER BY e.id
        LOOP
            IF v_row.n_postings < 2 THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    MESSAGE = format('entry_too_few_postings: entry %s has %s posting(s); at least two are needed',
                                     v_row.id, v_row.n_postings);
            END IF;
            IF v_row.debit_total <> v_row.credit_total THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    MESSAGE = format('entry_unbalanced: entry %s debits %s <> credits %s',
                                     v_row.id, v_row.debit_total, v_row.credit_total);
            END IF;
            v_prevs := v_prevs || v_hash;
            v_seq := v_seq + 1;
            v_hash := encode(sha256(convert_to(
                v_hash || '|' || v_seq::text || '|' || v_row.entry_text || '|[' || v_row.postings_text || ']',
                'UTF8')), 'hex');
            v_ids := v_ids || v_row.id;
            v_seqs := v_seqs || v_seq;
            v_hashes := v_hashes || v_hash;
            v_totals := v_totals || v_row.debit_total;
            v_searches := v_searches || v_row.search;
        END LOOP;
        INSERT INTO ledger_entryseal(entry_id, institution_id, seq, prev_hash, hash, debit_total, sealed_at, search)
        SELECT u.id, v_institution, u.seq, u.prev, u.hash, u.total, clock_timestamp(), u.search
          FROM unnest(v_ids, v_seqs, v_prevs, v_hashes, v_totals, v_searches) AS u(id, seq, prev, hash, total, search);
    END LOOP;
    DELETE FROM ledger_sealqueue WHERE txid = NEW.txid;
    RETURN NULL;
"""

# AFTER INSERT, once per statement over all inserted postings: the admission checks that
# foreign keys would do row by row, done as joins, then the turnover upsert in key order
# (a fixed lock order, so concurrent posters cannot deadlock on turnover rows).
POSTING_CHECK = f"""
    SELECT n.entry_id, n.line_no,
           CASE
             WHEN e.id IS NULL THEN 'entry_missing'
             WHEN e.institution_id <> n.institution_id THEN 'tenant_mismatch'
             WHEN e.txid <> {CURRENT_TXID} THEN 'entry_already_committed'
             WHEN sealed.entry_id IS NOT NULL THEN 'entry_already_sealed'
             WHEN e.date <> n.date THEN 'date_mismatch'
             WHEN n.amount < 0 AND e.kind <> 'reversal' THEN 'negative_amount'
             WHEN a.id IS NULL THEN 'account_missing'
             WHEN n.date < a.valid_from OR n.date > a.valid_to THEN 'account_not_valid'
             WHEN f.id IS NULL THEN 'funding_source_missing'
             WHEN n.counterparty_id IS NOT NULL AND c.id IS NULL THEN 'counterparty_missing'
             WHEN n.counterparty_id IS NOT NULL AND c.institution_id <> n.institution_id
               THEN 'tenant_mismatch'
           END AS fault
      FROM new_rows n
      LEFT JOIN ledger_journalentry e ON e.id = n.entry_id
      LEFT JOIN ledger_account a ON a.id = n.account_id
      LEFT JOIN ledger_fundingsource f ON f.id = n.funding_source_id
      LEFT JOIN ledger_counterparty c ON c.id = n.counterparty_id
      LEFT JOIN ledger_entryseal sealed ON sealed.entry_id = n.entry_id
     WHERE sealed.entry_id IS NOT NULL OR e.id IS NULL OR e.institution_id <> n.institution_id
        OR e.txid <> {CURRENT_TXID} OR e.date <> n.date OR (n.amount < 0 AND e.kind <> 'reversal')
        OR a.id IS NULL OR n.date < a.valid_from OR n.date > a.valid_to OR f.id IS NULL
        OR (n.counterparty_id IS NOT NULL AND (c.id IS NULL OR c.institution_id <> n.institution_id))
     ORDER BY n.entry_id, n.line_no
     LIMIT 1
"""

TURNOVER_UPSERT = """
    INSERT INTO ledger_turnover(institution_id, period_id, account_id, specific, funding_source_id,
                                debit, credit)
    SELECT n.institution_id, e.period_id, n.account_id, n.specific, n.funding_source_id,
           coalesce(sum(n.amount) FILTER (WHERE n.side = 'D'), 0),
           coalesce(sum(n.amount) FILTER (WHERE n.side = 'C'), 0)
      FROM new_rows n JOIN ledger_journalentry e ON e.id = n.entry_id
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (institution_id, period_id, account_id, specific, funding_source_id) DO UPDATE
       SET debit = ledger_turnover.debit + EXCLUDED.debit,
           credit = ledger_turnover.credit + EXCLUDED.credit
"""

POSTING_ADMIT = f"""
{planned_by_size(POSTING_CHECK.strip(chr(10)), "v_entry, v_line, v_fault")}
    IF v_fault IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('%s: posting line %s of entry %s refused', v_fault, v_line, v_entry);
    END IF;

{planned_by_size(TURNOVER_UPSERT.strip(chr(10)))}
    RETURN NULL;
"""
