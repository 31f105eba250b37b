"""Monthly report on the use of tied grants (R21; rules of the grant-use report, seeds 003,
annex 1): what the ledger holds with the grant funding source — the grant's money, the
assets bought with it, the obligations to pay, the grant income and the expenses — per
account with the month's opening balance, turnovers and closing balance, and the donors
(counterparties of the grant's postings). Due by the 20th of the following month."""

import datetime as dt
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from ledger import queries
from ledger.models import Account, AccountKind, FundingSource, Posting

from .statements import month_end

GRANT_SOURCE = "grant"
GROUPS = [
    ("cash", lambda a: a.is_cash),
    ("assets", lambda a: a.kind in (AccountKind.ASSET, AccountKind.CONTRA_ASSET) and not a.is_cash),
    ("liabilities", lambda a: a.kind == AccountKind.LIABILITY),
    ("income", lambda a: a.kind == AccountKind.INCOME),
    ("expenses", lambda a: a.kind == AccountKind.EXPENSE),
    ("net_assets", lambda a: a.kind == AccountKind.NET_ASSETS),
]


def due_date(year: int, month: int) -> dt.date:
    following = month_end(dt.date(year, month, 1)) + dt.timedelta(days=1)
    return following.replace(day=20)


def grant_usage(institution_id: int, year: int, month: int) -> dict:
    start = dt.date(year, month, 1)
    end = month_end(start)
    source = FundingSource.objects.filter(code=GRANT_SOURCE).first()
    result = {"year": year, "month": month, "start": start, "end": end, "due": due_date(year, month),
              "groups": [], "donors": []}
    if source is None:
        return result
    tb = queries.trial_balance(institution_id, start, end, funding_source_id=source.id)
    accounts = Account.objects.in_bulk([r.account_id for r in tb.rows])
    for key, test in GROUPS:
        rows = [r for r in tb.rows if test(accounts[r.account_id])]
        if rows:
            result["groups"].append({
                "key": key, "rows": rows,
                "opening": sum((r.opening for r in rows), Decimal(0)),
                "debit": sum((r.debit for r in rows), Decimal(0)),
                "credit": sum((r.credit for r in rows), Decimal(0)),
                "closing": sum((r.closing for r in rows), Decimal(0)),
            })
    donors = (Posting.objects.filter(institution_id=institution_id, funding_source=source, date__lte=end,
                                     counterparty__isnull=False)
              .values("counterparty__iin_bin", "counterparty__name")
              .annotate(total=Sum("amount")).order_by("counterparty__name"))
    result["donors"] = list(donors)
    return result


GROUP_LABELS = {
    "cash": _("Grant money"),
    "assets": _("Assets acquired with the grant"),
    "liabilities": _("Obligations paid from the grant"),
    "income": _("Grant income"),
    "expenses": _("Expenses financed by the grant"),
    "net_assets": _("Net assets"),
}
