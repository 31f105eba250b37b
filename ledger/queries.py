"""Read side of the ledger: trial balance, account card, general ledger, search.

The trial balance reads turnovers (a few rows per account and month) for whole months and
postings only for the partial months at the edges of a range, so a year costs about as much
as a month. `trial_balance_by_scan` computes the same from postings alone; tests and
verify_ledger hold the two equal.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from .models import Account, Counterparty, JournalEntry, Posting

ZERO = Decimal("0.00")


@dataclass
class BalanceRow:
    account_id: int
    code: str = ""
    name: str = ""
    opening: Decimal = ZERO  # signed: debit positive
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def opening_debit(self) -> Decimal:
        return self.opening if self.opening > 0 else ZERO

    @property
    def opening_credit(self) -> Decimal:
        return -self.opening if self.opening < 0 else ZERO

    @property
    def closing_debit(self) -> Decimal:
        return self.closing if self.closing > 0 else ZERO

    @property
    def closing_credit(self) -> Decimal:
        return -self.closing if self.closing < 0 else ZERO


@dataclass
class TrialBalance:  # оборотно-сальдовая ведомость
    date_from: dt.date
    date_to: dt.date
    rows: list[BalanceRow] = field(default_factory=list)

    def totals(self) -> dict[str, Decimal]:
        keys = ("opening_debit", "opening_credit", "debit", "credit", "closing_debit", "closing_credit")
        return {k: sum((getattr(r, k) for r in self.rows), ZERO) for k in keys}


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _filters(specific: str | None, funding_source_id: int | None, prefix: str) -> tuple[str, list]:
    sql, params = "", []
    if specific:
        sql += f" AND {prefix}specific = %s"
        params.append(specific)
    if funding_source_id:
        sql += f" AND {prefix}funding_source_id = %s"
        params.append(funding_source_id)
    return sql, params


def _turnover_sums(cursor, institution_id, first_month: int, last_month: int, extra: tuple[str, list]):
    """Σ turnovers per account over whole months first_month..last_month (month indexes)."""
    if first_month > last_month:
        return {}
    cursor.execute(
        "SELECT t.account_id, sum(t.debit), sum(t.credit) FROM ledger_turnover t "
        "JOIN ledger_period p ON p.id = t.period_id "
        "WHERE t.institution_id = %s AND p.year * 12 + p.month - 1 BETWEEN %s AND %s" + extra[0]
        + " GROUP BY t.account_id",
        [institution_id, first_month, last_month, *extra[1]],
    )
    return {a: (d, c) for a, d, c in cursor.fetchall()}


def _posting_sums(cursor, institution_id, start: dt.date, end: dt.date, extra: tuple[str, list]):
    """Σ postings per account dated start..end inclusive (edges of a range only)."""
    if start > end:
        return {}
    cursor.execute(
        "SELECT account_id, coalesce(sum(amount) FILTER (WHERE side = 'D'), 0), "
        "coalesce(sum(amount) FILTER (WHERE side = 'C'), 0) FROM ledger_posting "
        "WHERE institution_id = %s AND date BETWEEN %s AND %s" + extra[0] + " GROUP BY account_id",
        [institution_id, start, end, *extra[1]],
    )
    return {a: (d, c) for a, d, c in cursor.fetchall()}


def _assemble(date_from, date_to, before, within) -> TrialBalance:
    accounts = Account.objects.in_bulk(set(before) | set(within))
    rows = []
    for account_id in sorted(accounts, key=lambda a: accounts[a].code):
        od, oc = before.get(account_id, (ZERO, ZERO))
        d, c = within.get(account_id, (ZERO, ZERO))
        row = BalanceRow(account_id=account_id, code=accounts[account_id].code, name=accounts[account_id].name,
                         opening=od - oc, debit=d, credit=c)
        if row.opening or row.debit or row.credit:
            rows.append(row)
    return TrialBalance(date_from, date_to, rows)


def trial_balance(institution_id: int, date_from: dt.date, date_to: dt.date, *, specific: str | None = None,
                  funding_source_id: int | None = None) -> TrialBalance:
    """Opening balance, turnovers and closing balance per account for any date range."""
    extra_t = _filters(specific, funding_source_id, "t.")
    extra_p = _filters(specific, funding_source_id, "")
    with connection.cursor() as cursor:
        # Before the range: all whole months before date_from's month from turnovers, plus
        # postings of date_from's month before date_from.
        before_t = _turnover_sums(cursor, institution_id, 0, _month_index(date_from) - 1, extra_t)
        before_p = _posting_sums(cursor, institution_id, _month_start(date_from),
                                 date_from - dt.timedelta(days=1), extra_p)
        before: dict[int, tuple] = dict(before_t)
        for account, (d, c) in before_p.items():
            d0, c0 = before.get(account, (ZERO, ZERO))
            before[account] = (d0 + d, c0 + c)
        within = _sums_between_split(cursor, institution_id, date_from, date_to, extra_t, extra_p)
    return _assemble(date_from, date_to, before, within)


def _sums_between_split(cursor, institution_id, start, end, extra_t, extra_p):
    if start > end:
        return {}
    first_whole = start if start.day == 1 else _next_month(start)
    end_is_month_end = _next_month(end) - dt.timedelta(days=1) == end
    last_whole_end = end if end_is_month_end else _month_start(end) - dt.timedelta(days=1)
    parts = []
    if first_whole > last_whole_end:
        parts.append(_posting_sums(cursor, institution_id, start, end, extra_p))
    else:
        parts.append(_posting_sums(cursor, institution_id, start, first_whole - dt.timedelta(days=1), extra_p))
        parts.append(_turnover_sums(cursor, institution_id, _month_index(first_whole),
                                    _month_index(last_whole_end), extra_t))
        parts.append(_posting_sums(cursor, institution_id, last_whole_end + dt.timedelta(days=1), end, extra_p))
    total: dict[int, tuple] = {}
    for part in parts:
        for account, (d, c) in part.items():
            d0, c0 = total.get(account, (ZERO, ZERO))
            total[account] = (d0 + d, c0 + c)
    return total


def trial_balance_by_scan(institution_id: int, date_from: dt.date, date_to: dt.date) -> TrialBalance:
    """The same figures from postings alone, one GROUP BY (the reference for tests and bench)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, "
            "coalesce(sum(amount) FILTER (WHERE side = 'D' AND date < %s), 0), "
            "coalesce(sum(amount) FILTER (WHERE side = 'C' AND date < %s), 0), "
            "coalesce(sum(amount) FILTER (WHERE side = 'D' AND date >= %s), 0), "
            "coalesce(sum(amount) FILTER (WHERE side = 'C' AND date >= %s), 0) "
            "FROM ledger_posting WHERE institution_id = %s AND date <= %s GROUP BY account_id",
            [date_from, date_from, date_from, date_from, institution_id, date_to],
        )
        before, within = {}, {}
        for account, od, oc, d, c in cursor.fetchall():
            before[account] = (od, oc)
            within[account] = (d, c)
    return _assemble(date_from, date_to, before, within)


@dataclass
class CardLine:
    posting: Posting
    balance: Decimal


def account_card(institution_id: int, account: Account, date_from: dt.date, date_to: dt.date,
                 limit: int = 2000, *, specific: str | None = None,
                 funding_source_id: int | None = None) -> tuple[Decimal, list[CardLine], bool]:
    """Account card (карточка счёта): opening balance, each posting with the running balance,
    with the trial balance's filters so a drill-down shows exactly the figures it came from.
    At most `limit` lines on screen; the export takes the whole range."""
    tb = trial_balance(institution_id, date_from, date_from, specific=specific, funding_source_id=funding_source_id)
    opening = next((r.opening for r in tb.rows if r.account_id == account.id), ZERO)
    qs = Posting.objects.filter(institution_id=institution_id, account=account, date__gte=date_from,
                                date__lte=date_to)
    if specific:
        qs = qs.filter(specific=specific)
    if funding_source_id:
        qs = qs.filter(funding_source_id=funding_source_id)
    qs = qs.select_related("entry", "funding_source", "counterparty").order_by("date", "entry_id", "line_no")
    lines, balance = [], opening
    postings = list(qs[: limit + 1])
    for p in postings[:limit]:
        balance += p.amount if p.side == "D" else -p.amount
        lines.append(CardLine(p, balance))
    return opening, lines, len(postings) > limit


def general_ledger(institution_id: int, year: int) -> list[dict]:
    """Главная книга: per account and month, debit and credit turnovers of the year."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.code, p.month, sum(t.debit), sum(t.credit) FROM ledger_turnover t "
            "JOIN ledger_period p ON p.id = t.period_id JOIN ledger_account a ON a.id = t.account_id "
            "WHERE t.institution_id = %s AND p.year = %s GROUP BY a.code, p.month ORDER BY a.code, p.month",
            [institution_id, year],
        )
        return [{"account": code, "month": month, "debit": d, "credit": c} for code, month, d, c in cursor.fetchall()]


SEARCH_LIMIT = 200  # one screen of hits; refine the query for more


SEARCH_QUERY_MAX = 200  # longer text is not a search, and trigram matching cost grows with it


def search_entries(institution_id: int, query: str, limit: int = SEARCH_LIMIT):
    """One search box over entries (document number, type, description, basis, posting
    descriptions) and counterparties (R5): full text with word prefixes over each entry's
    search document (built at commit, GIN), trigrams for fragments of document numbers,
    and counterparties by name or BIN/IIN."""
    # Control characters cannot match anything a user typed into a document, and PostgreSQL
    # refuses NUL in a string outright: drop them rather than fail the search.
    query = "".join(ch for ch in (query or "") if ch.isprintable()).strip()[:SEARCH_QUERY_MAX]
    if not query:
        return JournalEntry.objects.none()
    words = re.findall(r"\w+", query)
    tsquery = " & ".join(f"{w}:*" for w in words) or "''"
    counterparties = Counterparty.objects.filter(institution_id=institution_id).filter(
        Q(name__icontains=query) | Q(iin_bin=query)
    ).values("id")
    by_counterparty = Posting.objects.filter(institution_id=institution_id, counterparty_id__in=counterparties)
    return (
        JournalEntry.objects.filter(institution_id=institution_id)
        .extra(where=["EXISTS (SELECT 1 FROM ledger_entryseal s WHERE s.entry_id = ledger_journalentry.id "
                      "AND s.search @@ to_tsquery('simple', %s))"], params=[tsquery])  # noqa: S610
        .union(
            JournalEntry.objects.filter(institution_id=institution_id, doc_number__icontains=query),
            JournalEntry.objects.filter(institution_id=institution_id, id__in=by_counterparty.values("entry_id")),
        )
        .order_by("-date", "-id")[:limit]
    )
