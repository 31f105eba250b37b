"""Registers beyond what the ledger's pages show: memorial orders and the cash book, plus the
trial balance, account card and general ledger as exportable tables. The figures come from
ledger.queries (trial balance from turnovers, account card, general ledger); this module only
arranges them.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from ledger import queries
from ledger.models import Account, Posting

from .models import MemorialOrderType, localized
from .statements import month_end

ZERO = Decimal("0.00")


@dataclass
class Order:
    number: int
    name: str
    entries: list[dict] = field(default_factory=list)
    accounts: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))
    total: Decimal = ZERO

    def account_rows(self):
        return [(code, d, c) for code, (d, c) in sorted(self.accounts.items())]


def order_types(day: dt.date) -> list[MemorialOrderType]:
    return list(MemorialOrderType.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)).order_by("number"))


def classify(types: list[MemorialOrderType], credit_accounts: list[str]) -> int:
    """The order an entry without a number is filed under: the order whose credit-account
    prefix matches one of the entry's credit accounts, longest prefix first; otherwise the
    order with no prefixes (the catch-all), otherwise 0."""
    best, best_len = 0, -1
    for t in types:
        for prefix in t.prefixes():
            for account in credit_accounts:
                if account.startswith(prefix) and len(prefix) > best_len:
                    best, best_len = t.number, len(prefix)
    if best_len < 0:
        catch_all = [t.number for t in types if not t.prefixes()]
        best = catch_all[0] if catch_all else 0
    return best


def memorial_orders(institution_id: int, year: int, month: int) -> list[Order]:
    """Memorial orders of a month: each order's entries and its debit and credit turnover per
    account. An entry carries its order number (JournalEntry.memorial_order) or is filed by
    the numbering data (MemorialOrderType)."""
    start = dt.date(year, month, 1)
    end = month_end(start)
    types = order_types(end)
    names = {t.number: localized(t) for t in types}
    rows = (Posting.objects.filter(institution_id=institution_id, date__gte=start, date__lte=end)
            .order_by("date", "entry_id", "line_no")
            .values_list("entry_id", "entry__memorial_order", "entry__date", "entry__doc_type", "entry__doc_number",
                         "entry__description", "account__code", "side", "amount"))
    entries: dict[int, dict] = {}
    for entry_id, number, day, doc_type, doc_number, description, code, side, amount in rows:
        e = entries.setdefault(entry_id, {"id": entry_id, "number": number, "date": day, "doc": f"{doc_type} "
                                          f"{doc_number}", "description": description, "debit": [], "credit": [],
                                          "lines": [], "amount": ZERO})
        e["debit" if side == "D" else "credit"].append(code)
        e["lines"].append((code, side, amount))
        if side == "D":
            e["amount"] += amount
    orders: dict[int, Order] = {}
    for e in entries.values():
        number = e["number"] or classify(types, e["credit"])
        order = orders.get(number) or orders.setdefault(
            number, Order(number, names.get(number, _("Without a memorial order"))))
        order.entries.append(e)
        order.total += e["amount"]
        for code, side, amount in e["lines"]:
            order.accounts[code][0 if side == "D" else 1] += amount
    return [orders[n] for n in sorted(orders)]


@dataclass
class CashDay:
    date: dt.date
    opening: Decimal
    lines: list = field(default_factory=list)
    receipts: Decimal = ZERO
    payments: Decimal = ZERO

    @property
    def closing(self) -> Decimal:
        return self.opening + self.receipts - self.payments


CASH_BOOK_ACCOUNT = "1010"  # Денежные средства в кассе


def cash_book(institution_id: int, date_from: dt.date, date_to: dt.date,
              account_code: str = CASH_BOOK_ACCOUNT) -> tuple[Decimal, list[CashDay]]:
    """Кассовая книга: the cash account's card split into daily sheets with the day's opening
    balance, receipts, payments and closing balance (ledger.queries.account_card)."""
    account = Account.objects.get(code=account_code)
    opening, lines, _truncated = queries.account_card(institution_id, account, date_from, date_to, limit=10**7)
    days: list[CashDay] = []
    balance = opening
    for line in lines:
        p = line.posting
        if not days or days[-1].date != p.date:
            days.append(CashDay(p.date, balance))
        day = days[-1]
        day.lines.append(line)
        if p.side == "D":
            day.receipts += p.amount
        else:
            day.payments += p.amount
        balance = line.balance
    return opening, days
