"""FO-1…FO-5 computed from the ledger's turnovers through dated line maps, the cross-form
checks, and consolidation over an administrator's subtree with internal entries eliminated.

Everything is read from `ledger_turnover` (one row per institution, month, account, specific
and funding source), never from postings, so a statement costs the same for a ledger of a
thousand postings or of millions. Statements cover whole months, which is what turnovers
hold. Consolidation reads postings only for the entries it eliminates (those with a
counterparty whose BIN is an institution of the group), through the partial index on
counterparty.

Amounts are Decimal; the JSON a statement is frozen into carries them as strings.
"""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from ledger.models import Account, AccountKind

from .models import MAPPED_FORMS, Form, FormLine, LineMap

ZERO = Decimal("0.00")
COLUMNS = {Form.FO1: ("opening", "closing"), Form.FO2: ("amount",), Form.FO3: ("amount",), Form.FO4: ("amount",)}

# Lines the cross-form checks compare (codes of reporting/data/form_lines.csv).
FO1_CASH, FO1_ASSETS, FO1_EQUITY_AND_LIABILITIES, FO1_NET_ASSETS = "010", "300", "700", "600"
FO2_SURPLUS, FO3_OPENING, FO3_CLOSING, FO4_SURPLUS, FO4_CLOSING = "300", "040", "050", "040", "100"

CHECKS = {
    "CHK-FO1-BALANCE": _("FO-1: total assets (line 300) equal liabilities and net assets (line 700)"),
    "CHK-FO1-FO3-CASH": _("Cash in FO-1 (line 010) equals cash in FO-3 (lines 040 and 050)"),
    "CHK-FO4-FO1-NET-ASSETS": _("Closing net assets in FO-4 (line 100) equal FO-1 (line 600)"),
    "CHK-FO2-FO4-SURPLUS": _("Surplus in FO-2 (line 300) equals surplus in FO-4 (line 040)"),
    "CHK-MAPS-COMPLETE": _("Every balance and turnover of the ledger is mapped to a line"),
}

FO5_SECTIONS = {
    "position": _("Financial position"),
    "performance": _("Financial performance"),
    "cash": _("Cash flows"),
    "net_assets": _("Changes in net assets"),
    "grants": _("Tied grants"),
    "eliminations": _("Eliminated internal operations"),
}
FO5_FIGURES = {
    "position": [(Form.FO1, "300", "opening"), (Form.FO1, "300", "closing"), (Form.FO1, "400", "closing"),
                 (Form.FO1, "500", "closing"), (Form.FO1, "600", "opening"), (Form.FO1, "600", "closing")],
    "performance": [(Form.FO2, "100", "amount"), (Form.FO2, "200", "amount"), (Form.FO2, "300", "amount")],
    "cash": [(Form.FO3, "040", "amount"), (Form.FO3, "010", "amount"), (Form.FO3, "020", "amount"),
             (Form.FO3, "050", "amount")],
    "net_assets": [(Form.FO4, "010", "amount"), (Form.FO4, "040", "amount"), (Form.FO4, "100", "amount")],
    "grants": [(Form.FO2, "014", "amount"), (Form.FO3, "014", "amount")],
}


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@dataclass
class Agg:
    """One (account, specific): balances at the opening and closing dates, split by year,
    and the turnovers within the range."""

    all_o: Decimal = ZERO
    all_c: Decimal = ZERO
    year_o: Decimal = ZERO
    year_c: Decimal = ZERO
    before_o: Decimal = ZERO
    before_c: Decimal = ZERO
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    def balance(self, scope: str, column: str) -> Decimal:
        suffix = "o" if column == "opening" else "c"
        return getattr(self, {"all": "all_", "year": "year_", "before_year": "before_"}[scope] + suffix)

    @property
    def empty(self) -> bool:
        return not (self.all_o or self.all_c or self.debit or self.credit)


@dataclass
class Source:
    """The ledger figures of one statement: per (account code, specific) aggregates."""

    start: dt.date
    end: dt.date
    aggs: dict[tuple[str, str], Agg] = field(default_factory=dict)
    eliminated: dict = field(default_factory=dict)


# Monthly debit and credit per account and specific, up to the closing month: from turnovers.
# (bench/reporting.py swaps in the same from postings, to compare.)
MONTHLY_SQL = """
SELECT t.account_id, t.specific, p.year * 12 + p.month - 1 AS m, t.debit AS d, t.credit AS c
FROM ledger_turnover t JOIN ledger_period p ON p.id = t.period_id
WHERE t.institution_id = ANY(%(ids)s) AND p.year * 12 + p.month - 1 <= %(c)s
"""

# Everything a statement needs per (account, specific), aggregated by the database: balances at
# the opening and closing month (all history, and since each one's January), and the turnovers
# of the range. A few thousand rows, whatever the size of the ledger.
AGGREGATE_SQL = """
SELECT account_id, specific,
       coalesce(sum(d - c) FILTER (WHERE m <= %(o)s), 0),
       coalesce(sum(d - c) FILTER (WHERE m <= %(o)s AND m >= %(yo)s), 0),
       coalesce(sum(d - c), 0),
       coalesce(sum(d - c) FILTER (WHERE m >= %(yc)s), 0),
       coalesce(sum(d) FILTER (WHERE m > %(o)s), 0),
       coalesce(sum(c) FILTER (WHERE m > %(o)s), 0)
FROM ({monthly}) s
GROUP BY account_id, specific
"""

# Entries of the group with a line whose counterparty is an institution of the group: internal
# transfers, settlements and sales inside the group. They are eliminated whole, so what is left
# still balances entry by entry. Two steps, each on an index (the partial index on counterparty,
# then the unique (entry, line) index): a single statement joining the two let the planner,
# without statistics on a fresh database, rescan postings per posting.
INTERNAL_ENTRIES_SQL = """
SELECT DISTINCT q.entry_id FROM ledger_posting q
WHERE q.counterparty_id IN (SELECT c.id FROM ledger_counterparty c
                            WHERE c.institution_id = ANY(%s) AND c.iin_bin = ANY(%s))
  AND q.date <= %s
"""
ELIMINATED_SQL = """
SELECT p.account_id, p.specific, extract(year FROM p.date)::int * 12 + extract(month FROM p.date)::int - 1,
       coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0), coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)
FROM ledger_posting p
WHERE p.entry_id = ANY(%s)
GROUP BY 1, 2, 3
"""


def _add(agg: "Agg", m: int, d: Decimal, cr: Decimal, o: int, c: int, sign: int = 1) -> None:
    """Add (or with sign −1 take away) one month's turnover of one (account, specific)."""
    d, cr = d * sign, cr * sign
    net = d - cr
    year_o, year_c = (o // 12) * 12, (c // 12) * 12
    if m <= o:
        agg.all_o += net
        if m >= year_o:
            agg.year_o += net
        else:
            agg.before_o += net
    if m <= c:
        agg.all_c += net
        if m >= year_c:
            agg.year_c += net
        else:
            agg.before_c += net
    if o < m <= c:
        agg.debit += d
        agg.credit += cr


def load_source(institution_ids: list[int], start: dt.date, end: dt.date, *, eliminate: bool = False) -> Source:
    accounts = {a.id: a.code for a in Account.objects.only("id", "code")}
    o, c = month_index(start) - 1, month_index(end)
    params = {"ids": list(institution_ids), "o": o, "c": c, "yo": (o // 12) * 12, "yc": (c // 12) * 12,
              "end": end}
    source = Source(start, end)
    with connection.cursor() as cursor:
        cursor.execute(AGGREGATE_SQL.format(monthly=MONTHLY_SQL), params)
        for account_id, specific, all_o, year_o, all_c, year_c, debit, credit in cursor.fetchall():
            source.aggs[(accounts[account_id], specific)] = Agg(
                all_o=all_o, all_c=all_c, year_o=year_o, year_c=year_c, before_o=all_o - year_o,
                before_c=all_c - year_c, debit=debit, credit=credit)
        if eliminate:
            bins = list(Institution.objects.filter(id__in=institution_ids).values_list("bin", flat=True))
            cursor.execute(INTERNAL_ENTRIES_SQL, [list(institution_ids), bins, end])
            internal = [row[0] for row in cursor.fetchall()]
            cursor.execute(ELIMINATED_SQL, [internal])
            debit = credit = ZERO
            by_account: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
            for account_id, specific, m, d, cr in cursor.fetchall():
                if m > c:
                    continue
                _add(source.aggs.setdefault((accounts[account_id], specific), Agg()), m, d, cr, o, c, sign=-1)
                if m > o:
                    debit += d
                    credit += cr
                    by_account[accounts[account_id]][0] += d
                    by_account[accounts[account_id]][1] += cr
            source.eliminated = {
                "debit": debit, "credit": credit, "entries": len(internal),
                "accounts": {code: {"debit": v[0], "credit": v[1]} for code, v in sorted(by_account.items())},
            }
    return source


def valid_on(qs, day: dt.date):
    return qs.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))


class Maps:
    """The line maps in force on a date, with longest-prefix matching cached per key."""

    def __init__(self, day: dt.date):
        # form → account prefix → rows: a lookup tries the four prefixes of a code
        self.by_prefix: dict[str, dict[str, list[LineMap]]] = defaultdict(lambda: defaultdict(list))
        for m in valid_on(LineMap.objects.all(), day):
            self.by_prefix[m.form][m.account].append(m)
        self._cache: dict = {}

    def match(self, form: str, account: str, specific: str, side: str | None = None) -> list[LineMap]:
        key = (form, account, specific, side, "")
        if key not in self._cache:
            by_account = (form, account, side)
            if by_account not in self._cache:
                prefixes = self.by_prefix[form]
                self._cache[by_account] = [m for k in range(1, len(account) + 1) for m in prefixes.get(account[:k], ())
                                           if side is None or m.side == side]
            found = [m for m in self._cache[by_account] if specific.startswith(m.specific)]
            if found:
                best = max((len(m.account), len(m.specific)) for m in found)
                found = [m for m in found if (len(m.account), len(m.specific)) == best]
            self._cache[key] = found
        return self._cache[key]


TERM = re.compile(r"([+-]?)\s*(FO-\d\.[0-9A-Z]+\.[a-z]+|@[a-z_]+|[0-9A-Z]+)")


def compute(source: Source, *, kinds: dict[str, str] | None = None, cash: set[str] | None = None) -> dict:
    """All forms, the checks and what is unmapped, as JSON-ready data (amounts as strings)."""
    if kinds is None or cash is None:
        accounts = list(Account.objects.only("code", "kind", "is_cash"))
        kinds = {a.code: a.kind for a in accounts}
        cash = {a.code for a in accounts if a.is_cash}
    maps = Maps(source.end)
    lines_by_form: dict[str, list[FormLine]] = defaultdict(list)
    for line in valid_on(FormLine.objects.all(), source.end).order_by("form", "order"):
        lines_by_form[line.form].append(line)
    values: dict[str, dict[str, dict[str, Decimal]]] = {
        form: defaultdict(lambda: defaultdict(lambda: ZERO)) for form in MAPPED_FORMS}
    unmapped: list[dict] = []
    flows = {AccountKind.INCOME, AccountKind.EXPENSE}
    cash_opening = cash_closing = ZERO

    for (code, specific), agg in sorted(source.aggs.items()):
        if agg.empty:
            continue
        kind = kinds.get(code)
        # FO-1: balances at both dates
        if agg.all_o or agg.all_c or agg.year_o or agg.year_c:
            found = maps.match(Form.FO1, code, specific)
            for m in found:
                for column in COLUMNS[Form.FO1]:
                    amount = agg.balance(m.scope, column)
                    values[Form.FO1][m.line][column] += amount if m.side == "D" else -amount
            if not found and (agg.all_o or agg.all_c):
                unmapped.append({"form": "FO-1", "account": code, "specific": specific,
                                 "amount": str(agg.all_c)})
        net = agg.debit - agg.credit
        # FO-2 and FO-4: net turnover of the range
        for form, relevant in ((Form.FO2, kind in flows),
                               (Form.FO4, kind in flows or kind == AccountKind.NET_ASSETS)):
            found = maps.match(form, code, specific)
            for m in found:
                values[form][m.line]["amount"] += net if m.side == "D" else -net
            if relevant and net and not found:
                unmapped.append({"form": str(form), "account": code, "specific": specific, "amount": str(net)})
        # FO-3: receipts and payments of cash accounts, gross
        if code in cash:
            cash_opening += agg.all_o
            cash_closing += agg.all_c
            for side, amount in (("D", agg.debit), ("C", agg.credit)):
                if not amount:
                    continue
                found = maps.match(Form.FO3, code, specific, side)
                for m in found:
                    values[Form.FO3][m.line]["amount"] += amount
                if not found:
                    unmapped.append({"form": "FO-3", "account": code, "specific": specific, "side": side,
                                     "amount": str(amount)})

    builtins = {"cash_opening": cash_opening, "cash_closing": cash_closing}
    forms: dict[str, dict] = {}
    for form in MAPPED_FORMS:
        forms[form] = _evaluate(form, lines_by_form[form], values, builtins)
    data = {
        "period_start": source.start.isoformat(), "period_end": source.end.isoformat(),
        "forms": {form: _jsonable(f) for form, f in forms.items()},
        "unmapped": unmapped,
    }
    data["checks"] = run_checks(forms, unmapped)
    if source.eliminated:
        e = source.eliminated
        data["eliminated"] = {
            "debit": str(e["debit"]), "credit": str(e["credit"]),
            "accounts": {k: {"debit": str(v["debit"]), "credit": str(v["credit"])} for k, v in e["accounts"].items()},
        }
    data["forms"][Form.FO5] = explanatory_note(forms, data.get("eliminated"))
    return data


def _evaluate(form: str, lines: list[FormLine], values, builtins) -> dict:
    columns = COLUMNS[form]
    by_code = {line.code: line for line in lines}
    mapped = values[form]
    done: dict[str, dict[str, Decimal]] = {}

    def value(code: str, column: str, depth: int = 0) -> Decimal:
        if depth > 50:
            raise ValueError(f"{form}: circular formula at line {code}")
        if code not in done:
            line = by_code.get(code)
            if line is None or not line.formula:
                done[code] = {c: mapped[code][c] for c in columns} if code in mapped else dict.fromkeys(columns, ZERO)
            else:
                done[code] = {c: formula(line.formula, c, depth) for c in columns}
        return done[code][column]

    def formula(text: str, column: str, depth: int) -> Decimal:
        total = ZERO
        for sign, term in TERM.findall(text):
            if term.startswith("@"):
                amount = builtins[term[1:]]
            elif term.startswith("FO-"):
                other, code, col = term.split(".")
                amount = refs[other][code][col]
            else:
                amount = value(term, column, depth + 1)
            total += -amount if sign == "-" else amount
        return total

    refs = values.get("_evaluated", {})
    result = []
    for line in lines:
        row = {"code": line.code, "name_ru": line.name_ru, "name_kk": line.name_kk, "heading": line.is_heading,
               "total": bool(line.formula), "values": {}}
        if not line.is_heading:
            row["values"] = {c: value(line.code, c) for c in columns}
        result.append(row)
    # unmapped lines that maps point to but the form does not define are still reported
    for code in sorted(set(mapped) - set(by_code)):
        result.append({"code": code, "name_ru": code, "name_kk": code, "heading": False, "total": False,
                       "values": {c: mapped[code][c] for c in columns}})
    values.setdefault("_evaluated", {})[form] = {r["code"]: r["values"] for r in result if not r["heading"]}
    return {"form": form, "columns": list(columns), "lines": result}


def _jsonable(form: dict) -> dict:
    return {**form, "lines": [{**row, "values": {k: str(v) for k, v in row["values"].items()}}
                              for row in form["lines"]]}


def figure(forms: dict, form: str, code: str, column: str) -> Decimal:
    for row in forms[form]["lines"]:
        if row["code"] == code and not row["heading"]:
            return Decimal(row["values"][column])
    return ZERO


def run_checks(forms: dict, unmapped: list[dict]) -> list[dict]:
    def f(form, code, column="amount"):
        return figure(forms, form, code, column)

    def check(code, left, right, detail=""):
        return {"code": code, "ok": left == right, "left": str(left), "right": str(right),
                "difference": str(left - right), "detail": detail}

    results = []
    for column in ("opening", "closing"):
        results.append(check("CHK-FO1-BALANCE", f(Form.FO1, FO1_ASSETS, column),
                             f(Form.FO1, FO1_EQUITY_AND_LIABILITIES, column), column))
    results.append(check("CHK-FO1-FO3-CASH", f(Form.FO1, FO1_CASH, "opening"), f(Form.FO3, FO3_OPENING), "opening"))
    results.append(check("CHK-FO1-FO3-CASH", f(Form.FO1, FO1_CASH, "closing"), f(Form.FO3, FO3_CLOSING), "closing"))
    results.append(check("CHK-FO4-FO1-NET-ASSETS", f(Form.FO4, FO4_CLOSING), f(Form.FO1, FO1_NET_ASSETS, "closing")))
    results.append(check("CHK-FO2-FO4-SURPLUS", f(Form.FO2, FO2_SURPLUS), f(Form.FO4, FO4_SURPLUS)))
    results.append({"code": "CHK-MAPS-COMPLETE", "ok": not unmapped, "left": str(len(unmapped)), "right": "0",
                    "difference": str(len(unmapped)),
                    "detail": "; ".join(f"{u['form']} {u['account']}/{u['specific'] or '*'} {u['amount']}"
                                        for u in unmapped[:20])})
    return results


def explanatory_note(forms: dict, eliminated: dict | None) -> dict:
    """FO-5: the explanatory note's sections, each quoting the figures it must (form, line,
    column and the value as computed), so the note can never disagree with the forms."""
    names = {(form, row["code"]): (row["name_ru"], row["name_kk"]) for form in MAPPED_FORMS
             for row in forms[form]["lines"]}
    sections = []
    for key, figures in FO5_FIGURES.items():
        sections.append({"key": key, "figures": [
            {"form": str(form), "line": code, "column": column, "value": str(figure(forms, form, code, column)),
             "name_ru": names.get((form, code), ("", ""))[0], "name_kk": names.get((form, code), ("", ""))[1]}
            for form, code, column in figures]})
    if eliminated:
        sections.append({"key": "eliminations", "figures": [
            {"form": "", "line": "", "column": "debit", "value": eliminated["debit"],
             "name_ru": "Исключено оборотов по дебету", "name_kk": "Дебет бойынша алып тасталған айналымдар"},
            {"form": "", "line": "", "column": "credit", "value": eliminated["credit"],
             "name_ru": "Исключено оборотов по кредиту", "name_kk": "Кредит бойынша алып тасталған айналымдар"},
        ]})
    return {"form": str(Form.FO5), "sections": sections}


def statement_data(institution: Institution, start: dt.date, end: dt.date, *, consolidated: bool = False) -> dict:
    """Compute the statements of an institution (or of its whole subtree, consolidated)."""
    ids = institution.subtree_ids() if consolidated else [institution.id]
    source = load_source(ids, start, end, eliminate=consolidated)
    data = compute(source)
    data["institutions"] = ids
    return data
