"""Facts of a posting for the ФЛК engine (rules/), built by the posting path after it has
locked what the controls read (ledger.services.lock_for_posting, with the statements and
the one-round-trip runner below).

Controls fed from here: FLC-PER-001 (period open), FLC-LED-001 (balanced), FLC-LED-002
(account–specific correspondence, dated), FLC-LED-003 (classification valid on the date),
FLC-LED-004 (a cash account paid out of may not go negative).
"""

import hashlib
from decimal import Decimal

import psycopg
from django.db import connection

from rules import tiyn

from .drafts import EntryDraft
from .models import Period
from .reference import Reference

CASH_BALANCES_SQL = (
    "SELECT account_id, coalesce(sum(debit - credit), 0) FROM ledger_turnover "
    "WHERE institution_id = %s AND account_id = ANY(%s::bigint[]) GROUP BY account_id"
)


def _cash_lock_key(institution_id: int, account_id: int) -> int:
    digest = hashlib.blake2b(f"ledger.cash:{institution_id}:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _net_tiyn(draft: EntryDraft, account: str) -> int:
    return sum(tiyn(Decimal(line.amount)) * (1 if line.side == "D" else -1)
               for line in draft.lines if line.account == account)


def cash_paid_out(drafts, ref: Reference) -> list[str]:
    """Cash accounts some draft takes money out of: only those need a lock and a balance."""
    return sorted({
        line.account for d in drafts for line in d.lines
        if (account := ref.accounts.get(line.account)) is not None and account.is_cash
        and line.side == "C" and _net_tiyn(d, line.account) < 0
    })


def cash_statements(institution_id: int, drafts, ref: Reference) -> tuple[list[tuple[str, list]], list[str]]:
    """The statements that lock each cash account paid out of (advisory, in key order, so two
    payers cannot both spend the last tenge) and then read their balances; and those accounts.
    Money coming in cannot overdraw, so an entry that pays nothing out adds no statement."""
    paying = cash_paid_out(drafts, ref)
    if not paying:
        return [], []
    ids = [ref.accounts[code].id for code in paying]
    keys = sorted(_cash_lock_key(institution_id, account_id) for account_id in ids)
    statements = [("SELECT pg_advisory_xact_lock(%s)", [key]) for key in keys]
    statements.append((CASH_BALANCES_SQL, [institution_id, ids]))
    return statements, paying


def cash_balances(rows, paying: list[str], ref: Reference) -> dict[str, int]:
    """Balances in tiyn from the rows of CASH_BALANCES_SQL; an account never posted is 0."""
    found = dict(rows)
    return {code: tiyn(found.get(ref.accounts[code].id, Decimal(0))) for code in paying}


def read_cash_balances(institution_id: int, drafts, ref: Reference) -> dict[str, int]:
    """The same balances without the locks: for a preview that decides nothing."""
    paying = cash_paid_out(drafts, ref)
    if not paying:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(CASH_BALANCES_SQL, [institution_id, [ref.accounts[code].id for code in paying]])
        return cash_balances(cursor.fetchall(), paying, ref)


def execute_together(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run statements in one round trip when parameters are bound client-side (Django's
    default with psycopg 3), else one by one; the rows of each, in order. Each statement
    takes its own snapshot when it starts, so a read after a lock sees what committed first."""
    results: list[list[tuple]] = []
    with connection.cursor() as cursor:
        # An execute wrapper (pgtrigger.ignore prefixes a set_config and skips to the last result
        # set) would hide all but the last result: then one statement per round trip.
        if len(statements) > 1 and isinstance(cursor.cursor, psycopg.ClientCursor) and not connection.execute_wrappers:
            cursor.execute("; ".join(sql for sql, _params in statements),
                           [p for _sql, params in statements for p in params])
            results.append(cursor.fetchall())
            while cursor.cursor.nextset():
                results.append(cursor.fetchall())
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
    return results


def posting_facts(draft: EntryDraft, ref: Reference, period: Period | None, balances: dict[str, int]) -> dict:
    """Facts of one draft. `balances` (cash accounts paid out of, in tiyn) is advanced by the
    draft, so the drafts of one batch are checked in order against what the earlier ones left."""
    day = draft.date
    debit = credit = 0
    net: dict[str, int] = {}
    for line in draft.lines:
        amount = tiyn(Decimal(line.amount))
        if line.side == "D":
            debit += amount
        else:
            credit += amount
        if line.account in balances:
            net[line.account] = net.get(line.account, 0) + (amount if line.side == "D" else -amount)
    for code, change in net.items():
        balances[code] += change
    lines = []
    for line in draft.lines:
        account = ref.accounts.get(line.account)
        rows = [row for row in ref.correspondence.get(line.account, ()) if row.is_valid_on(day)]
        specific = ref.specifics.get(line.specific)
        decreases = net.get(line.account, 0) < 0
        lines.append({
            "account": line.account, "specific": line.specific,
            "account_has_correspondence_rows": bool(rows),
            "corresponds": any(row.specific.code == line.specific for row in rows),
            "specific_valid": specific is not None and specific.is_valid_on(day),
            "programme": f"{line.administrator}.{line.programme}.{line.subprogramme}",
            "programme_valid": ref.programme_valid(line.administrator, line.programme, line.subprogramme, day),
            "is_cash": bool(account is not None and account.is_cash),
            "decreases_balance": decreases,
            "balance_after_tiyn": balances[line.account] if decreases else 0,
        })
    return {
        "period_status": period.status if period is not None else "missing",
        "period": f"{day.year}-{day.month:02d}", "date": day.isoformat(),
        "debit_tiyn": debit, "credit_tiyn": credit, "lines": lines,
    }
