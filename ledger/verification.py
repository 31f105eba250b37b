"""Independent verification of the ledger: what `manage.py verify_ledger` runs.

The database builds entry seals and journal hashes with SQL; this module rebuilds the same
canonical text in Python from the stored rows and recomputes every hash, every entry's
balance and every turnover, so a fault in one implementation is caught by the other.
Each breach is reported precisely (which row, expected, found).
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BATCH = 5000  # rows fetched per round trip; keeps memory flat on a 10⁶-posting ledger


@dataclass(frozen=True)
class Breach:
    kind: str
    where: str
    detail: str

    def __str__(self):
        return f"{self.kind}: {self.where}: {self.detail}"


def _micros(moment: dt.datetime) -> str:
    return str((moment - EPOCH) // dt.timedelta(microseconds=1))


def canonical(values: list[str]) -> str:
    """jsonb_build_array(text, …)::text as PostgreSQL prints it."""
    return json.dumps(values, ensure_ascii=False)


def entry_text(row: dict) -> str:
    return canonical([
        str(row["id"]), str(row["institution_id"]), row["date"].isoformat(), row["doc_type"], row["doc_number"],
        "" if row["memorial_order"] is None else str(row["memorial_order"]), row["description"], row["basis"],
        str(row["author_id"]), _micros(row["created_at"]), row["kind"],
        "" if row["reverses_id"] is None else str(row["reverses_id"]),
    ])


def posting_text(row: dict) -> str:
    def opt(v):
        return "" if v is None else str(v)

    return canonical([
        str(row["line_no"]), str(row["account_id"]), row["side"], f"{row['amount']:.2f}", row["administrator"],
        row["programme"], row["subprogramme"], row["specific"], str(row["funding_source_id"]),
        opt(row["counterparty_id"]), opt(row["employee_id"]), opt(row["asset_id"]), row["description"],
    ])


def seal_hash(prev_hash: str, seq: int, entry: dict, postings: list[dict]) -> str:
    text = f"{prev_hash}|{seq}|{entry_text(entry)}|[{','.join(posting_text(p) for p in postings)}]"
    return hashlib.sha256(text.encode()).hexdigest()


def journal_text(row: dict) -> str:
    return canonical([
        str(row["seq"]), _micros(row["at"]), "" if row["user_id"] is None else str(row["user_id"]),
        row["username"], row["full_name"], row["iin"], row["role"],
        "" if row["institution_id"] is None else str(row["institution_id"]),
        "" if row["ip"] is None else str(row["ip"]), row["action"], row["object_type"], row["object_id"],
        row["outcome"], row["details"],
    ])


def _rows(cursor) -> list[dict]:
    names = [c.name for c in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def verify_entry_chains(institution_ids: list[int] | None = None) -> list[Breach]:
    """Every entry sealed, balanced, and each institution's chain unbroken."""
    breaches: list[Breach] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id FROM ledger_journalentry e LEFT JOIN ledger_entryseal s ON s.entry_id = e.id "
            "WHERE s.entry_id IS NULL" + (" AND e.institution_id = ANY(%s)" if institution_ids else ""),
            [institution_ids] if institution_ids else [],
        )
        for (entry_id,) in cursor.fetchall():
            breaches.append(Breach("unsealed_entry", f"entry {entry_id}", "no seal: not in the hash chain"))
        cursor.execute(
            "SELECT DISTINCT institution_id FROM ledger_entryseal"
            + (" WHERE institution_id = ANY(%s)" if institution_ids else "") + " ORDER BY institution_id",
            [institution_ids] if institution_ids else [],
        )
        chains = [row[0] for row in cursor.fetchall()]
    for institution_id in chains:
        breaches.extend(_verify_chain(institution_id))
    return breaches


def _verify_chain(institution_id: int) -> list[Breach]:
    breaches: list[Breach] = []
    prev_hash, expected_seq, after = "", 1, 0
    where = f"institution {institution_id}"
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.seq, s.prev_hash, s.hash, s.debit_total, e.* FROM ledger_entryseal s "
                "JOIN ledger_journalentry e ON e.id = s.entry_id "
                "WHERE s.institution_id = %s AND s.seq > %s ORDER BY s.seq LIMIT %s",
                [institution_id, after, BATCH],
            )
            seals = _rows(cursor)
            if not seals:
                break
            cursor.execute(
                "SELECT * FROM ledger_posting WHERE entry_id = ANY(%s) ORDER BY entry_id, line_no",
                [[s["id"] for s in seals]],
            )
            postings: dict[int, list[dict]] = {}
            for p in _rows(cursor):
                postings.setdefault(p["entry_id"], []).append(p)
        for seal in seals:
            lines = postings.get(seal["id"], [])
            at = f"{where} seq {seal['seq']} (entry {seal['id']})"
            if seal["seq"] != expected_seq:
                breaches.append(Breach("chain_gap", at, f"expected seq {expected_seq}"))
            if seal["prev_hash"] != prev_hash:
                breaches.append(Breach("chain_link", at, "prev_hash does not match the previous seal"))
            recomputed = seal_hash(seal["prev_hash"], seal["seq"], seal, lines)
            if recomputed != seal["hash"]:
                breaches.append(Breach("chain_hash", at, f"content hash {recomputed} ≠ sealed {seal['hash']}"))
            debit = sum((p["amount"] for p in lines if p["side"] == "D"), Decimal(0))
            credit = sum((p["amount"] for p in lines if p["side"] == "C"), Decimal(0))
            if debit != credit or len(lines) < 2:
                breaches.append(Breach("unbalanced", at, f"debit {debit} credit {credit}, {len(lines)} postings"))
            if debit != seal["debit_total"]:
                breaches.append(Breach("seal_total", at, f"sealed debit {seal['debit_total']} ≠ postings {debit}"))
            prev_hash, expected_seq = seal["hash"], seal["seq"] + 1
        after = seals[-1]["seq"]
    return breaches


def verify_journal_chain() -> list[Breach]:
    breaches: list[Breach] = []
    prev_hash, expected_seq, after = "", 1, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, seq, at, user_id, username, full_name, iin, role, institution_id, host(ip) AS ip, "
                "action, object_type, object_id, outcome, details, prev_hash, hash FROM access_actionlog "
                "WHERE seq > %s ORDER BY seq LIMIT %s",
                [after, BATCH],
            )
            rows = _rows(cursor)
        if not rows:
            break
        for row in rows:
            at = f"journal seq {row['seq']}"
            if row["seq"] != expected_seq:
                breaches.append(Breach("journal_gap", at, f"expected seq {expected_seq}"))
            if row["prev_hash"] != prev_hash:
                breaches.append(Breach("journal_link", at, "prev_hash does not match the previous record"))
            recomputed = hashlib.sha256(f"{row['prev_hash']}|{journal_text(row)}".encode()).hexdigest()
            if recomputed != row["hash"]:
                breaches.append(Breach("journal_hash", at, f"content hash {recomputed} ≠ stored {row['hash']}"))
            prev_hash, expected_seq = row["hash"], row["seq"] + 1
        after = rows[-1]["seq"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM access_chainhead WHERE chain = 'journal'")
        head = cursor.fetchone()
    if head and (head[0] != expected_seq - 1 or head[1] != prev_hash):
        breaches.append(Breach("journal_head", "journal", f"head at seq {head[0]}, chain ends at {expected_seq - 1}"))
    return breaches


TURNOVER_DIFF = """
WITH recomputed AS (
    SELECT p.institution_id, e.period_id, p.account_id, p.specific, p.funding_source_id,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS debit,
           coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS credit
      FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id
     {where_p}
     GROUP BY 1, 2, 3, 4, 5
), stored AS (
    SELECT institution_id, period_id, account_id, specific, funding_source_id, debit, credit
      FROM ledger_turnover {where_t}
)
SELECT coalesce(r.institution_id, s.institution_id), coalesce(r.period_id, s.period_id),
       coalesce(r.account_id, s.account_id), coalesce(r.specific, s.specific),
       coalesce(r.funding_source_id, s.funding_source_id),
       coalesce(r.debit, 0), coalesce(r.credit, 0), coalesce(s.debit, 0), coalesce(s.credit, 0)
  FROM recomputed r FULL JOIN stored s USING (institution_id, period_id, account_id, specific, funding_source_id)
 WHERE coalesce(r.debit, 0) <> coalesce(s.debit, 0) OR coalesce(r.credit, 0) <> coalesce(s.credit, 0)
 LIMIT 1000
"""


def verify_turnovers(institution_ids: list[int] | None = None) -> list[Breach]:
    where_p = "WHERE p.institution_id = ANY(%s)" if institution_ids else ""
    where_t = "WHERE institution_id = ANY(%s)" if institution_ids else ""
    params = [institution_ids, institution_ids] if institution_ids else []
    with connection.cursor() as cursor:
        cursor.execute(TURNOVER_DIFF.format(where_p=where_p, where_t=where_t), params)
        return [
            Breach("turnover", f"institution {i} period {per} account {acc} specific {spec} source {src}",
                   f"recomputed D {rd} C {rc} ≠ stored D {sd} C {sc}")
            for i, per, acc, spec, src, rd, rc, sd, sc in cursor.fetchall()
        ]


def verify_all(institution_ids: list[int] | None = None) -> list[Breach]:
    return (
        verify_entry_chains(institution_ids)
        + verify_turnovers(institution_ids)
        + (verify_journal_chain() if not institution_ids else [])
    )
