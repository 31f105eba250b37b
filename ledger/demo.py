"""Demo data: an education administrator (АБП 261) with a school and a college, their people,
suppliers, and a year and more of realistic entries (`manage.py load_demo`).

Guarantees:
- everything is written through the services (access.services, ledger.services,
  ledger.registry, ledger.loading), so the demo passes every control and `verify_ledger`
- deterministic: the same seed, size and month give the same ledger (random.Random(seed))
- idempotent: if the demo administrator's BIN exists, load_demo() does nothing; the whole load
  is one transaction, so a failed load leaves nothing behind and the next start retries
- amounts are Decimal tenge with tiyn; payroll withholdings and contributions are rounded to
  whole tenge per item (the rule DOMAIN.md gives, still to be confirmed)

The payroll rates below (DOMAIN.md, "Payroll parameters") only make the demo's amounts
plausible; the payroll app keeps the authoritative dated parameters.
"""

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from access.identifiers import complete
from access.models import Action, ActionLog, BudgetLevel, Institution, User
from access.roles import Role
from access.services import create_institution, create_user, grant_role, log_action

from .drafts import EntryDraft, LineDraft
from .loading import load_reference
from .models import CorrectionLog, Counterparty, JournalEntry, Period, PeriodStatus, Posting
from .registry import RecordsSource, RegistryRecord, import_counterparties
from .schemes import load_schemes
from .services import close_period, correct_entry, ensure_year, post_entries

DEMO_PASSWORD = "esep-demo-2026"  # noqa: S105 (the published demo password, printed by demo_logins)
SEED = 2026
FIRST_YEAR = 2025
LAST_PLANNED_YEAR = 2026  # periods are opened for FIRST_YEAR..max(this, the current year)
ENTRIES_TOTAL_TARGET = 20_000  # across the two subordinates, when no size is given
ENTRIES_PER_MONTH_MAX = 5_000  # post_entries takes up to 20,000 drafts a call; a month stays well below
ADVISORY_LOCK = 0x45534550  # 'ESEP': two simultaneous first starts load the demo once

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TENGE = Decimal("1")

ADMINISTRATOR = "261"
LOCAL = "budget_local"
REPUBLICAN = "budget_republican"
SPONSORSHIP = "sponsorship"
GRANT = "grant"


def make_bin(yymm: str, serial: int, division: str = "0") -> str:
    """A BIN with a valid check digit: registration YYMM, 4 (resident legal entity), division,
    five-digit serial (the next serial that admits a check digit)."""
    for k in range(100):
        number = complete(f"{yymm}4{division}{(serial + k) % 100000:05d}")
        if number:
            return number
    raise ValueError(f"no BIN for {yymm}/{serial}")  # pragma: no cover (1 in 11 serials fails)


def make_iin(birth: dt.date, male: bool, serial: int) -> str:
    """An IIN with a valid check digit: YYMMDD of birth, century-and-sex digit, serial."""
    century = 3 if birth.year < 2000 else 5
    for k in range(100):
        number = complete(f"{birth:%y%m%d}{century + (0 if male else 1)}{(serial + k) % 10000:04d}")
        if number:
            return number
    raise ValueError(f"no IIN for {birth}")  # pragma: no cover


# --- institutions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class InstitutionSpec:
    key: str
    bin: str
    name_ru: str
    name_kk: str
    short: str
    programme: str = ""  # the main programme of a subordinate
    headcount: int = 0
    technical_share: float = 0.0  # technical staff: specifics 131/135
    salary_scale: float = 1.0
    size: float = 1.0  # utilities and purchases relative to the school


REGION = "Карагандинская область"
ADMIN = InstitutionSpec(
    key="admin", bin=make_bin("9904", 235),
    name_ru="ГУ «Управление образования Карагандинской области»",
    name_kk="«Қарағанды облысының білім басқармасы» ММ",
    short="Управление образования (АБП 261)",
)
SCHOOL = InstitutionSpec(
    key="school", bin=make_bin("0012", 1481),
    name_ru="КГУ «Общеобразовательная школа № 12 имени Абая» управления образования Карагандинской области",
    name_kk="Қарағанды облысы білім басқармасының «Абай атындағы № 12 жалпы білім беретін мектебі» КММ",
    short="Школа № 12", programme="003", headcount=78, technical_share=0.2, salary_scale=1.0, size=1.0,
)
COLLEGE = InstitutionSpec(
    key="college", bin=make_bin("9708", 3067),
    name_ru="КГУ «Карагандинский политехнический колледж» управления образования Карагандинской области",
    name_kk="Қарағанды облысы білім басқармасының «Қарағанды политехникалық колледжі» КММ",
    short="Политехнический колледж", programme="024", headcount=112, technical_share=0.22,
    salary_scale=1.06, size=1.45,
)
SUBORDINATES = (SCHOOL, COLLEGE)
DEMO_ADMIN_BIN = ADMIN.bin
SHORT_NAMES = {spec.bin: spec.short for spec in (ADMIN, SCHOOL, COLLEGE)}
CAPITAL_PROGRAMME = ("067", "000")  # capital expenses of subordinate institutions

# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    username: str
    last_name: str
    first_name: str
    patronymic: str
    birth: dt.date
    male: bool
    roles: tuple[tuple[str, str], ...]  # (institution key, role)

    @property
    def iin(self) -> str:
        return make_iin(self.birth, self.male, 1000 + sum(map(ord, self.username)) % 9000)


def _roles_everywhere(role):
    return tuple((key, role) for key in ("admin", "school", "college"))


PEOPLE = (
    Person("school.chief", "Жұмабаева", "Гүлнар", "Серікқызы", dt.date(1976, 3, 14), False,
           (("school", Role.CHIEF_ACCOUNTANT),)),
    Person("school.accountant", "Оспанова", "Әйгерім", "Болатқызы", dt.date(1991, 7, 2), False,
           (("school", Role.ACCOUNTANT),)),
    Person("school.payroll", "Нұрпейісова", "Сәуле", "Қайратқызы", dt.date(1984, 11, 20), False,
           (("school", Role.PAYROLL_CLERK),)),
    Person("school.inventory", "Қасымов", "Ерлан", "Мұратұлы", dt.date(1988, 5, 9), True,
           (("school", Role.INVENTORY_OPERATOR),)),
    Person("college.chief", "Сәрсенбаев", "Нұрлан", "Ержанұлы", dt.date(1979, 1, 27), True,
           (("college", Role.CHIEF_ACCOUNTANT),)),
    Person("college.accountant", "Тоқтарова", "Динара", "Асқарқызы", dt.date(1993, 9, 15), False,
           (("college", Role.ACCOUNTANT),)),
    Person("college.payroll", "Бекмұхамбетова", "Жанар", "Ғалымқызы", dt.date(1986, 12, 3), False,
           (("college", Role.PAYROLL_CLERK),)),
    Person("college.inventory", "Әбдірахманов", "Дәурен", "Талғатұлы", dt.date(1990, 4, 18), True,
           (("college", Role.INVENTORY_OPERATOR),)),
    Person("auditor", "Ермекова", "Айгүл", "Нұрланқызы", dt.date(1982, 8, 30), False,
           _roles_everywhere(Role.AUDITOR)),
    Person("administrator", "Сейітқали", "Асхат", "Бауыржанұлы", dt.date(1985, 2, 11), True,
           _roles_everywhere(Role.ADMINISTRATOR)),
    Person("admin", "Жақыпов", "Арман", "Серікұлы", dt.date(1987, 6, 6), True,
           _roles_everywhere(Role.ADMINISTRATOR)),
)
SUPERUSERS = {"admin"}

# --- suppliers (invented; BINs and IINs are valid but belong to nobody known) --------------------

# (category, name_ru, name_kk, address, registered YYYY-MM, IIN of an entrepreneur or None)
SUPPLIERS = (
    ("heat", "ТОО «Қарағанды Жылу Желісі»", "«Қарағанды Жылу Желісі» ЖШС", "г. Караганда, ул. Ерубаева, 35",
     "2004-01", None),
    ("electricity", "ТОО «Сарыарқа Энергосауда»", "«Сарыарқа Энергосауда» ЖШС",
     "г. Караганда, пр. Бухар жырау, 57", "1998-09", None),
    ("water", "ТОО «Қарағанды Су Арнасы»", "«Қарағанды Су Арнасы» ЖШС", "г. Караганда, ул. Бирюзова, 1",
     "2007-12", None),
    ("waste", "ТОО «Таза Орта Сервис»", "«Таза Орта Сервис» ЖШС", "г. Караганда, ул. Камарова, 9", "2012-04", None),
    ("telecom", "АО «Дала Телеком»", "«Дала Телеком» АҚ", "г. Караганда, ул. Алиханова, 11", "2001-03", None),
    ("security", "ТОО «Қорған Күзет»", "«Қорған Күзет» ЖШС", "г. Караганда, ул. Терешковой, 20", "2010-06", None),
    ("security", "ТОО «Сақшы Security»", "«Сақшы Security» ЖШС", "г. Караганда, ул. Костенко, 4", "2016-02", None),
    ("stationery", "ТОО «Кеңсе Әлемі»", "«Кеңсе Әлемі» ЖШС", "г. Караганда, ул. Гоголя, 12", "2011-05", None),
    ("stationery", "ИП «Мұқанов Б.»", "«Мұқанов Б.» ЖК", "г. Караганда, мкр. Степной-3, 5-21", "2014-09",
     ("1975-10-04", True)),
    ("household", "ТОО «Тазалық Трейд»", "«Тазалық Трейд» ЖШС", "г. Караганда, ул. Складская, 7", "2013-08", None),
    ("household", "ИП «Ахметова Р.»", "«Ахметова Р.» ЖК", "г. Караганда, ул. Шахтеров, 52-3", "2017-03",
     ("1980-02-17", False)),
    ("building", "ТОО «СтройМаркет Қарағанды»", "«СтройМаркет Қарағанды» ЖШС", "г. Караганда, ул. Защитная, 2/1",
     "2009-11", None),
    ("building", "ТОО «Құрылыс Материалдары KZ»", "«Құрылыс Материалдары KZ» ЖШС", "г. Темиртау, ул. Мичурина, 8",
     "2015-07", None),
    ("teaching", "ТОО «Мектеп Баспасы»", "«Мектеп Баспасы» ЖШС", "г. Астана, пр. Республики, 38", "2003-05", None),
    ("teaching", "ТОО «Білім Әлемі Құралдары»", "«Білім Әлемі Құралдары» ЖШС", "г. Караганда, ул. Ермекова, 29",
     "2018-01", None),
    ("pharmacy", "ТОО «Дәрумен Фарм»", "«Дәрумен Фарм» ЖШС", "г. Караганда, пр. Нуркена Абдирова, 15", "2008-10",
     None),
    ("workwear", "ТОО «Арнайы Киім»", "«Арнайы Киім» ЖШС", "г. Караганда, ул. Волочаевская, 44", "2012-12", None),
    ("fuel", "ТОО «Сарыарқа Мұнай Өнімдері»", "«Сарыарқа Мұнай Өнімдері» ЖШС", "г. Караганда, Восточный объезд, 3",
     "2006-06", None),
    ("parts", "ТОО «Техсервис-Орталық»", "«Техсервис-Орталық» ЖШС", "г. Караганда, ул. Молокова, 100", "2014-03",
     None),
    ("food", "ТОО «Алтын Дән Азық»", "«Алтын Дән Азық» ЖШС", "г. Караганда, ул. Привокзальная, 17", "2010-02",
     None),
    ("food", "ТОО «Ақ Сүт Қарағанды»", "«Ақ Сүт Қарағанды» ЖШС", "Карагандинская обл., пос. Доскей, ул. Ферма, 1",
     "2005-09", None),
    ("food", "ИП «Жанұзақов Қ.»", "«Жанұзақов Қ.» ЖК", "г. Караганда, Центральный рынок, пав. 14", "2012-05",
     ("1969-07-23", True)),
    ("it_equipment", "ТОО «Компьютер Әлемі»", "«Компьютер Әлемі» ЖШС", "г. Караганда, пр. Строителей, 31",
     "2009-04", None),
    ("it_equipment", "ТОО «Смарт Класс Технологиялары»", "«Смарт Класс Технологиялары» ЖШС",
     "г. Астана, ул. Сыганак, 18", "2019-08", None),
    ("furniture", "ТОО «Мебель-Комфорт Орталық»", "«Мебель-Комфорт Орталық» ЖШС", "г. Караганда, ул. Орджоникидзе, 6",
     "2011-10", None),
    ("it_services", "ТОО «IT-Сервис Сарыарқа»", "«IT-Сервис Сарыарқа» ЖШС", "г. Караганда, ул. Ерубаева, 48",
     "2016-11", None),
    ("fire", "ТОО «Өрт Қауіпсіздігі Жүйелері»", "«Өрт Қауіпсіздігі Жүйелері» ЖШС",
     "г. Караганда, ул. Сатыбалдина, 3", "2013-01", None),
    ("disinfection", "ТОО «Санэпид-Сервис Қарағанды»", "«Санэпид-Сервис Қарағанды» ЖШС",
     "г. Караганда, ул. Пичугина, 250", "2015-05", None),
    ("transport", "ТОО «Жолаушы Тасымал»", "«Жолаушы Тасымал» ЖШС", "г. Караганда, ул. Складская, 21", "2017-07",
     None),
    ("repairs", "ТОО «Жөндеу-Құрылыс Сервис»", "«Жөндеу-Құрылыс Сервис» ЖШС", "г. Караганда, ул. Бытовая, 9",
     "2014-06", None),
    ("training", "ТОО «Біліктілік Орталығы»", "«Біліктілік Орталығы» ЖШС", "г. Караганда, ул. Университетская, 28",
     "2012-09", None),
    ("repairs", "ИП «Серікбаев Т.»", "«Серікбаев Т.» ЖК", "г. Караганда, мкр. Голубые пруды, 12-40", "2018-04",
     ("1983-12-01", True)),
    ("sponsor", "ТОО «Қарағанды Көмір Трейд»", "«Қарағанды Көмір Трейд» ЖШС", "г. Караганда, пр. Бухар жырау, 49/6",
     "2006-02", None),
    ("sponsor", "АО «Сарыарқа Металл»", "«Сарыарқа Металл» АҚ", "г. Темиртау, ул. Республики, 1", "1996-10", None),
    ("grantor", "ОФ «Болашақ Білім Қоры»", "«Болашақ Білім Қоры» ҚҚ", "г. Астана, ул. Достык, 5", "2013-04", None),
)
# Which categories each institution deals with (about 30 counterparties each; utilities shared).
SUPPLIER_CATEGORIES = {
    "school": {"heat", "electricity", "water", "waste", "telecom", "security", "stationery", "household",
               "building", "teaching", "pharmacy", "workwear", "parts", "food", "it_equipment", "furniture",
               "it_services", "fire", "disinfection", "transport", "repairs", "training", "sponsor"},
    "college": {"heat", "electricity", "water", "waste", "telecom", "security", "stationery", "household",
                "building", "teaching", "pharmacy", "workwear", "fuel", "parts", "food", "it_equipment",
                "furniture", "it_services", "fire", "disinfection", "transport", "repairs", "training", "sponsor",
                "grantor"},
}


def supplier_records() -> list[RegistryRecord]:
    records = []
    for i, (category, name_ru, name_kk, address, registered, person) in enumerate(SUPPLIERS):
        year, month = registered.split("-")
        if person:
            birth, male = person
            number = make_iin(dt.date.fromisoformat(birth), male, 2000 + 37 * i)
        else:
            number = make_bin(f"{year[2:]}{month}", 10_000 + 271 * i)
        records.append(RegistryRecord(
            iin_bin=number, name_ru=name_ru, name_kk=name_kk, address=address,
            registered_on=dt.date(int(year), int(month), 1 + (7 * i) % 27), status="active",
            raw={"category": category},
        ))
    return records


# --- payroll -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PayrollRates:
    mzp: int  # minimum wage (МЗП)
    mrp: int  # monthly calculation index (МРП)
    pension: Decimal  # ОПВ, employee, base ≤ 50 МЗП
    employer_pension: Decimal  # ОПВР
    health: Decimal  # ВОСМС, employee
    health_cap_mzp: int
    employer_health: Decimal  # ООСМС
    employer_health_cap_mzp: int
    social_contribution: Decimal  # СО, base (income − ОПВ) within 1…7 МЗП
    social_tax: Decimal  # СН
    social_tax_reduced_by_contribution: bool
    deduction_mrp: int  # monthly standard deduction for ИПН
    income_tax: Decimal = Decimal("0.10")  # ИПН (the 15% band above 8,500 МРП a year is never reached here)


RATES = {
    2025: PayrollRates(85_000, 3_932, Decimal("0.10"), Decimal("0.025"), Decimal("0.02"), 10, Decimal("0.03"),
                       10, Decimal("0.05"), Decimal("0.11"), True, 14),
    2026: PayrollRates(85_000, 4_325, Decimal("0.10"), Decimal("0.035"), Decimal("0.02"), 20, Decimal("0.03"),
                       40, Decimal("0.05"), Decimal("0.06"), False, 30),
}


def rates_for(year: int) -> PayrollRates:
    return RATES.get(year) or RATES[max(RATES)]


def whole(amount) -> Decimal:
    return Decimal(amount).quantize(TENGE, rounding=ROUND_HALF_UP).quantize(CENT)


def withholdings(gross: Decimal, rates: PayrollRates) -> dict[str, Decimal]:
    """Employee side: ОПВ, ВОСМС, ИПН (whole tenge each)."""
    pension = whole(min(gross, Decimal(50 * rates.mzp)) * rates.pension)
    health = whole(min(gross, Decimal(rates.health_cap_mzp * rates.mzp)) * rates.health)
    base = gross - pension - health - Decimal(rates.deduction_mrp * rates.mrp)
    income_tax = whole(max(base, ZERO) * rates.income_tax)
    return {"pension": pension, "health": health, "income_tax": income_tax}


def contributions(gross: Decimal, held: dict[str, Decimal], rates: PayrollRates) -> dict[str, Decimal]:
    """Employer side: ОПВР, СО, ООСМС, СН (whole tenge each). The 2026 social-tax base is
    unverified (DOMAIN.md); income less ОПВ and ВОСМС is used for both years."""
    mzp = Decimal(rates.mzp)
    employer_pension = whole(min(gross, 50 * mzp) * rates.employer_pension)
    so_base = min(max(gross - held["pension"], mzp), 7 * mzp)
    social_contribution = whole(so_base * rates.social_contribution)
    employer_health = whole(min(gross, rates.employer_health_cap_mzp * mzp) * rates.employer_health)
    social_tax = (gross - held["pension"] - held["health"]) * rates.social_tax
    if rates.social_tax_reduced_by_contribution:
        social_tax -= social_contribution
    return {"employer_pension": employer_pension, "social_contribution": social_contribution,
            "employer_health": employer_health, "social_tax": whole(max(social_tax, ZERO))}


LIABILITY = {  # withholding or contribution → payable account
    "income_tax": "3121", "pension": "3151", "health": "3153",
    "social_tax": "3122", "social_contribution": "3152", "employer_health": "3153", "employer_pension": "3154",
}
CONTRIBUTION_SPECIFIC = {"employer_pension": "116", "social_tax": "121", "social_contribution": "122",
                         "employer_health": "124"}
TECHNICAL_CONTRIBUTION_SPECIFIC = "135"

KK_MALE_NAMES = ("Нұрлан", "Ерлан", "Асқар", "Бауыржан", "Дәурен", "Мұрат", "Серік", "Талғат", "Ержан", "Қайрат",
                 "Арман", "Әділет", "Ғалым", "Жандос", "Мейрам", "Бекзат", "Олжас", "Рүстем", "Төлеген", "Ұлан")
KK_FEMALE_NAMES = ("Гүлнар", "Әйгерім", "Сәуле", "Динара", "Жанар", "Айгүл", "Мәдина", "Салтанат", "Гүлмира",
                   "Ақмарал", "Назым", "Жұлдыз", "Ботагөз", "Күләш", "Перизат", "Ләззат",
                   "Аружан", "Меруерт", "Роза", "Фариза")
KK_SURNAMES = ("Жұмабаев", "Оспанов", "Нұрпейісов", "Қасымов", "Сәрсенбаев", "Тоқтаров", "Бекмұхамбетов",
               "Әбдірахманов", "Ермеков", "Сейітқалиев", "Мұқанов", "Ахметов", "Серікбаев", "Жақыпов", "Омаров",
               "Байжанов", "Тұрсынов", "Есенов", "Қуанышев", "Әлімжанов", "Шәріпов", "Ділдәбеков", "Исаев",
               "Ғабитов", "Көшербаев", "Төлеубаев", "Ыбыраев", "Үсенов", "Рахымжанов", "Смағұлов")
POSITIONS = {
    "school": (("директор", 1, 560_000), ("заместитель директора", 3, 470_000), ("учитель начальных классов", 18,
               360_000), ("учитель математики", 8, 375_000), ("учитель казахского языка и литературы", 8, 365_000),
               ("учитель русского языка и литературы", 5, 355_000), ("учитель английского языка", 5, 350_000),
               ("учитель физики", 3, 370_000), ("учитель химии и биологии", 4, 365_000),
               ("учитель истории", 3, 350_000), ("педагог-психолог", 1, 320_000), ("библиотекарь", 1, 210_000),
               ("медицинская сестра", 1, 230_000), ("бухгалтер", 1, 260_000)),
    "college": (("директор", 1, 600_000), ("заместитель директора", 4, 490_000), ("заведующий отделением", 4,
                420_000), ("преподаватель специальных дисциплин", 30, 380_000), ("мастер производственного обучения",
                18, 340_000), ("преподаватель общеобразовательных дисциплин", 22, 360_000),
                ("воспитатель общежития", 4, 240_000), ("методист", 2, 300_000), ("библиотекарь", 1, 210_000),
                ("медицинская сестра", 1, 230_000), ("бухгалтер", 2, 270_000)),
}
TECHNICAL_POSITIONS = (("уборщик служебных помещений", 120_000), ("сторож", 115_000), ("дворник", 110_000),
                       ("рабочий по обслуживанию здания", 140_000), ("гардеробщик", 100_000),
                       ("водитель", 160_000), ("кочегар", 135_000))


@dataclass(frozen=True)
class Employee:
    name: str
    position: str
    salary: Decimal
    technical: bool
    category_share: Decimal  # share of pay for the qualification category (112, republican transfers)


def make_employees(spec: InstitutionSpec, rng: random.Random) -> list[Employee]:
    employees: list[Employee] = []
    technical = round(spec.headcount * spec.technical_share)
    positions = [p for position, count, salary in POSITIONS[spec.key] for p in [(position, salary)] * count]
    positions = (positions * 3)[: spec.headcount - technical]
    for position, salary in positions:
        male = rng.random() < 0.3
        surname = rng.choice(KK_SURNAMES) + ("" if male else "а")
        first = rng.choice(KK_MALE_NAMES if male else KK_FEMALE_NAMES)
        pedagogical = "учитель" in position or "преподаватель" in position or "мастер" in position
        employees.append(Employee(
            name=f"{surname} {first[0]}.", position=position,
            salary=Decimal(round(salary * spec.salary_scale * rng.uniform(0.9, 1.12), 2)).quantize(CENT),
            technical=False,
            category_share=Decimal(str(round(rng.uniform(0.12, 0.3), 3))) if pedagogical else ZERO,
        ))
    for i in range(technical):
        position, salary = TECHNICAL_POSITIONS[i % len(TECHNICAL_POSITIONS)]
        male = rng.random() < 0.5
        surname = rng.choice(KK_SURNAMES) + ("" if male else "а")
        first = rng.choice(KK_MALE_NAMES if male else KK_FEMALE_NAMES)
        employees.append(Employee(f"{surname} {first[0]}.", position,
                                  Decimal(round(salary * rng.uniform(0.95, 1.1), 2)).quantize(CENT), True, ZERO))
    return employees


# --- the generator -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    """Budget classification and funding of a line (ЕБК administrator · programme · subprogramme)."""

    programme: str
    subprogramme: str
    funding: str
    administrator: str = ADMINISTRATOR


@dataclass
class Fix:
    """A deliberate mistake in a draft and how the chief accountant corrects it (R2)."""

    reason: str
    lines: tuple[LineDraft, ...] | None  # None: the entry is cancelled (reversal only)
    date: dt.date
    description: str | None = None


MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
             "ноябрь", "декабрь")
MONTHS_RU_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
                 "ноября", "декабря")


def tenge(amount: Decimal) -> str:
    """122 258,70: how an amount is written in a Russian-language document."""
    return f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")


def month_label(year: int, month: int) -> str:
    return f"{MONTHS_RU[month - 1]} {year} г."


def money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(rng.randint(int(low * 100), int(high * 100))).scaleb(-2).quantize(CENT)


def working_days(year: int, month: int, cutoff: dt.date) -> list[dt.date]:
    day = dt.date(year, month, 1)
    days = []
    while day.month == month and day <= cutoff:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def month_working_days(year: int, month: int) -> list[dt.date]:
    return working_days(year, month, dt.date(year, month, 28) + dt.timedelta(days=4))


def next_working_day(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def pair(debit: str, credit: str, amount: Decimal, specific: str, budget: Budget, *,
         counterparty: int | None = None, description: str = "", debit_budget: Budget | None = None,
         ) -> tuple[LineDraft, LineDraft]:
    """A debit line and its credit line with the same specific (and funding unless told)."""
    def line(account, side, b):
        return LineDraft(account=account, side=side, amount=amount, specific=specific,
                         administrator=b.administrator, programme=b.programme, subprogramme=b.subprogramme,
                         funding_source=b.funding, counterparty_id=counterparty if account in ("3210",) else None,
                         description=description)

    return line(debit, "D", debit_budget or budget), line(credit, "C", budget)


MATERIALS = (  # (account, specific, what, low, high, supplier category, write-off wording)
    ("1316", "149", "Канцелярские товары (бумага А4, ручки, папки-регистраторы)", 8_000, 120_000, "stationery",
     "израсходованы на учебный процесс и делопроизводство"),
    ("1316", "149", "Хозяйственные товары (моющие и дезинфицирующие средства, хозинвентарь)", 6_000, 90_000,
     "household", "израсходованы на уборку помещений"),
    ("1311", "149", "Строительные материалы для текущего ремонта (краска, шпатлевка, грунтовка)", 15_000, 300_000,
     "building", "израсходованы на текущий ремонт кабинетов"),
    ("1312", "149", "Учебные пособия и наглядные материалы", 10_000, 180_000, "teaching",
     "переданы в учебные кабинеты"),
    ("1313", "142", "Медикаменты и перевязочные средства для медицинского кабинета", 5_000, 45_000, "pharmacy",
     "израсходованы медицинским кабинетом"),
    ("1317", "143", "Специальная одежда для технического персонала", 10_000, 80_000, "workwear",
     "выданы в эксплуатацию техническому персоналу"),
    ("1318", "149", "Запасные части для технологического оборудования", 6_000, 70_000, "parts",
     "израсходованы на ремонт оборудования"),
    ("1319", "149", "Прочие материалы (электротовары, лампы, сантехника)", 4_000, 50_000, "building",
     "израсходованы на хозяйственные нужды"),
)
FUEL = ("1315", "144", "Бензин АИ-92 (талоны) для служебного автотранспорта", 20_000, 90_000, "fuel",
        "списаны по путевым листам")
FOOD = ("1314", "141", "Продукты питания для столовой", 40_000, 500_000, "food",
        "израсходованы по меню-требованию")
SERVICES = (  # (account, specific, what, low, high, supplier category)
    ("7070", "159", "Техническое обслуживание пожарной сигнализации", 25_000, 85_000, "fire"),
    ("7070", "159", "Ремонт и обслуживание компьютерной техники", 20_000, 160_000, "it_services"),
    ("7070", "159", "Дезинфекция, дезинсекция и дератизация помещений", 20_000, 65_000, "disinfection"),
    ("7070", "153", "Транспортные услуги (перевозка обучающихся на олимпиаду)", 40_000, 260_000, "transport"),
    ("7070", "159", "Текущий ремонт помещений (работы)", 80_000, 900_000, "repairs"),
    ("7070", "159", "Курсы повышения квалификации педагогов", 45_000, 240_000, "training"),
)
ASSETS = (  # (account, what, unit low, unit high, max quantity, supplier category)
    ("2350", "Ноутбук для учебного кабинета", 330_000, 480_000, 4, "it_equipment"),
    ("2350", "Интерактивная панель 75\"", 1_050_000, 1_600_000, 1, "it_equipment"),
    ("2350", "Многофункциональное устройство (принтер, сканер, копир)", 110_000, 260_000, 4, "it_equipment"),
    ("2370", "Парты ученические двухместные с регулировкой высоты", 38_000, 62_000, 15, "furniture"),
    ("2370", "Шкафы для учебных пособий", 85_000, 190_000, 3, "furniture"),
)
UTILITIES = (  # (account, specific, what, supplier category, low, high, heating season only)
    ("7040", "151", "Тепловая энергия", "heat", 900_000, 2_300_000, True),
    ("7040", "151", "Электрическая энергия", "electricity", 320_000, 820_000, False),
    ("7040", "151", "Холодное водоснабжение и водоотведение", "water", 70_000, 210_000, False),
    ("7040", "151", "Вывоз твердых бытовых отходов", "waste", 38_000, 72_000, False),
    ("7070", "152", "Услуги связи и доступа к сети Интернет", "telecom", 35_000, 68_000, False),
    ("7070", "159", "Услуги охраны объекта", "security", 380_000, 520_000, False),
)


class LedgerGenerator:
    """Builds one institution's entries month by month (drafts only; the caller posts them)."""

    def __init__(self, spec: InstitutionSpec, suppliers: dict[str, list[Counterparty]], rng: random.Random,
                 cutoff: dt.date, entries_per_month: int):
        self.spec = spec
        self.suppliers = suppliers
        self.rng = rng
        self.cutoff = cutoff
        self.target = entries_per_month
        self.employees = make_employees(spec, rng)
        self.local = Budget(spec.programme, "015", LOCAL)
        self.republican = Budget(spec.programme, "011", REPUBLICAN)
        self.capital = Budget(*CAPITAL_PROGRAMME, LOCAL)
        # Materials on hand by (account, specific, budget) at the start of the month; what is bought
        # during a month can be written off from the next one, so no account card ever dips below zero.
        self.stock: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
        self.received: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
        self.unused: dict[tuple[str, Budget], Decimal] = defaultdict(lambda: ZERO)  # 1081 left this year
        self.pending: list[tuple[dt.date, int, EntryDraft]] = []  # drafts due in a later month
        self.counters: dict[tuple[str, int], int] = defaultdict(int)
        self.contracts: dict[tuple[int, int], str] = {}
        self.seq = 0
        self.mistakes = MISTAKES[spec.key]
        self._month = (0, 0)  # the month being generated

    # numbering and small helpers

    def number(self, prefix: str, year: int) -> str:
        self.counters[(prefix, year)] += 1
        return f"{prefix}-{self.counters[(prefix, year)]:05d}"

    def supplier(self, category: str) -> Counterparty:
        return self.rng.choice(self.suppliers[category])

    def contract(self, counterparty: Counterparty, year: int) -> str:
        key = (counterparty.id, year)
        if key not in self.contracts:
            self.counters[("contract", year)] += 1
            signed = dt.date(year, 1, 9) + dt.timedelta(days=self.rng.randint(0, 40))
            self.contracts[key] = f"Договор № {self.counters[('contract', year)]}-ГЗ от {signed:%d.%m.%Y}"
        return self.contracts[key]

    def draft(self, day: dt.date, doc_type: str, doc_number: str, description: str, lines, *, basis: str = "",
              memorial_order: int | None = None, fix: Fix | None = None) -> EntryDraft:
        self.seq += 1
        extra = {"seq": self.seq}
        if fix:
            extra["fix"] = fix
        return EntryDraft(date=day, doc_type=doc_type, doc_number=doc_number, description=description,
                          lines=tuple(lines), basis=basis, memorial_order=memorial_order, extra=extra)

    def later(self, day: dt.date, draft_factory: Callable[[dt.date], EntryDraft], out: list[EntryDraft]):
        """Put a draft dated `day` into this month's batch, or keep it for its month."""
        day = next_working_day(day)
        if day > self.cutoff:
            return  # not happened yet: the invoice stays unpaid, the advance unreported
        self.emit(draft_factory(day), out)

    def emit(self, draft: EntryDraft, out: list[EntryDraft]) -> None:
        """Each month's batch holds exactly the drafts dated in it (a resumed load relies on it)."""
        if (draft.date.year, draft.date.month) == self._month:
            out.append(draft)
        else:
            self.pending.append((draft.date, draft.extra["seq"], draft))

    # the month

    def month(self, year: int, month: int) -> list[EntryDraft]:
        self._month = (year, month)
        for key, amount in self.received.items():
            self.stock[key] += amount
        self.received.clear()
        days = working_days(year, month, self.cutoff)
        if not days:
            return []
        out: list[EntryDraft] = [d for day, _s, d in self.pending if (day.year, day.month) == (year, month)]
        self.pending = [p for p in self.pending if (p[0].year, p[0].month) != (year, month)]
        self.payroll(year, month, days, out)
        if self.spec.key == "college":
            self.stipends(year, month, days, out)
        self.utilities(year, month, days, out)
        self.inject_mistakes(year, month, days, out)
        if month in (8, 12):  # parents' and sponsors' help before the school year and the New Year
            self.sponsorship(year, month, days, out)
        if self.spec.key == "college" and month in (3, 10):
            self.grant(year, month, days, out)
        month_days = len(month_working_days(year, month))
        target = round(self.target * len(days) / max(month_days, 1))
        events = self.event_weights(month)
        while len(out) < target - 2:
            kind = self.rng.choices([e for e, _w in events], weights=[w for _e, w in events])[0]
            getattr(self, kind)(year, month, days, out)
        out.sort(key=lambda d: (d.date, d.extra["seq"]))
        return self.financing(year, month, days, out)

    def event_weights(self, month: int) -> list[tuple[str, float]]:
        summer = month in (6, 7, 8)
        weights = [("purchase_materials", 30), ("write_off", 24), ("service", 13), ("business_trip", 8),
                   ("food", 9 if self.spec.key == "college" else 3), ("fixed_asset", 0.8), ("sponsorship", 0.3),
                   ("repair_season", 8 if summer else 0)]
        if self.spec.key == "college":
            weights += [("fuel", 3)]
        return weights

    # payroll (memorial order No. 5: payroll summary)

    def payroll(self, year: int, month: int, days: list[dt.date], out: list[EntryDraft]) -> None:
        day = next_working_day(dt.date(year, month, 25)) if month != 12 else next_working_day(dt.date(year, 12, 22))
        if day > self.cutoff:
            return
        rates = rates_for(year)
        label = month_label(year, month)
        groups = max(1, min(len(self.employees), round(self.target * 0.35 / 2)))
        chunks = [self.employees[i::groups] for i in range(groups)]
        raise_2026 = Decimal("1.08") if year >= 2026 else Decimal("1")
        net: dict[tuple[str, Budget], Decimal] = defaultdict(lambda: ZERO)
        employer: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
        withheld: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
        sheet = self.number("РВ", year)
        for k, chunk in enumerate(chunks, start=1):
            accrued: dict[tuple[str, Budget], Decimal] = defaultdict(lambda: ZERO)
            held_by: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
            for employee in chunk:
                gross = (employee.salary * raise_2026 * Decimal(str(round(self.rng.uniform(0.96, 1.06), 3)))
                         ).quantize(CENT)
                parts: dict[tuple[str, Budget], Decimal] = {}
                if employee.technical:
                    parts[("131", self.local)] = gross
                else:
                    category = (gross * employee.category_share).quantize(CENT)
                    parts[("111", self.local)] = gross - category
                    if category:
                        parts[("112", self.republican)] = category
                    if month in (6, 7) and self.rng.random() < 0.5:  # health allowance with the leave
                        parts[("113", self.local)] = (employee.salary * raise_2026).quantize(CENT)
                total = sum(parts.values(), ZERO)
                held = withholdings(total, rates)
                paid = contributions(total, held, rates)
                for key, amount in parts.items():
                    accrued[key] += amount
                share = _shares(parts)
                for kind, amount in held.items():
                    for key, part in _split(amount, share).items():
                        held_by[(kind, *key)] += part
                        withheld[(kind, *key)] += part
                        net[key] -= part
                for kind, amount in paid.items():
                    for (specific, budget), part in _split(amount, share).items():
                        spec = TECHNICAL_CONTRIBUTION_SPECIFIC if specific == "131" else CONTRIBUTION_SPECIFIC[kind]
                        employer[(kind, spec, budget)] += part
                for key, amount in parts.items():
                    net[key] += amount
            who = (f"{chunk[0].name}, {chunk[0].position}" if len(chunk) == 1
                   else f"расчетная ведомость № {k} ({len(chunk)} работн.)")
            lines = [ln for (specific, budget), amount in sorted(accrued.items(), key=_key)
                     for ln in pair("7010", "3241", amount, specific, budget)]
            out.append(self.draft(day, "Расчетная ведомость", f"{sheet}/{k}",
                                  f"Начислена заработная плата за {label}: {who}", lines, memorial_order=5))
            lines = [ln for (kind, specific, budget), amount in sorted(held_by.items(), key=_key) if amount
                     for ln in pair("3241", LIABILITY[kind], amount, specific, budget)]
            out.append(self.draft(day, "Расчетная ведомость", f"{sheet}/{k}",
                                  f"Удержаны ИПН, ОПВ и ВОСМС из заработной платы за {label}: {who}", lines,
                                  memorial_order=5))
        lines = [ln for (kind, specific, budget), amount in sorted(employer.items(), key=_key) if amount
                 for ln in pair("7020", LIABILITY[kind], amount, specific, budget)]
        out.append(self.draft(day, "Расчетная ведомость", f"{sheet}/С",
                              f"Начислены социальный налог, социальные отчисления, ООСМС и ОПВР за {label}", lines,
                              memorial_order=5))
        pay_day = next_working_day(day + dt.timedelta(days=2))
        if pay_day.month != month:
            pay_day = day
        register = self.number("ПП", year)
        lines = [ln for (specific, budget), amount in sorted(net.items(), key=_key)
                 for ln in pair("3241", "6010", amount, specific, budget)]
        self.later(pay_day, lambda d: self.draft(
            d, "Платежное поручение", register,
            f"Перечислена заработная плата за {label} на карт-счета работников (реестр № {register[3:]})", lines,
            basis=f"Расчетная ведомость {sheet}", memorial_order=2), out)
        taxes: dict[tuple[str, str, Budget], Decimal] = defaultdict(lambda: ZERO)
        for (kind, specific, budget), amount in [*withheld.items(), *employer.items()]:
            taxes[(LIABILITY[kind], specific, budget)] += amount
        lines = [ln for (account, specific, budget), amount in sorted(taxes.items(), key=_key) if amount
                 for ln in pair(account, "6010", amount, specific, budget)]
        number = self.number("ПП", year)
        self.later(pay_day, lambda d: self.draft(
            d, "Платежное поручение", number,
            f"Перечислены ИПН, социальный налог, пенсионные взносы, социальные отчисления и ОСМС за {label}", lines,
            basis=f"Расчетная ведомость {sheet}", memorial_order=2), out)

    # stipends (college): 7210 ↔ 312, payable 3242

    def stipends(self, year: int, month: int, days: list[dt.date], out: list[EntryDraft]) -> None:
        if month in (7, 8):
            return
        day = next_working_day(dt.date(year, month, 20))
        if day > self.cutoff:
            return
        students = 140 + self.rng.randint(-6, 6)
        stipend = Decimal("26405.00") if year == 2025 else Decimal("28532.00")
        amount = stipend * students
        label = month_label(year, month)
        number = self.number("СВ", year)
        out.append(self.draft(day, "Ведомость начисления стипендии", number,
                              f"Начислена стипендия обучающимся за {label} ({students} чел.)",
                              pair("7210", "3242", amount, "312", self.local), memorial_order=5))
        register = self.number("ПП", year)
        self.later(day + dt.timedelta(days=3), lambda d: self.draft(
            d, "Платежное поручение", register, f"Перечислена стипендия за {label} на карт-счета обучающихся",
            pair("3242", "6010", amount, "312", self.local), basis=f"Ведомость {number}", memorial_order=2), out)

    # utilities and regular services: invoice at month end, payment by the 15th of the next month

    def utilities(self, year: int, month: int, days: list[dt.date], out: list[EntryDraft]) -> None:
        day = days[-1]
        if day != month_working_days(year, month)[-1]:
            return  # the month is not over yet
        for account, specific, what, category, low, high, heating in UTILITIES:
            if heating and month not in (1, 2, 3, 4, 10, 11, 12):
                continue
            winter = 1.25 if month in (1, 2, 12) else 1.0
            amount = money(self.rng, low * self.spec.size * winter, high * self.spec.size * winter)
            self.invoice(day, account, specific, f"{what} за {month_label(year, month)}", amount, category,
                         self.local, out, pay_after=(8, 16))

    def invoice(self, day: dt.date, account: str, specific: str, what: str, amount: Decimal, category: str,
                budget: Budget, out: list[EntryDraft], *, pay_after=(3, 20), memorial_order: int | None = 6,
                pay_from: str = "6010", mistake: dict | None = None) -> EntryDraft | None:
        """A supplier's invoice (D expense or asset / C 3210) and its payment (D 3210 / C `pay_from`).
        With `mistake` ({"account"|"specific"|"amount": wrong value, "reason", "day"}) the invoice is
        posted wrong and carries the Fix that corrects it; the payment is for the right amount.
        None when the invoice would be dated after the cutoff (it has not arrived yet)."""
        day = next_working_day(day)
        if day > self.cutoff:
            return None
        counterparty = self.supplier(category)
        number = f"СФ-{self.rng.randint(100, 99999):05d}"
        basis = self.contract(counterparty, day.year)
        right = pair(account, "3210", amount, specific, budget, counterparty=counterparty.id)
        fix = None
        lines = right
        if mistake:
            lines = pair(mistake.get("account", account), "3210", mistake.get("amount", amount),
                         mistake.get("specific", specific), budget, counterparty=counterparty.id)
            fix = Fix(mistake["reason"].format(number=number, amount=tenge(amount)), right, mistake["day"])
        entry = self.draft(day, "Счет-фактура", number, f"{what} ({counterparty.name})", lines, basis=basis,
                           memorial_order=memorial_order, fix=fix)
        self.emit(entry, out)
        self.later(day + dt.timedelta(days=self.rng.randint(*pay_after)), lambda d: self.draft(
            d, "Платежное поручение", self.number("ПП", d.year),
            f"Оплата по счету-фактуре {number}: {what[0].lower() + what[1:]} ({counterparty.name})",
            pair("3210", pay_from, amount, specific, budget, counterparty=counterparty.id),
            basis=basis, memorial_order=2 if pay_from in ("6010", "6020") else 1), out)
        return entry

    # variable events

    def purchase_materials(self, year, month, days, out, item=None, budget=None):
        account, specific, what, low, high, category, _w = item or self.rng.choice(MATERIALS)
        amount = money(self.rng, low * self.spec.size, high * self.spec.size)
        budget = budget or self.local
        self.invoice(self.rng.choice(days), account, specific, what, amount, category, budget, out)
        self.received[(account, specific, budget)] += amount

    def repair_season(self, year, month, days, out):
        self.purchase_materials(year, month, days, out, item=MATERIALS[2])

    def fuel(self, year, month, days, out):
        self.purchase_materials(year, month, days, out, item=FUEL)

    def food(self, year, month, days, out):
        if month in (7, 8):
            return self.purchase_materials(year, month, days, out)
        self.purchase_materials(year, month, days, out, item=FOOD)

    def write_off(self, year, month, days, out):
        candidates = [k for k, v in self.stock.items() if v >= Decimal("1000.00")]
        if not candidates:
            return self.purchase_materials(year, month, days, out)
        account, specific, budget = self.rng.choice(sorted(candidates, key=_key_of))
        available = self.stock[(account, specific, budget)]
        amount = (available * Decimal(str(round(self.rng.uniform(0.25, 0.8), 2)))).quantize(CENT)
        self.stock[(account, specific, budget)] -= amount
        wording = next((w for a, s, _t, _l, _h, _c, w in (*MATERIALS, FUEL, FOOD) if a == account and s == specific),
                       "израсходованы")
        what = {"1314": "Продукты питания", "1315": "Горюче-смазочные материалы"}.get(account, "Материалы")
        day = self.rng.choice(days)
        out.append(self.draft(
            day, "Акт списания материальных запасов", self.number("АС", year),
            f"{what} (счет {account}) {wording}", pair("7060", account, amount, specific, budget),
            memorial_order=10 if account == "1314" else None))

    def service(self, year, month, days, out):
        account, specific, what, low, high, category = self.rng.choice(SERVICES)
        if category == "repairs" and month not in (6, 7, 8) and self.rng.random() < 0.7:
            account, specific, what, low, high, category = SERVICES[0]
        amount = money(self.rng, low, high * self.spec.size)
        self.invoice(self.rng.choice(days), account, specific, what, amount, category, self.local, out)

    def business_trip(self, year, month, days, out):
        person = self.rng.choice([e for e in self.employees if not e.technical])
        city = self.rng.choice(("Астана", "Алматы", "Темиртау", "Балхаш", "Жезказган", "Шымкент", "Павлодар"))
        amount = money(self.rng, 25_000, 240_000)
        day = self.rng.choice(days)
        purpose = self.rng.choice(("семинар повышения квалификации", "областная олимпиада", "совещание в управлении",
                                   "сопровождение обучающихся на конкурс"))
        order = f"Приказ № {self.rng.randint(12, 240)}-к от {day:%d.%m.%Y}"
        out.append(self.draft(day, "Платежное поручение", self.number("ПП", year),
                              f"Выдан аванс на командировку: {person.name}, {city}, {purpose}",
                              pair("1251", "6010", amount, "161", self.local), basis=order, memorial_order=8))
        report = self.number("АО", year)
        self.later(day + dt.timedelta(days=self.rng.randint(4, 12)), lambda d: self.draft(
            d, "Авансовый отчет", report, f"Утвержден авансовый отчет: {person.name}, командировка в г. {city}",
            pair("7050", "1251", amount, "161", self.local), basis=order, memorial_order=8), out)

    def fixed_asset(self, year, month, days, out):
        account, what, low, high, quantity, category = self.rng.choice(ASSETS)
        count = self.rng.randint(1, quantity)
        unit = money(self.rng, low, high)
        self.invoice(self.rng.choice(days), account, "414", f"{what}, {count} шт. по {tenge(unit)} тг", unit * count,
                     category, self.capital, out, pay_from="6020", memorial_order=None)

    def sponsorship(self, year, month, days, out):
        sponsor = self.supplier("sponsor")
        day = self.rng.choice(days)
        budget = Budget(self.spec.programme, "015", SPONSORSHIP)
        amount = money(self.rng, 300_000, 1_500_000)
        out.append(self.draft(day, "Выписка по КСН", self.number("КСН", year),
                              f"Поступила спонсорская помощь ({sponsor.name}) на приобретение спортивного инвентаря",
                              pair("1041", "6050", amount, "149", budget), basis=f"Договор дарения от {day:%d.%m.%Y}",
                              memorial_order=1))
        spend = (amount * Decimal("0.95")).quantize(CENT)
        if self.invoice(day + dt.timedelta(days=2), "1319", "149",
                        "Спортивный инвентарь (мячи, маты, сетки) за счет спонсорской помощи", spend, "stationery",
                        budget, out, pay_from="1041", pay_after=(2, 6)):
            self.received[("1319", "149", budget)] += spend

    def grant(self, year, month, days, out):
        if self.counters[("grant", year)] >= 2:
            return
        self.counters[("grant", year)] += 1
        grantor = self.supplier("grantor")
        budget = Budget(self.spec.programme, "015", GRANT)
        day = self.rng.choice(days)
        amount = money(self.rng, 4_000_000, 9_000_000)
        out.append(self.draft(day, "Выписка по специальному счету", self.number("ГР", year),
                              f"Поступили средства связанного гранта ({grantor.name}) на оснащение мастерских",
                              pair("1061", "6060", amount, "414", budget),
                              basis=f"Грантовое соглашение № {year}-{self.rng.randint(10, 99)}"))
        self.invoice(day + dt.timedelta(days=5), "2350", "414",
                     "Учебно-лабораторное оборудование для мастерских (за счет гранта)", amount, "it_equipment",
                     budget, out, pay_from="1061", pay_after=(3, 8), memorial_order=None)

    # deliberate mistakes, corrected by the chief accountant (R2)

    def inject_mistakes(self, year, month, days, out):
        for kind in self.mistakes.get((year, month), ()):
            if (year, month) == (2025, 12):  # found at the reconciliation with suppliers in January
                fix_day = next_working_day(dt.date(2026, 1, 14))
                if fix_day > self.cutoff:
                    continue
            else:
                fix_day = days[-1]
            day = self.rng.choice(days[: max(1, len(days) - 3)])
            label = month_label(year, month)
            if kind == "misclassified":
                self.invoice(day, "7070", "152", f"Услуги связи и доступа к сети Интернет за {label}",
                             money(self.rng, 35_000, 68_000), "telecom", self.local, out, mistake={
                                 "account": "7040", "specific": "151", "day": fix_day,
                                 "reason": "Услуги связи по счету-фактуре {number} ошибочно отнесены на коммунальные "
                                           "услуги (счет 7040, специфика 151); следует счет 7070, специфика 152"})
            elif kind == "wrong_amount":
                _a, _s, what, _low, _high, category = SERVICES[1]
                amount = money(self.rng, 100_000, 160_000)
                digits = f"{amount:.2f}"
                typo = Decimal(digits[0] + digits[2] + digits[1] + digits[3:])
                if typo == amount:
                    typo = amount + Decimal("9000.00")
                self.invoice(day, "7070", "159", what, amount, category, self.local, out, mistake={
                    "amount": typo, "day": fix_day,
                    "reason": "Ошибка в сумме: по счету-фактуре {number} {amount} тг, отражено " + f"{tenge(typo)} тг"})
            elif kind == "wrong_subaccount":
                account, specific, what, low, high, category, _w = MATERIALS[0]
                self.invoice(day, account, specific, what, money(self.rng, low, high), category, self.local, out,
                             mistake={"account": "1319", "day": fix_day,
                                      "reason": "Канцелярские товары по счету-фактуре {number} ошибочно "
                                                "оприходованы на счет 1319 «Прочие материалы»; следует 1316"})
            elif kind == "duplicate":
                account, specific, what, category, low, high, _h = UTILITIES[1]
                amount = money(self.rng, low * self.spec.size, high * self.spec.size)
                entry = self.invoice(day, account, specific, f"{what} за {label}", amount, category, self.local, out)
                out.append(self.draft(
                    day, entry.doc_type, entry.doc_number, entry.description, entry.lines, basis=entry.basis,
                    memorial_order=entry.memorial_order,
                    fix=Fix(f"Повторное отражение счета-фактуры {entry.doc_number} (дубль)", None, fix_day)))

    # financing: allocations of the individual financing plan (1081 ↔ 1091)

    def financing(self, year: int, month: int, days: list[dt.date], out: list[EntryDraft]) -> list[EntryDraft]:
        """Plan allocations for the month on its first working day (D 1081 / C 1091) and, when
        the month is over, the allocations used by the month's treasury payments (D 1091 / C 1081);
        at the end of December what is left of the year's allocations is written off too."""
        used: dict[tuple[str, Budget], Decimal] = defaultdict(lambda: ZERO)
        for draft in out:
            for line in draft.lines:
                if line.side == "C" and line.account in ("6010", "6020") and line.funding_source in (LOCAL, REPUBLICAN):
                    used[(line.specific, Budget(line.programme, line.subprogramme, line.funding_source,
                                                 line.administrator))] += line.amount
        if not used:
            return out
        label = month_label(year, month)
        plan = {key: whole(amount * Decimal(str(round(self.rng.uniform(1.01, 1.08), 3))))
                for key, amount in used.items()}
        lines = [ln for (specific, budget), amount in sorted(plan.items(), key=_key)
                 for ln in pair("1081", "1091", amount, specific, budget)]
        first = self.draft(days[0], "Индивидуальный план финансирования", f"ИПФ-{month:02d}/{year}",
                           f"Отражены плановые назначения по ИПФ по обязательствам на {label}", lines,
                           basis=f"ИПФ по обязательствам на {year} год, помесячная разбивка")
        result = [first, *out]
        month_end = month_working_days(year, month)[-1]
        if days[-1] == month_end:
            lines = [ln for (specific, budget), amount in sorted(used.items(), key=_key)
                     for ln in pair("1091", "1081", amount, specific, budget)]
            result.append(self.draft(month_end, "Бухгалтерская справка", f"БС-{month:02d}/{year}",
                                     f"Списаны использованные плановые назначения за {label} (оплачено через "
                                     "органы казначейства)", lines))
            for key, amount in plan.items():
                self.unused[key] += amount - used[key]
            if month == 12:
                lines = [ln for (specific, budget), amount in sorted(self.unused.items(), key=_key) if amount
                         for ln in pair("1091", "1081", amount, specific, budget)]
                if lines:
                    result.append(self.draft(month_end, "Бухгалтерская справка", f"БС-13/{year}",
                                             f"Списаны неиспользованные плановые назначения {year} года", lines))
                self.unused.clear()
        return result


def _key(item):
    """Sort key for (…, Budget) dict items: deterministic line order."""
    key = item[0]
    return tuple(k if isinstance(k, str) else (k.programme, k.subprogramme, k.funding) for k in key)


def _key_of(key):
    return _key((key, None))


def _shares(parts: dict) -> list[tuple[tuple, Decimal]]:
    total = sum(parts.values(), ZERO)
    return [(key, amount / total) for key, amount in parts.items()]


def _split(amount: Decimal, shares: list[tuple[tuple, Decimal]]) -> dict[tuple, Decimal]:
    """Split an amount over the pay components in proportion; the rounding rest goes to the largest."""
    result = {key: (amount * share).quantize(CENT) for key, share in shares}
    rest = amount - sum(result.values(), ZERO)
    if rest:
        largest = max(shares, key=lambda s: s[1])[0]
        result[largest] += rest
    return result


# Which mistakes each institution makes, and when (corrected in the same month, or in January).
MISTAKES = {
    "school": {(2025, 3): ("misclassified",), (2025, 6): ("duplicate",), (2025, 9): ("wrong_amount",),
               (2025, 12): ("misclassified",), (2026, 3): ("wrong_subaccount",), (2026, 9): ("duplicate",)},
    "college": {(2025, 2): ("duplicate",), (2025, 5): ("misclassified",), (2025, 10): ("wrong_subaccount",),
                (2025, 12): ("wrong_amount",), (2026, 4): ("wrong_amount",), (2026, 10): ("misclassified",)},
}


# --- orchestration -----------------------------------------------------------------------------

@dataclass
class DemoReport:
    institutions: int = 0
    users: int = 0
    counterparties: int = 0
    entries: int = 0
    postings: int = 0
    corrections: int = 0
    closed_periods: int = 0
    seconds: float = 0.0
    per_institution: dict[str, int] = field(default_factory=dict)

    def __str__(self):
        return (f"{self.institutions} institutions, {self.users} users, {self.counterparties} counterparties, "
                f"{self.entries} entries ({self.postings} postings), {self.corrections} corrections, "
                f"{self.closed_periods} periods closed, in {self.seconds:.1f} s")


def months_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def default_entries_per_month(today: dt.date) -> int:
    months = len(months_between((FIRST_YEAR, 1), (today.year, today.month)))
    return max(1, round(ENTRIES_TOTAL_TARGET / (len(SUBORDINATES) * max(months, 1))))


def demo_exists() -> bool:
    """The demo administrator is there (the demo's setup, one transaction, has run)."""
    return Institution.objects.filter(bin=DEMO_ADMIN_BIN).exists()


def demo_complete() -> bool:
    """The whole demo is there: its last step journals `create demo` on the administrator."""
    return ActionLog.objects.filter(institution__bin=DEMO_ADMIN_BIN, object_type="demo",
                                    action=Action.CREATE).exists()


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def load_demo(*, entries_per_month: int | None = None, today: dt.date | None = None, seed: int = SEED,
              progress: Callable[[str], None] | None = None) -> DemoReport | None:
    """Create the demo once. Returns None (and writes nothing) when it is already there.

    Setup (reference data, institutions, periods, users, counterparties) is one transaction;
    then each month of both institutions (entries and the corrections dated in it) is one
    transaction, as an accountant's day would be. One huge transaction would be slower: every
    entry's seal updates its institution's chain head at commit, and inside one transaction
    those row versions pile up. If a load is interrupted, the next call resumes: the generator
    is deterministic, months already posted are regenerated but not posted again."""
    if demo_complete():
        return None
    started = time.monotonic()
    today = today or timezone.localdate()
    per_month = min(entries_per_month or default_entries_per_month(today), ENTRIES_PER_MONTH_MAX)
    say = (lambda m: progress(f"{time.monotonic() - started:5.1f} s {m}")) if progress else (lambda _m: None)
    report = DemoReport()
    with transaction.atomic():
        _lock()
        if demo_complete():
            return None
        load_reference()
        load_schemes()
        institutions = _institutions()
        for institution in institutions.values():
            for year in range(FIRST_YEAR, max(LAST_PLANNED_YEAR, today.year) + 1):
                ensure_year(institution, year)
        users = _people(institutions)
        chiefs = {spec.key: users[f"{spec.key}.chief"] for spec in SUBORDINATES}
        suppliers = _suppliers(institutions, chiefs)
    report.institutions, report.users = len(institutions), len(users)
    report.counterparties = sum(len(c) for by_category in suppliers.values() for c in by_category.values())
    say(f"reference data, {len(institutions)} institutions, {len(users)} users, "
        f"{report.counterparties} counterparties")
    rng = random.Random(seed)
    generators = {spec.key: LedgerGenerator(spec, suppliers[spec.key], random.Random(rng.random()), today,
                                            per_month) for spec in SUBORDINATES}
    fixes: dict[str, list[tuple[Fix, object]]] = {spec.key: [] for spec in SUBORDINATES}
    for year, month in months_between((FIRST_YEAR, 1), (today.year, today.month)):
        with transaction.atomic():
            _lock()
            for spec in SUBORDINATES:
                institution, chief = institutions[spec.key], chiefs[spec.key]
                drafts = generators[spec.key].month(year, month)
                posted = JournalEntry.objects.filter(institution=institution, period__year=year,
                                                     period__month=month).exists()
                if posted:  # resumed load: keep the drafts' mistakes as lookups, post nothing
                    fixes[spec.key] += [(d.extra["fix"], d) for d in drafts if "fix" in d.extra]
                else:
                    entries = post_entries(institution=institution, actor=chief, drafts=drafts, source="demo")
                    fixes[spec.key] += [(d.extra["fix"], e) for d, e in zip(drafts, entries) if "fix" in d.extra]
                due = [f for f in fixes[spec.key] if (f[0].date.year, f[0].date.month) <= (year, month)]
                fixes[spec.key] = [f for f in fixes[spec.key] if (f[0].date.year, f[0].date.month) > (year, month)]
                for fix, entry in due:
                    if posted:
                        continue  # its correction is dated in this month, posted with it
                    if isinstance(entry, EntryDraft):
                        entry = _posted(institution, entry)
                    correct_entry(entry=entry, actor=chief, reason=fix.reason, lines=fix.lines, date=fix.date,
                                  description=fix.description)
        say(f"{year}-{month:02d} posted")
    with transaction.atomic():
        _lock()
        for spec in SUBORDINATES:
            for period in Period.objects.filter(institution=institutions[spec.key], year__lt=today.year,
                                                status=PeriodStatus.OPEN).order_by("year", "month"):
                close_period(period=period, actor=chiefs[spec.key])
                report.closed_periods += 1
        ids = [institutions[spec.key].id for spec in SUBORDINATES]
        for spec in SUBORDINATES:
            report.per_institution[spec.key] = JournalEntry.objects.filter(institution=institutions[spec.key]).count()
        report.entries = sum(report.per_institution.values())
        report.postings = Posting.objects.filter(institution_id__in=ids).count()
        report.corrections = CorrectionLog.objects.filter(institution_id__in=ids).count()
        report.seconds = time.monotonic() - started
        log_action(actor=None, action=Action.CREATE, institution=institutions["admin"], object_type="demo",
                   username="load_demo", details=f"demo loaded: {report}")
    say("periods closed")
    return report


def _posted(institution: Institution, draft: EntryDraft) -> JournalEntry:
    """The entry a draft became in an earlier (interrupted) load."""
    return (JournalEntry.objects.filter(institution=institution, date=draft.date, doc_number=draft.doc_number,
                                        description=draft.description, kind="regular", correction__isnull=True)
            .order_by("id").first())


def _suppliers(institutions, chiefs) -> dict[str, dict[str, list[Counterparty]]]:
    """Each subordinate's suppliers by category, imported through the registry adapter."""
    records = supplier_records()
    suppliers: dict[str, dict[str, list[Counterparty]]] = {}
    for spec in SUBORDINATES:
        wanted = [r for r in records if r.raw["category"] in SUPPLIER_CATEGORIES[spec.key]]
        imported = import_counterparties(institutions[spec.key], RecordsSource(wanted, "registry:demo"),
                                         chiefs[spec.key])
        by_bin = {c.iin_bin: c for c in imported.counterparties}
        suppliers[spec.key] = defaultdict(list)
        for record in wanted:
            suppliers[spec.key][record.raw["category"]].append(by_bin[record.iin_bin])
    return suppliers


def _institutions() -> dict[str, Institution]:
    """The administrator and its two subordinates (fetched when an interrupted load resumes)."""
    specs = (ADMIN, *SUBORDINATES)
    existing = {i.bin: i for i in Institution.objects.filter(bin__in=[spec.bin for spec in specs])}
    result: dict[str, Institution] = {}
    for spec in specs:
        result[spec.key] = existing.get(spec.bin) or create_institution(
            actor=None, bin=spec.bin, name_kk=spec.name_kk, name_ru=spec.name_ru, budget_level=BudgetLevel.REGIONAL,
            region=REGION, administrator_code=ADMINISTRATOR, parent=result.get("admin"),
        )
    return result


def _people(institutions: dict[str, Institution]) -> dict[str, User]:
    """Users with realistic Kazakh names (kk spelling) and valid IINs, one shared demo password
    (hashed once: PBKDF2 costs a quarter of a second a user). A login that already exists (say
    an `admin` made by hand before the first start) is kept as it is and given the roles."""
    password = make_password(DEMO_PASSWORD)
    existing = {u.username: u for u in User.objects.filter(username__in=[p.username for p in PEOPLE])}
    users = {}
    for person in PEOPLE:
        user = existing.get(person.username)
        if user is None:
            user = create_user(actor=None, username=person.username, password=None, last_name=person.last_name,
                               first_name=person.first_name, patronymic=person.patronymic, iin=person.iin,
                               email=f"{person.username}@esep.demo")
            user.password = password
            user.preferred_language = "kk" if person.username.startswith("school.") else "ru"
            user.is_superuser = user.is_staff = person.username in SUPERUSERS
            user.save(update_fields=["password", "preferred_language", "is_superuser", "is_staff"])
        for key, role in person.roles:
            grant_role(actor=None, user=user, institution=institutions[key], role=role)
        users[person.username] = user
    return users


def demo_logins() -> list[dict]:
    """The demo's users with their roles and institutions, for `manage.py demo_logins`."""
    bins = set(SHORT_NAMES)
    rows = []
    users = (User.objects.filter(memberships__institution__bin__in=bins).distinct()
             .prefetch_related("memberships__institution").order_by("id"))
    for user in users:
        memberships = [m for m in user.memberships.all() if m.institution.bin in bins]
        roles = sorted({Role(m.role).label for m in memberships}, key=str)
        places = [SHORT_NAMES[m.institution.bin] for m in sorted(memberships, key=lambda m: m.institution_id)]
        rows.append({
            "username": user.username, "full_name": user.full_name,
            "role": ", ".join(str(r) for r in roles) + (" (superuser)" if user.is_superuser else ""),
            "institution": ", ".join(dict.fromkeys(places)),
        })
    return rows

