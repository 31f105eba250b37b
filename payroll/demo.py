"""Payroll demo on top of the ledger demo: a staff schedule and employees for the school and
the college, the 2026 wage fund, a posted month of 2026 (labelled "Esep payroll" in the
journal: the ledger demo's own summary payroll entries are separate) and one advance.
Idempotent: a second call finds the posted month and returns None."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from access.identifiers import complete
from access.models import Institution, User
from ledger.demo import COLLEGE, KK_FEMALE_NAMES, KK_MALE_NAMES, KK_SURNAMES, SCHOOL
from ledger.schemes import load_schemes

from . import services
from .models import Category, Employee, PayrollRun, RunStatus, StaffPosition

YEAR = 2026
POSITIONS = (  # code, ru, kk, category, coefficient, fixed, allowance %
    ("T01", "Учитель (преподаватель)", "Мұғалім (оқытушы)", Category.CIVIL_SERVANT, Decimal("9.6"), None, 25),
    ("D01", "Заместитель руководителя", "Басшының орынбасары", Category.CIVIL_SERVANT, Decimal("14.2"), None, 30),
    ("A01", "Бухгалтер", "Бухгалтер", Category.CIVIL_SERVANT, None, Decimal("245000"), 10),
    ("S01", "Рабочий по обслуживанию здания", "Ғимаратқа қызмет көрсету жұмысшысы", Category.TECHNICAL, None,
     Decimal("160000"), 0),
)
HEADCOUNT = {SCHOOL.key: 14, COLLEGE.key: 18}


def _iins(start: dt.date):
    day = start
    while True:
        for serial in range(1, 40):
            value = complete(f"{day:%y%m%d}{4 if serial % 2 else 3}{serial:04d}")
            if value:
                yield value
        day += dt.timedelta(days=37)


def _month(today: dt.date) -> int:
    if today.year != YEAR:
        return 12 if today.year > YEAR else 1
    return max(1, today.month - 1)


def load_app_demo(progress=None, today: dt.date | None = None) -> str | None:
    today = today or timezone.localdate()
    say = progress or (lambda _m: None)
    services.load_parameters()
    load_schemes()
    month = _month(today)
    done = []
    for spec in (SCHOOL, COLLEGE):
        institution = Institution.objects.filter(bin=spec.bin).first()
        clerk = User.objects.filter(username=f"{spec.key}.payroll").first()
        if institution is None or clerk is None:
            return None  # the ledger demo is not loaded
        if PayrollRun.objects.filter(institution=institution, year=YEAR, month=month, posted_once=True).exists():
            continue
        say(f"{spec.key}: staff schedule and employees")
        if not StaffPosition.objects.filter(institution=institution).exists():
            for code, ru, kk, category, coefficient, fixed, allowance in POSITIONS:
                services.save_position(
                    institution=institution, actor=clerk, code=code, name_ru=ru, name_kk=kk, category=category,
                    coefficient=coefficient, fixed_salary=fixed, valid_from=dt.date(2025, 1, 1),
                    allowances=[{"name": "за стаж / еңбек өтілі үшін", "kind": "percent", "value": str(allowance),
                                 "specific": "112"}] if allowance else [],
                    administrator="261", programme=spec.programme, subprogramme="015",
                    funding_source="budget_local")
        if not Employee.objects.filter(institution=institution).exists():
            iins = _iins(dt.date(1972, 3, 4) if spec.key == "school" else dt.date(1975, 6, 7))
            for n in range(1, HEADCOUNT[spec.key] + 1):
                female = n % 3 != 0
                first = (KK_FEMALE_NAMES if female else KK_MALE_NAMES)[n % 20]
                surname = KK_SURNAMES[(n * 7) % len(KK_SURNAMES)] + ("а" if female else "")
                code = "D01" if n == 1 else "A01" if n == 2 else "S01" if n % 5 == 0 else "T01"
                services.create_employee(
                    institution=institution, actor=clerk, personnel_number=f"{n:04d}", iin=next(iins),
                    full_name_kk=f"{surname} {first}", full_name_ru=f"{surname} {first}", position_code=code,
                    hired_on=dt.date(2015 + n % 9, 9, 1),
                    iban=services.iban_with_check(f"125KZT{spec.bin[-6:]}{n:04d}"),
                    pensioner=n == 7, court_order_percent=Decimal("25") if n == 11 else Decimal("0"))
        for m in range(1, 13):
            for specific in ("111", "112", "113", "131"):
                services.set_wage_fund(institution=institution, actor=clerk, year=YEAR, month=m, specific=specific,
                                       amount=Decimal("9000000") if specific != "113" else Decimal("1000000"))
        teacher = Employee.objects.filter(institution=institution, position_code="T01").first()
        run = PayrollRun.objects.filter(institution=institution, year=YEAR, month=month).first()
        if teacher and (run is None or not run.posted_once) and not teacher.advances.filter(
                year=YEAR, month=month).exists():
            services.pay_advance(employee=teacher, actor=clerk, year=YEAR, month=month, amount=Decimal("80000"),
                                 paid_on=dt.date(YEAR, month, 15))
        say(f"{spec.key}: payroll for {YEAR}-{month:02d}")
        run = services.start_run(institution=institution, actor=clerk, year=YEAR, month=month, inline=True)
        if run.status != RunStatus.CALCULATED:
            raise RuntimeError(f"payroll demo: {run.error}")
        entries = services.post_run(run=run, actor=clerk)
        services.create_register(run=run, actor=clerk, kind="salary", paid_on=dt.date(YEAR, month, 28))
        done.append(f"{spec.key} {run.label}: {run.progress_total} employees, {len(entries)} entries")
    return "; ".join(done) or None
