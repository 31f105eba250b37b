"""Demo financing data for the demo school and college (ledger/demo.py): the 2026 financing
plans, a certificate of change, contracts registered with the treasury, their obligations,
acceptance acts and payments, and a treasury statement.

The plans are consistent with the ledger demo: for each programme, subprogramme and specific
the monthly plan by payments is what the ledger shows financed from the budget that month
(credits of 6010/6020 on budget funding) with a margin, so the wage fund the payroll reads
(queries.payments_plan on specific 111) and the execution report agree with the books.
Months the ledger has not reached yet repeat the last month. Idempotent: an institution
whose 2026 plan exists is left alone.
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_UP, Decimal

from django.db import connection, transaction

from access.models import Institution, User
from ledger.models import Counterparty

from . import services
from .models import Channel, PlanDocument

YEAR = 2026
MARGIN = Decimal("1.10")  # the plan leaves room above what was financed: the demo's own contracts use it
BUDGET_FUNDING = ("budget_local", "budget_republican")
PLAN_DATE = dt.date(YEAR - 1, 12, 26)
CERTIFICATE_DATE = dt.date(YEAR, 3, 12)


def _financed(institution) -> dict[tuple, list[Decimal]]:
    """{(adm, prog, sub, spec): twelve months financed} from the ledger's 2026 postings."""
    out: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 12)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.administrator, p.programme, p.subprogramme, p.specific, EXTRACT(MONTH FROM p.date)::int, "
            "SUM(p.amount) FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id "
            "JOIN ledger_fundingsource f ON f.id = p.funding_source_id "
            "WHERE p.institution_id = %s AND p.date BETWEEN %s AND %s AND a.code IN ('6010', '6020') "
            "AND p.side = 'C' AND f.code = ANY(%s) GROUP BY 1, 2, 3, 4, 5",
            [institution.id, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), list(BUDGET_FUNDING)])
        for adm, prog, sub, spec, month, amount in cursor.fetchall():
            out[(adm, prog, sub, spec)][month - 1] += amount
    return out


def _whole(amount: Decimal) -> Decimal:
    return (amount * MARGIN / 1000).quantize(Decimal(1), rounding=ROUND_UP) * 1000


def _contract_schedule(programme: str) -> dict[tuple, list[Decimal]]:
    """What the demo's own contracts pay by month (advance in February, each act in full in
    its month): the plan makes room for it."""
    out: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 12)
    for _suffix, specific, _subject, amount, advance, act_months in CONTRACTS:
        months = out[("261", programme, "015", specific)]
        months[1] += amount * advance / 100
        for month in act_months:
            months[month - 1] += amount / len(act_months)
    return out


def _plan_lines(financed, schedule) -> tuple[list[dict], list[dict]]:
    """(plan by obligations, plan by payments): payments month by month; obligations for the
    whole year in January, when the year's contracts are registered."""
    obligations, payments = [], []
    for key in sorted(set(financed) | set(schedule)):
        months = financed.get(key, [Decimal(0)] * 12)
        extra = schedule.get(key, [Decimal(0)] * 12)
        last = Decimal(0)
        planned = []
        for amount, own in zip(months, extra, strict=True):
            last = amount or last
            planned.append(Decimal(f"{_whole(amount or last) + _whole(own):.2f}"))
        total = sum(planned, Decimal(0))
        codes = {"administrator": key[0], "programme": key[1], "subprogramme": key[2], "specific": key[3]}
        payments.append({**codes, "months": [str(v) for v in planned], "year": str(total)})
        obligations.append({**codes, "months": [str(total)] + ["0.00"] * 11, "year": str(total)})
    return obligations, payments


def _document(institution, kind, doc_id, number, date, obligations, payments) -> dict:
    return {"document_id": doc_id, "bin": institution.bin, "year": YEAR, "kind": kind, "number": number,
            "date": date.isoformat(), "sender": "demo", "obligations": obligations, "payments": payments}


CONTRACTS = (  # (number suffix, specific, subject, amount, advance %, act months, paid share)
    ("01", "159", "Техническое обслуживание системы видеонаблюдения", Decimal("480000.00"), Decimal("30"), (3, 6, 9)),
    ("02", "152", "Услуги связи и доступ к сети Интернет", Decimal("360000.00"), Decimal("0"), (2, 4, 6, 8, 10)),
    ("03", "159", "Текущий ремонт кровли спортзала", Decimal("1200000.00"), Decimal("20"), (7, 8)),
)


def _contracts(institution, actor, programme: str, today: dt.date) -> int:
    suppliers = list(Counterparty.objects.filter(institution=institution, iin_bin__regex=r"^[0-9]{4}[4-6]")
                     .order_by("id")[:3]) or list(Counterparty.objects.filter(institution=institution)
                                                   .order_by("id")[:3])
    made = 0
    for (suffix, specific, subject, amount, advance, act_months), supplier in zip(CONTRACTS, suppliers, strict=False):
        signed = dt.date(YEAR, 1, 20)
        contract = services.create_contract(
            institution=institution, actor=actor, counterparty_bin=supplier.iin_bin, counterparty_name=supplier.name,
            number=f"ДГЗ-{YEAR}-{suffix}", date=signed, subject=subject, programme=f"261.{programme}.015",
            specific=specific, years={YEAR: amount}, advance_percent=advance,
            treasury_number=f"РД-{institution.bin[-4:]}-{suffix}", treasury_date=dt.date(YEAR, 1, 27))
        made += 1
        if advance and dt.date(YEAR, 2, 3) <= today:
            services.make_payment(contract=contract, actor=actor, number=f"ПП-А{suffix}", date=dt.date(YEAR, 2, 3),
                                  amount=(amount * advance / 100).quantize(Decimal("0.01")), kind="advance")
        share = (amount / len(act_months)).quantize(Decimal("0.01"))
        for i, month in enumerate(act_months, start=1):
            day = dt.date(YEAR, month, 24)
            if day > today:
                break
            part = amount - share * (len(act_months) - 1) if i == len(act_months) else share
            act = services.record_act(contract=contract, actor=actor, number=f"АВР-{suffix}/{i}", date=day,
                                      amount=part)
            pay_day = day + dt.timedelta(days=3)
            if pay_day <= today and act.amount - act.advance_offset > 0:
                services.make_payment(contract=contract, actor=actor, number=f"ПП-{suffix}/{i}", date=pay_day,
                                      amount=act.amount - act.advance_offset, kind="settlement")
    return made


def load_app_demo(progress=None, today: dt.date | None = None) -> str | None:
    from django.utils import timezone

    from ledger.demo import COLLEGE, SCHOOL

    today = today or timezone.localdate()
    say = progress or (lambda _m: None)
    done = []
    for spec in (SCHOOL, COLLEGE):
        institution = Institution.objects.filter(bin=spec.bin).first()
        actor = User.objects.filter(username=f"{spec.key}.chief").first()
        if institution is None or actor is None:
            continue
        if PlanDocument.objects.filter(institution=institution, year=YEAR).exists():
            continue
        financed = _financed(institution)
        if not financed:
            continue
        with transaction.atomic():
            obligations, lines = _plan_lines(financed, _contract_schedule(spec.programme))
            services.import_plan(institution=institution, actor=actor, data=b"", channel=Channel.DEMO,
                                 sender="demo", document=_document(institution, "plan", f"IPF-{YEAR}-{spec.key}",
                                                                   f"ИПФ-{YEAR}/1", PLAN_DATE, obligations, lines))
            # a certificate moves part of December's repairs money to July, for the summer works
            moved = [dict(line) for line in lines if line["specific"] == "159"][:1]
            if moved and CERTIFICATE_DATE <= today and Decimal(moved[0]["months"][11]) >= 100000:
                change = ["0.00"] * 12
                change[6], change[11] = "100000.00", "-100000.00"
                moved[0].update(months=change, year="0.00")
                same = [{**moved[0], "months": ["0.00"] * 12}]
                services.import_plan(institution=institution, actor=actor, data=b"", channel=Channel.DEMO,
                                     sender="demo",
                                     document=_document(institution, "certificate", f"CERT-{YEAR}-{spec.key}-1",
                                                        "С-1", CERTIFICATE_DATE, same, moved))
            made = _contracts(institution, actor, spec.programme, today)
        done.append(f"{spec.short}: {len(lines)} plan lines, {made} contracts")
        say(done[-1])
    return "; ".join(done) or None
