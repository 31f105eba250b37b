"""The payroll calculator: pure (beancount style). Data in — the month's parameters and one
employee's month — figures out, each figure with its formula and the inputs it used, so the
preview, the payslip and a property test can all show or check how a number was reached.

No ORM, no settings, no clock: payroll/services.py reads the database and hands plain values
in. Every amount is Decimal; every rate, cap, threshold, deduction and the rounding unit come
from `Params` (dated rows of payroll.PayrollParameter), never from constants here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")

# Contribution codes an exemption can name (parameter keys exempt_<flag>_<code>).
CONTRIBUTIONS = ("opv", "opvr", "vosms", "oosms", "so", "sn", "ipn")
FLAGS = ("pensioner", "disabled", "foreign")

# The specifics the accrual lands on (ЕБК): wages, additional payments, compensations;
# technical staff are paid from 131 and their employer charges go to 135.
SPECIFIC_WAGES = "111"
SPECIFIC_ADDITIONAL = "112"
SPECIFIC_COMPENSATION = "113"
SPECIFIC_TECHNICAL = "131"


@dataclass(frozen=True)
class Params:
    """The parameters in force for a month (payroll.services.params_for builds it)."""

    mrp: Decimal
    mzp: Decimal
    bdo: Decimal  # base official salary (БДО) for coefficient salaries
    opv_rate: Decimal
    opv_cap_mzp: Decimal
    opvr_rate: Decimal
    opvr_cap_mzp: Decimal
    vosms_rate: Decimal
    vosms_cap_mzp: Decimal
    oosms_rate: Decimal
    oosms_cap_mzp: Decimal
    so_rate: Decimal
    so_min_mzp: Decimal
    so_max_mzp: Decimal
    sn_rate: Decimal
    sn_reduced_by_so: bool
    ipn_rate: Decimal
    ipn_high_rate: Decimal
    ipn_threshold_mrp: Decimal  # 0: no higher band
    deduction_mrp: Decimal
    rounding_unit: Decimal  # 1 = whole tenge per item, 0.01 = tiyn
    exemptions: Mapping[str, frozenset] = field(default_factory=dict)  # flag → codes

    @classmethod
    def from_mapping(cls, values: Mapping[str, Decimal]) -> "Params":
        exemptions: dict[str, set] = {flag: set() for flag in FLAGS}
        for key, value in values.items():
            if key.startswith("exempt_") and value:
                _, flag, code = key.split("_", 2)
                exemptions.setdefault(flag, set()).add(code)
        names = [f for f in cls.__dataclass_fields__ if f != "exemptions"]
        missing = [n for n in names if n not in values]
        if missing:
            raise KeyError(", ".join(missing))
        kwargs = {n: Decimal(values[n]) for n in names}
        kwargs["sn_reduced_by_so"] = bool(values["sn_reduced_by_so"])
        return cls(**kwargs, exemptions={k: frozenset(v) for k, v in exemptions.items()})


@dataclass(frozen=True)
class Allowance:
    name: str
    kind: str  # "percent" of the salary for days worked, or "fixed" a month
    value: Decimal
    specific: str = SPECIFIC_ADDITIONAL


@dataclass(frozen=True)
class EmployeeMonth:
    """Everything about one employee's month the calculation needs."""

    salary: Decimal  # monthly salary of the position × share of a unit
    norm_days: int
    days_worked: int
    allowances: Sequence[Allowance] = ()
    vacation_days: int = 0
    sick_days: int = 0
    bonus: Decimal = ZERO
    one_off: Decimal = ZERO
    average_daily: Decimal = ZERO  # average daily earnings over the preceding 12 months
    ytd_ipn_base: Decimal = ZERO  # ИПН base of the year's earlier months (cumulative threshold)
    advance: Decimal = ZERO  # advances paid for the month
    court_order_percent: Decimal = ZERO
    resident: bool = True
    technical: bool = False
    flags: frozenset = frozenset()  # subset of FLAGS


@dataclass(frozen=True)
class Figure:
    key: str
    amount: Decimal
    formula: str
    inputs: Mapping[str, str]

    def as_dict(self) -> dict:
        return {"key": self.key, "amount": str(self.amount), "formula": self.formula, "inputs": dict(self.inputs)}


@dataclass(frozen=True)
class Result:
    parts: Mapping[str, Decimal]  # specific → accrued
    accrued: Decimal
    opv: Decimal
    vosms: Decimal
    ipn_base: Decimal
    ipn: Decimal
    court: Decimal
    withheld: Decimal
    advance: Decimal
    to_pay: Decimal
    opvr: Decimal
    so: Decimal
    oosms: Decimal
    sn: Decimal
    figures: tuple[Figure, ...]

    @property
    def net(self) -> Decimal:
        """Pay after withholdings, before the advance."""
        return self.accrued - self.withheld

    def employer(self) -> dict[str, Decimal]:
        return {"opvr": self.opvr, "so": self.so, "oosms": self.oosms, "sn": self.sn}

    def withholdings(self) -> dict[str, Decimal]:
        return {"opv": self.opv, "vosms": self.vosms, "ipn": self.ipn, "court": self.court}


def rounded(amount: Decimal, unit: Decimal) -> Decimal:
    """Round to the parameter's unit, half up, and keep two decimal places."""
    return ((amount / unit).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * unit).quantize(CENT)


def _s(value) -> str:
    return str(value)


def calculate(p: Params, e: EmployeeMonth) -> Result:
    figures: list[Figure] = []

    def fig(key, amount, formula, **inputs):
        figures.append(Figure(key, amount, formula, {k: _s(v) for k, v in inputs.items()}))
        return amount

    exempt: set[str] = set()
    for flag in e.flags:
        exempt |= set(p.exemptions.get(flag, ()))
    cent = CENT

    # -- accruals -----------------------------------------------------------------------------
    parts: dict[str, Decimal] = {}

    def add(specific, amount):
        specific = SPECIFIC_TECHNICAL if e.technical else specific
        if amount:
            parts[specific] = parts.get(specific, ZERO) + amount

    salary = ZERO
    if e.norm_days > 0:
        salary = fig("salary", (e.salary * e.days_worked / e.norm_days).quantize(cent, ROUND_HALF_UP),
                     "salary × days_worked / norm_days", salary=e.salary, days_worked=e.days_worked,
                     norm_days=e.norm_days)
    add(SPECIFIC_WAGES, salary)
    for i, a in enumerate(e.allowances):
        if a.kind == "percent":
            amount = (salary * a.value / HUNDRED).quantize(cent, ROUND_HALF_UP)
            fig(f"allowance_{i}", amount, "salary_for_days × percent / 100", name=a.name, salary_for_days=salary,
                percent=a.value)
        else:
            amount = (a.value * e.days_worked / e.norm_days).quantize(cent, ROUND_HALF_UP) if e.norm_days else ZERO
            fig(f"allowance_{i}", amount, "fixed × days_worked / norm_days", name=a.name, fixed=a.value,
                days_worked=e.days_worked, norm_days=e.norm_days)
        add(a.specific, amount)
    if e.vacation_days:
        vacation = fig("vacation_pay", (e.average_daily * e.vacation_days).quantize(cent, ROUND_HALF_UP),
                       "average_daily × vacation_days", average_daily=e.average_daily,
                       vacation_days=e.vacation_days)
        add(SPECIFIC_WAGES, vacation)
    if e.sick_days:
        sick = fig("sick_pay", (e.average_daily * e.sick_days).quantize(cent, ROUND_HALF_UP),
                   "average_daily × sick_days", average_daily=e.average_daily, sick_days=e.sick_days)
        add(SPECIFIC_WAGES, sick)
    if e.bonus:
        add(SPECIFIC_ADDITIONAL, fig("bonus", e.bonus, "entered", bonus=e.bonus))
    if e.one_off:
        add(SPECIFIC_COMPENSATION, fig("one_off", e.one_off, "entered", one_off=e.one_off))
    gross = sum(parts.values(), ZERO)
    fig("accrued", gross, "Σ accruals", **{f"specific_{k}": v for k, v in sorted(parts.items())})

    # -- employee withholdings ----------------------------------------------------------------
    def capped(rate, cap_mzp, code, key, label):
        if code in exempt:
            return fig(key, ZERO.quantize(cent), f"{label}: exempt", exemption=code)
        base = min(gross, cap_mzp * p.mzp)
        return fig(key, rounded(base * rate, p.rounding_unit), f"min(accrued, {label}_cap_mzp × МЗП) × rate",
                   accrued=gross, cap_mzp=cap_mzp, mzp=p.mzp, rate=rate, rounding_unit=p.rounding_unit)

    opv = capped(p.opv_rate, p.opv_cap_mzp, "opv", "opv", "opv")
    vosms = capped(p.vosms_rate, p.vosms_cap_mzp, "vosms", "vosms", "vosms")
    deduction = p.deduction_mrp * p.mrp if e.resident and gross else ZERO
    fig("deduction", deduction, "deduction_mrp × МРП (residents)", deduction_mrp=p.deduction_mrp, mrp=p.mrp,
        resident=e.resident)
    ipn_base = max(gross - opv - vosms - deduction, ZERO)
    fig("ipn_base", ipn_base, "max(accrued − opv − vosms − deduction, 0)", accrued=gross, opv=opv, vosms=vosms,
        deduction=deduction)
    if "ipn" in exempt:
        ipn = fig("ipn", ZERO.quantize(cent), "ipn: exempt", exemption="ipn")
    elif e.resident and p.ipn_threshold_mrp > 0:
        # Cumulative over the year: the part of the year's base above the threshold pays the
        # higher rate, so a high earner crossing it mid-year pays it only on the part above.
        threshold = p.ipn_threshold_mrp * p.mrp
        below_room = max(threshold - e.ytd_ipn_base, ZERO)
        low = min(ipn_base, below_room)
        high = ipn_base - low
        ipn = fig("ipn", rounded(low * p.ipn_rate + high * p.ipn_high_rate, p.rounding_unit),
                  "min(base, room) × rate + (base − min(base, room)) × high_rate; "
                  "room = threshold_mrp × МРП − ytd_base",
                  base=ipn_base, ytd_base=e.ytd_ipn_base, threshold_mrp=p.ipn_threshold_mrp, mrp=p.mrp,
                  rate=p.ipn_rate, high_rate=p.ipn_high_rate, low_part=low, high_part=high,
                  rounding_unit=p.rounding_unit)
    else:
        ipn = fig("ipn", rounded(ipn_base * p.ipn_rate, p.rounding_unit), "base × rate", base=ipn_base,
                  rate=p.ipn_rate, rounding_unit=p.rounding_unit)
    after_tax = gross - opv - vosms - ipn
    court = ZERO.quantize(cent)
    if e.court_order_percent:
        court = fig("court", rounded(max(after_tax, ZERO) * e.court_order_percent / HUNDRED, p.rounding_unit),
                    "(accrued − opv − vosms − ipn) × percent / 100", after_tax=after_tax,
                    percent=e.court_order_percent)
    withheld = opv + vosms + ipn + court
    to_pay = fig("to_pay", gross - withheld - e.advance, "accrued − withheld − advance", accrued=gross,
                 withheld=withheld, advance=e.advance)

    # -- employer charges ---------------------------------------------------------------------
    opvr = capped(p.opvr_rate, p.opvr_cap_mzp, "opvr", "opvr", "opvr")
    if "so" in exempt or not gross:
        so = fig("so", ZERO.quantize(cent), "so: exempt or nothing accrued", exemption="so")
    else:
        so_base = min(max(gross - opv, p.so_min_mzp * p.mzp), p.so_max_mzp * p.mzp)
        so = fig("so", rounded(so_base * p.so_rate, p.rounding_unit),
                 "min(max(accrued − opv, so_min_mzp × МЗП), so_max_mzp × МЗП) × rate", accrued=gross, opv=opv,
                 so_min_mzp=p.so_min_mzp, so_max_mzp=p.so_max_mzp, mzp=p.mzp, rate=p.so_rate)
    oosms = capped(p.oosms_rate, p.oosms_cap_mzp, "oosms", "oosms", "oosms")
    if "sn" in exempt:
        sn = fig("sn", ZERO.quantize(cent), "sn: exempt", exemption="sn")
    else:
        sn_raw = (gross - opv - vosms) * p.sn_rate - (so if p.sn_reduced_by_so else ZERO)
        sn = fig("sn", rounded(max(sn_raw, ZERO), p.rounding_unit),
                 "max((accrued − opv − vosms) × rate − (so if reduced_by_so), 0)", accrued=gross, opv=opv,
                 vosms=vosms, rate=p.sn_rate, so=so, reduced_by_so=p.sn_reduced_by_so)
    return Result(parts=parts, accrued=gross, opv=opv, vosms=vosms, ipn_base=ipn_base, ipn=ipn, court=court,
                  withheld=withheld, advance=e.advance, to_pay=to_pay, opvr=opvr, so=so, oosms=oosms, sn=sn,
                  figures=tuple(figures))


def split(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Share `amount` over the keys in proportion to `weights`, to the tiyn, exactly: the
    largest key takes the remainder so the parts add up to the amount."""
    total = sum(weights.values(), ZERO)
    if not amount or not total:
        return {}
    keys = sorted(weights, key=lambda k: (-weights[k], k))
    result = {k: (amount * weights[k] / total).quantize(CENT, ROUND_HALF_UP) for k in keys[1:]}
    result[keys[0]] = amount - sum(result.values(), ZERO)
    return {k: v for k, v in result.items() if v}
