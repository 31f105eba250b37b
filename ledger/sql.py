"""SQL of the ledger's invariants. Trigger bodies are declared on the models (pgtrigger); the
helper functions they call are installed by migration 0002 from FUNCTIONS below.

Every refusal raises SQLSTATE 23514 (check_violation, so Django reports IntegrityError) with
a message that starts with a stable code (`period_closed: …`) and names the row.
"""

# Canonical text of an entry and of a posting, hashed into the chain. verify_ledger rebuilds
# the same text in Python (ledger/chain.py); a change here must change both.
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

# BEFORE INSERT on an entry: the period must exist and be open. FOR SHARE on the period row
# makes close_period (FOR UPDATE) wait for this transaction, and makes this insert wait for a
# close in flight and then see its result.
ENTRY_ADMIT = f"""
    SELECT id, status INTO v_period_id, v_period_status FROM ledger_period
     WHERE institution_id = NEW.institution_id
       AND year = extract(year FROM NEW.date)::int AND month = extract(month FROM NEW.date)::int
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('period_missing: institution %s has no period for %s',
                             NEW.institution_id, to_char(NEW.date, 'YYYY-MM-DD'));
    END IF;
    IF v_period_status <> 'open' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('period_closed: period %s of institution %s is %s; entry dated %s refused',
                             to_char(NEW.date, 'YYYY-MM'), NEW.institution_id, v_period_status,
                             to_char(NEW.date, 'YYYY-MM-DD'));
    END IF;
    IF NEW.reverses_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ledger_journalentry o
         WHERE o.id = NEW.reverses_id AND o.institution_id = NEW.institution_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('tenant_mismatch: entry reverses %s, which is not an entry of institution %s',
                             NEW.reverses_id, NEW.institution_id);
    END IF;
    NEW.period_id := v_period_id;
    NEW.txid := {CURRENT_TXID};
    NEW.search := to_tsvector('simple', NEW.doc_type || ' ' || NEW.doc_number || ' ' ||
                              NEW.description || ' ' || NEW.basis);
    RETURN NEW;
"""

# Deferred to commit, once per entry: balance, at least two postings, then the seal. The
# chain head is locked here, at commit, so it is held for the shortest possible time.
ENTRY_SEAL = """
    SELECT count(*),
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0),
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0),
           string_agg(ledger_posting_text(p), ',' ORDER BY p.line_no)
      INTO v_n_postings, v_debit_total, v_credit_total, v_postings_text
      FROM ledger_posting p WHERE p.entry_id = NEW.id;
    IF v_n_postings < 2 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('entry_too_few_postings: entry %s has %s posting(s); at least two are needed',
                             NEW.id, v_n_postings);
    END IF;
    IF v_debit_total <> v_credit_total THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('entry_unbalanced: entry %s debits %s <> credits %s',
                             NEW.id, v_debit_total, v_credit_total);
    END IF;
    SELECT seq, hash INTO v_head_seq, v_head_hash FROM ledger_sealhead
     WHERE institution_id = NEW.institution_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ledger_sealhead(institution_id, seq, hash) VALUES (NEW.institution_id, 0, '')
            ON CONFLICT (institution_id) DO NOTHING;
        SELECT seq, hash INTO v_head_seq, v_head_hash FROM ledger_sealhead
         WHERE institution_id = NEW.institution_id FOR UPDATE;
    END IF;
    v_new_hash := encode(sha256(convert_to(
        v_head_hash || '|' || (v_head_seq + 1)::text || '|' || ledger_entry_text(NEW) || '|[' || v_postings_text || ']',
        'UTF8')), 'hex');
    INSERT INTO ledger_entryseal(entry_id, institution_id, seq, prev_hash, hash, debit_total, sealed_at)
         VALUES (NEW.id, NEW.institution_id, v_head_seq + 1, v_head_hash, v_new_hash, v_debit_total, clock_timestamp());
    UPDATE ledger_sealhead SET seq = v_head_seq + 1, hash = v_new_hash WHERE institution_id = NEW.institution_id;
    RETURN NULL;
"""

# AFTER INSERT, once per statement over all inserted postings: the admission checks that
# foreign keys would do row by row, done as joins, then the turnover upsert in key order
# (a fixed lock order, so concurrent posters cannot deadlock on turnover rows).
POSTING_ADMIT = f"""
    SELECT n.entry_id, n.line_no,
           CASE
             WHEN e.id IS NULL THEN 'entry_missing'
             WHEN e.institution_id <> n.institution_id THEN 'tenant_mismatch'
             WHEN e.txid <> {CURRENT_TXID} THEN 'entry_already_committed'
             WHEN e.date <> n.date THEN 'date_mismatch'
             WHEN n.amount < 0 AND e.kind <> 'reversal' THEN 'negative_amount'
             WHEN a.id IS NULL THEN 'account_missing'
             WHEN n.date < a.valid_from OR n.date > a.valid_to THEN 'account_not_valid'
             WHEN f.id IS NULL THEN 'funding_source_missing'
             WHEN n.counterparty_id IS NOT NULL AND c.id IS NULL THEN 'counterparty_missing'
             WHEN n.counterparty_id IS NOT NULL AND c.institution_id <> n.institution_id
               THEN 'tenant_mismatch'
           END AS fault
      INTO v_entry, v_line, v_fault
      FROM new_rows n
      LEFT JOIN ledger_journalentry e ON e.id = n.entry_id
      LEFT JOIN ledger_account a ON a.id = n.account_id
      LEFT JOIN ledger_fundingsource f ON f.id = n.funding_source_id
      LEFT JOIN ledger_counterparty c ON c.id = n.counterparty_id
     WHERE e.id IS NULL OR e.institution_id <> n.institution_id OR e.txid <> {CURRENT_TXID}
        OR e.date <> n.date OR (n.amount < 0 AND e.kind <> 'reversal')
        OR a.id IS NULL OR n.date < a.valid_from OR n.date > a.valid_to OR f.id IS NULL
        OR (n.counterparty_id IS NOT NULL AND (c.id IS NULL OR c.institution_id <> n.institution_id))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('%s: posting line %s of entry %s refused', v_fault, v_line, v_entry);
    END IF;

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
           credit = ledger_turnover.credit + EXCLUDED.credit;
    RETURN NULL;
"""
