"""Register tables for XLSX and PDF: the same figures as the pages (ledger.queries and
reporting.registers), arranged as rows of real numbers."""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from ledger import queries
from ledger.models import Account

from . import grants, registers
from .render import Column, Table

ZERO = Decimal("0.00")


def _range(a: dt.date, b: dt.date) -> str:
    return f"{a:%d.%m.%Y}–{b:%d.%m.%Y}"


def trial_balance_table(institution, date_from, date_to, *, specific=None, funding_source_id=None) -> Table:
    tb = queries.trial_balance(institution.id, date_from, date_to, specific=specific,
                               funding_source_id=funding_source_id)
    table = Table(_("Trial balance"), [
        Column(_("Account"), width=9), Column(_("Name"), width=50),
        Column(_("Opening debit"), "money", 18), Column(_("Opening credit"), "money", 18),
        Column(_("Debit turnover"), "money", 18), Column(_("Credit turnover"), "money", 18),
        Column(_("Closing debit"), "money", 18), Column(_("Closing credit"), "money", 18),
    ], subtitle=f"{institution.name} · {_range(date_from, date_to)}", sheet="trial_balance")
    for r in tb.rows:
        table.add([r.code, r.name, r.opening_debit, r.opening_credit, r.debit, r.credit, r.closing_debit,
                   r.closing_credit])
    t = tb.totals()
    table.add(["", _("Total"), t["opening_debit"], t["opening_credit"], t["debit"], t["credit"], t["closing_debit"],
               t["closing_credit"]], "total")
    return table


def account_card_table(institution, account_code, date_from, date_to, progress=None) -> Table:
    account = Account.objects.get(code=account_code)
    opening, lines, _t = queries.account_card(institution.id, account, date_from, date_to, limit=10**7)
    table = Table(f"{_('Account card')} {account.code}", [
        Column(_("Date"), "date", 11), Column(_("Document"), width=26), Column(_("Description"), width=50),
        Column(_("Specific"), width=8), Column(_("Debit"), "money", 18), Column(_("Credit"), "money", 18),
        Column(_("Balance"), "money", 18),
    ], subtitle=f"{institution.name} · {account.name} · {_range(date_from, date_to)}", sheet=account.code)
    table.add(["", "", _("Opening balance"), "", None, None, opening], "total")
    debit = credit = ZERO
    for n, cl in enumerate(lines):
        p = cl.posting
        if p.side == "D":
            debit += p.amount
        else:
            credit += p.amount
        table.add([p.date, f"{p.entry.doc_type} № {p.entry.doc_number}", p.description or p.entry.description,
                   p.specific, p.amount if p.side == "D" else None, p.amount if p.side == "C" else None, cl.balance])
        if progress and n % 5000 == 0:
            progress(n, len(lines))
    table.add(["", "", _("Turnover and closing balance"), "", debit, credit, opening + debit - credit], "total")
    return table


def general_ledger_table(institution, year: int) -> Table:
    table = Table(_("General ledger"), [Column(_("Account"), width=9), Column(_("Month"), "int", 7),
                                        Column(_("Debit turnover"), "money", 18),
                                        Column(_("Credit turnover"), "money", 18)],
                  subtitle=f"{institution.name} · {year}", sheet="general_ledger")
    debit = credit = ZERO
    for row in queries.general_ledger(institution.id, year):
        table.add([row["account"], row["month"], row["debit"], row["credit"]])
        debit += row["debit"]
        credit += row["credit"]
    table.add([_("Total"), None, debit, credit], "total")
    return table


def memorial_orders_tables(institution, year: int, month: int) -> list[Table]:
    tables = []
    for order in registers.memorial_orders(institution.id, year, month):
        table = Table(f"{_('Memorial order')} № {order.number}: {order.name}", [
            Column(_("Date"), "date", 11), Column(_("Document"), width=26), Column(_("Description"), width=50),
            Column(_("Debit"), width=14), Column(_("Credit"), width=14), Column(_("Amount"), "money", 18),
        ], subtitle=f"{institution.name} · {month:02d}.{year}", sheet=f"MO {order.number}")
        for e in order.entries:
            table.add([e["date"], e["doc"], e["description"], ", ".join(sorted(set(e["debit"]))),
                       ", ".join(sorted(set(e["credit"]))), e["amount"]])
        table.add(["", "", _("Total"), "", "", order.total], "total")
        for code, d, c in order.account_rows():
            table.add(["", "", _("Account %(code)s: debit / credit") % {"code": code}, "", "", None], "heading")
            table.add(["", "", "", "", "", d])
            table.add(["", "", "", "", "", -c])
        tables.append(table)
    return tables


def cash_book_table(institution, date_from, date_to) -> Table:
    opening, days = registers.cash_book(institution.id, date_from, date_to)
    table = Table(_("Cash book"), [
        Column(_("Date"), "date", 11), Column(_("Document"), width=26), Column(_("Description"), width=50),
        Column(_("Receipts"), "money", 18), Column(_("Payments"), "money", 18), Column(_("Balance"), "money", 18),
    ], subtitle=f"{institution.name} · {_range(date_from, date_to)}", sheet="cash_book")
    for day in days:
        table.add([day.date, "", _("Balance at the start of the day"), None, None, day.opening], "heading")
        for cl in day.lines:
            p = cl.posting
            table.add([p.date, f"{p.entry.doc_type} № {p.entry.doc_number}", p.description or p.entry.description,
                       p.amount if p.side == "D" else None, p.amount if p.side == "C" else None, cl.balance])
        table.add([day.date, "", _("Total for the day"), day.receipts, day.payments, day.closing], "total")
    return table


def grant_table(institution, year: int, month: int) -> Table:
    report = grants.grant_usage(institution.id, year, month)
    table = Table(_("Use of tied grants"), [
        Column(_("Account"), width=9), Column(_("Name"), width=50), Column(_("Opening balance"), "money", 18),
        Column(_("Debit turnover"), "money", 18), Column(_("Credit turnover"), "money", 18),
        Column(_("Closing balance"), "money", 18),
    ], subtitle=f"{institution.name} · {month:02d}.{year} · {_('due')} {report['due']:%d.%m.%Y}", sheet="grants")
    for group in report["groups"]:
        table.add(["", str(grants.GROUP_LABELS[group["key"]]), group["opening"], group["debit"], group["credit"],
                   group["closing"]], "total")
        for r in group["rows"]:
            table.add([r.code, r.name, r.opening, r.debit, r.credit, r.closing])
    for donor in report["donors"]:
        table.add([donor["counterparty__iin_bin"], donor["counterparty__name"], None, None, None, donor["total"]])
    return table
