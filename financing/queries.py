"""Reads of financing data: the effective plan at a date, versions and their difference,
plan execution. Pure reads; nothing here writes.

The effective plan of a year on a date is the approved plan plus every certificate of
change dated on or before that date (certificates carry signed changes). Versions are
numbered in the order they arrive and a new version may not be dated before the last one
(financing.imports, rule FIN-IMP-DATE), so "version ≤ v" and "dated ≤ d" cut the same history.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from .models import MONTH_FIELDS, MONTHS, PlanDocument, PlanType

ZERO = Decimal("0.00")
Key = tuple[str, str, str, str]  # administrator, programme, subprogramme, specific

_MONTHS_SQL = ", ".join(f"SUM(l.{f})" for f in MONTH_FIELDS)


def _in_force(institution_id: int, year: int, *, on_date: dt.date | None = None, version: int | None = None,
              plan_type: str | None = None, specific: str | None = None) -> tuple[str, list]:
    where = ["d.institution_id = %s", "d.year = %s"]
    params: list = [institution_id, year]
    if on_date is not None:
        where.append("d.date <= %s")
        params.append(on_date)
    if version is not None:
        where.append("d.version <= %s")
        params.append(version)
    if plan_type is not None:
        where.append("l.plan_type = %s")
        params.append(plan_type)
    if specific is not None:
        where.append("l.specific = %s")
        params.append(specific)
    return " AND ".join(where), params


def effective_plan(institution, year: int, *, on_date: dt.date | None = None, version: int | None = None,
                   plan_type: str | None = None) -> dict[tuple[str, Key], list[Decimal]]:
    """{(plan_type, classification): twelve monthly amounts} in force on `on_date` (or after
    version `version`); lines that net to zero over the year and every month are kept, so a
    line cut to zero still shows in a diff."""
    where, params = _in_force(institution.id, year, on_date=on_date, version=version, plan_type=plan_type)
    sql = (f"SELECT l.plan_type, l.administrator, l.programme, l.subprogramme, l.specific, {_MONTHS_SQL} "
           f"FROM financing_planline l JOIN financing_plandocument d ON d.id = l.document_id WHERE {where} "
           "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(row[0], tuple(row[1:5])): list(row[5:17]) for row in cursor.fetchall()}


def payments_plan(institution, year: int, month: int, specific: str, *, on_date=None) -> Decimal | None:
    """The effective plan by payments of `institution` for `month` of `year` and `specific`,
    summed over programmes and subprogrammes, as in force on `on_date` (default today).
    None when no plan of that year is in force on that date (nothing imported yet, or the
    approved plan is dated later). Payroll reads it as the month's wage fund (FLC-PAY-001)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1..12")
    on_date = on_date or timezone.localdate()
    column = MONTH_FIELDS[month - 1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM financing_plandocument WHERE institution_id = %s AND year = %s "
            "AND date <= %s), "
            f"(SELECT COALESCE(SUM(l.{column}), 0) FROM financing_planline l "
            "JOIN financing_plandocument d ON d.id = l.document_id "
            "WHERE d.institution_id = %s AND d.year = %s AND d.date <= %s AND l.plan_type = 'payments' "
            "AND l.specific = %s)",
            [institution.id, year, on_date, institution.id, year, on_date, specific])
        exists, amount = cursor.fetchone()
    return Decimal(amount).quantize(Decimal("0.01")) if exists else None


def plan_to_month(institution_id: int, year: int, month: int, key: Key, plan_type: str,
                  on_date: dt.date) -> Decimal:
    """Cumulative plan from January to `month` inclusive for one classification (the facts of
    FLC-FIN-001/002), as in force on `on_date`."""
    columns = " + ".join(f"COALESCE(SUM(l.{f}), 0)" for f in MONTH_FIELDS[:month])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM financing_planline l JOIN financing_plandocument d ON d.id = l.document_id "
            "WHERE d.institution_id = %s AND d.year = %s AND d.date <= %s AND l.plan_type = %s "
            "AND l.administrator = %s AND l.programme = %s AND l.subprogramme = %s AND l.specific = %s",
            [institution_id, year, on_date, plan_type, *key])
        return Decimal(cursor.fetchone()[0] or 0)


def versions(institution, year: int) -> list[PlanDocument]:
    return list(PlanDocument.objects.filter(institution=institution, year=year).order_by("version"))


def years(institution) -> list[int]:
    return sorted(set(PlanDocument.objects.filter(institution=institution).values_list("year", flat=True)),
                  reverse=True)


@dataclass
class DiffRow:
    plan_type: str
    key: Key
    before: list[Decimal]
    after: list[Decimal]

    @property
    def change(self) -> list[Decimal]:
        return [a - b for a, b in zip(self.after, self.before, strict=True)]

    @property
    def year_before(self) -> Decimal:
        return sum(self.before, ZERO)

    @property
    def year_after(self) -> Decimal:
        return sum(self.after, ZERO)

    @property
    def year_change(self) -> Decimal:
        return self.year_after - self.year_before

    @property
    def cells(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        return list(zip(self.before, self.after, self.change, strict=True))


def diff(institution, year: int, version_a: int, version_b: int) -> list[DiffRow]:
    """The lines whose effective amounts differ between the plan after version_a and after version_b."""
    before = effective_plan(institution, year, version=version_a)
    after = effective_plan(institution, year, version=version_b)
    rows = []
    for plan_type, key in sorted(set(before) | set(after)):
        a = before.get((plan_type, key), [ZERO] * 12)
        b = after.get((plan_type, key), [ZERO] * 12)
        if a != b:
            rows.append(DiffRow(plan_type, key, a, b))
    return rows


# -- execution -------------------------------------------------------------------------------

@dataclass
class ExecutionRow:
    """One classification line of the execution report, by month (index 0 = January)."""

    key: Key
    plan_obligations: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)
    obligations: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)
    plan_payments: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)
    payments: list[Decimal] = field(default_factory=lambda: [ZERO] * 12)

    @property
    def programme(self) -> str:
        return ".".join(self.key[:3])

    @property
    def specific(self) -> str:
        return self.key[3]

    def total(self, name: str, upto: int = 12) -> Decimal:
        return sum(getattr(self, name)[:upto], ZERO)

    @property
    def totals(self) -> dict[str, Decimal]:
        t = {n: self.total(n) for n in ("plan_obligations", "obligations", "plan_payments", "payments")}
        t["obligations_balance"] = t["plan_obligations"] - t["obligations"]
        t["payments_balance"] = t["plan_payments"] - t["payments"]
        t["payments_percent"] = (t["payments"] * 100 / t["plan_payments"]).quantize(Decimal("0.1")) \
            if t["plan_payments"] else None
        return t

    def month_cells(self) -> list[dict]:
        return [{"month": m, "plan_obligations": self.plan_obligations[m - 1], "obligations": self.obligations[m - 1],
                 "plan_payments": self.plan_payments[m - 1], "payments": self.payments[m - 1],
                 "obligations_balance": self.plan_obligations[m - 1] - self.obligations[m - 1],
                 "payments_balance": self.plan_payments[m - 1] - self.payments[m - 1]} for m in MONTHS]


@dataclass
class Execution:
    year: int
    on_date: dt.date
    rows: list[ExecutionRow]

    def by_month(self) -> dict[str, list[Decimal]]:
        """Totals of every row by month: the chart's series."""
        out = {n: [ZERO] * 12 for n in ("plan_obligations", "obligations", "plan_payments", "payments")}
        for row in self.rows:
            for name, series in out.items():
                for i, value in enumerate(getattr(row, name)):
                    series[i] += value
        return out

    @property
    def totals(self) -> dict[str, Decimal]:
        series = self.by_month()
        t = {n: sum(v, ZERO) for n, v in series.items()}
        t["obligations_balance"] = t["plan_obligations"] - t["obligations"]
        t["payments_balance"] = t["plan_payments"] - t["payments"]
        return t


def execution(institution, year: int, *, on_date: dt.date | None = None, programme: str = "",
              specific: str = "") -> Execution:
    """Plan by obligations, accepted obligations, plan by payments, payments and balances by
    programme / subprogramme / specific / month. `programme` filters "adm.prog" or
    "adm.prog.sub" (drill-down), `specific` one specific."""
    if on_date is None:
        today = timezone.localdate()
        on_date = today if today.year <= year else dt.date(year, 12, 31)
    rows: dict[Key, ExecutionRow] = {}

    def wanted(key: Key) -> bool:
        if specific and key[3] != specific:
            return False
        return not programme or ".".join(key[:3]).startswith(programme)

    def row(key: Key) -> ExecutionRow:
        if key not in rows:
            rows[key] = ExecutionRow(key)
        return rows[key]

    for (plan_type, key), months in effective_plan(institution, year, on_date=on_date).items():
        if wanted(key):
            target = row(key).plan_obligations if plan_type == PlanType.OBLIGATIONS else row(key).plan_payments
            for i, amount in enumerate(months):
                target[i] += amount
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT administrator, programme, subprogramme, specific, EXTRACT(MONTH FROM date)::int, SUM(amount) "
            "FROM financing_obligation WHERE institution_id = %s AND date BETWEEN %s AND %s "
            "GROUP BY 1, 2, 3, 4, 5",
            [institution.id, dt.date(year, 1, 1), min(on_date, dt.date(year, 12, 31))])
        for adm, prog, sub, spec, month, amount in cursor.fetchall():
            if wanted((adm, prog, sub, spec)):
                row((adm, prog, sub, spec)).obligations[month - 1] += amount
        cursor.execute(
            "SELECT c.administrator, c.programme, c.subprogramme, c.specific, EXTRACT(MONTH FROM p.date)::int, "
            "SUM(p.amount) FROM financing_payment p JOIN financing_contract c ON c.id = p.contract_id "
            "WHERE p.institution_id = %s AND p.date BETWEEN %s AND %s GROUP BY 1, 2, 3, 4, 5",
            [institution.id, dt.date(year, 1, 1), min(on_date, dt.date(year, 12, 31))])
        for adm, prog, sub, spec, month, amount in cursor.fetchall():
            if wanted((adm, prog, sub, spec)):
                row((adm, prog, sub, spec)).payments[month - 1] += amount
    return Execution(year, on_date, [rows[k] for k in sorted(rows)])


def group_execution(report: Execution, level: str) -> list[dict]:
    """Roll the rows up to `level`: "programme" (adm.prog), "subprogramme" (adm.prog.sub) or
    "specific" (the rows themselves), for the drill-down."""
    width = {"programme": 2, "subprogramme": 3}.get(level)
    if width is None:
        return [{"code": f"{r.programme} · {r.specific}", "programme": r.programme, "specific": r.specific,
                 "totals": r.totals} for r in report.rows]
    groups: dict[str, ExecutionRow] = defaultdict(lambda: ExecutionRow(("", "", "", "")))
    for r in report.rows:
        g = groups[".".join(r.key[:width])]
        for name in ("plan_obligations", "obligations", "plan_payments", "payments"):
            for i, value in enumerate(getattr(r, name)):
                getattr(g, name)[i] += value
    return [{"code": code, "programme": code, "specific": "", "totals": g.totals} for code, g in sorted(groups.items())]
