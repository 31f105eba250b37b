"""The canonical text of an action-journal row, hashed by trigger `journal_chain`.
ledger/verification.py rebuilds the same text in Python to verify the chain independently."""

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION access_journal_text(r access_actionlog) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(
        r.seq::text, ((extract(epoch FROM r.at) * 1000000)::bigint)::text, coalesce(r.user_id::text, ''),
        r.username, r.full_name, r.iin, r.role, coalesce(r.institution_id::text, ''),
        coalesce(host(r.ip), ''), r.action, r.object_type, r.object_id, r.outcome, r.details)::text
$$;
"""

FUNCTIONS_REVERSE = "DROP FUNCTION IF EXISTS access_journal_text(access_actionlog);"
