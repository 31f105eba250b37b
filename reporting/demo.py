"""Reporting demo on top of the ledger demo (`manage.py load_demo`): the statement forms, line
maps and memorial-order numbering; a head for the school and the college and a chief
accountant for the administrator; one internal operation between the school and the college
(so consolidation has something to eliminate); statements of 2025 for both, and January 2025
of the school checked and signed, waiting for the chief accountant's approval; the
administrator's consolidated statements of 2025. Idempotent: does nothing once the school's 2025 statements exist.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from access.models import Institution, User
from access.roles import Role
from access.services import create_user, grant_role
from ledger.demo import ADMIN, COLLEGE, DEMO_PASSWORD, SCHOOL, make_iin
from ledger.drafts import EntryDraft, LineDraft
from ledger.models import Counterparty, Period, PeriodStatus
from ledger.services import post_entries

from . import services
from .loading import load_reporting_reference
from .models import Statement, StatementKind, StatementStatus

YEAR = 2025
PEOPLE = [
    ("school.head", "Әбенова", "Ләззат", "Қанатқызы", dt.date(1970, 10, 5), False, "school", Role.HEAD),
    ("college.head", "Құдайбергенов", "Ғалым", "Өмірұлы", dt.date(1968, 2, 19), True, "college", Role.HEAD),
    ("admin.chief", "Сұлтанова", "Мөлдір", "Һадиқызы", dt.date(1981, 6, 23), False, "admin",
     Role.CHIEF_ACCOUNTANT),
]


def _user(username, last, first, patronymic, birth, male, institution, role, serial):
    user = User.objects.filter(username=username).first()
    if user is None:
        user = create_user(actor=None, username=username, password=DEMO_PASSWORD, last_name=last, first_name=first,
                           patronymic=patronymic, iin=make_iin(birth, male, 9000 + serial),
                           email=f"{username}@esep.demo")
        user.preferred_language = "kk"
        user.save(update_fields=["preferred_language"])
        grant_role(actor=None, user=user, institution=institution, role=role)
    return user


def _internal_operation(school, college, chiefs, day: dt.date) -> bool:
    """The college trains the school's teachers for a fee: a payable of the school to the
    college and a receivable of the college from the school, each naming the other by BIN."""
    for institution in (school, college):
        if not Period.objects.filter(institution=institution, year=day.year, month=day.month,
                                     status=PeriodStatus.OPEN).exists():
            return False
    college_in_school, _ = Counterparty.objects.get_or_create(
        institution=school, iin_bin=college.bin, defaults={"name": college.name_ru, "source": "demo"})
    school_in_college, _ = Counterparty.objects.get_or_create(
        institution=college, iin_bin=school.bin, defaults={"name": school.name_ru, "source": "demo"})
    amount = Decimal("480000.00")

    def ln(account, side, programme, funding, counterparty=None):
        return LineDraft(account=account, side=side, amount=amount, specific="159", administrator="261",
                         programme=programme, subprogramme="015", funding_source=funding,
                         counterparty_id=counterparty)

    post_entries(institution=school, actor=chiefs["school"], source="reporting demo", drafts=[EntryDraft(
        date=day, doc_type="Акт выполненных работ", doc_number=f"ВГ-{day:%m/%Y}",
        description="Курсы повышения квалификации учителей в политехническом колледже (внутригрупповая операция)",
        lines=(ln("7070", "D", SCHOOL.programme, "budget_local"),
               ln("3210", "C", SCHOOL.programme, "budget_local", college_in_school.id)))])
    post_entries(institution=college, actor=chiefs["college"], source="reporting demo", drafts=[EntryDraft(
        date=day, doc_type="Акт выполненных работ", doc_number=f"ВГ-{day:%m/%Y}",
        description="Курсы повышения квалификации учителей школы № 12 (внутригрупповая операция)",
        lines=(ln("1231", "D", COLLEGE.programme, "paid_services", school_in_college.id),
               ln("6110", "C", COLLEGE.programme, "paid_services")))])
    return True


def load_app_demo(progress=None, today: dt.date | None = None) -> str | None:
    say = progress or (lambda _m: None)
    institutions = {spec.key: Institution.objects.filter(bin=spec.bin).first() for spec in (ADMIN, SCHOOL, COLLEGE)}
    if not all(institutions.values()):
        return None  # the ledger demo is not there
    school, college, admin = institutions["school"], institutions["college"], institutions["admin"]
    if Statement.objects.filter(institution=school, period_start=dt.date(YEAR, 1, 1)).exists():
        return None
    today = today or timezone.localdate()
    done = []
    with transaction.atomic():
        created = load_reporting_reference()
        say(f"reference: {created}")
        people = {username: _user(username, last, first, patr, birth, male, institutions[key], role, n)
                  for n, (username, last, first, patr, birth, male, key, role) in enumerate(PEOPLE)}
        chiefs = {key: User.objects.get(username=f"{key}.chief") for key in ("school", "college")}
        if _internal_operation(school, college, chiefs, today):
            done.append("internal operation school→college")
        for key, institution in (("school", school), ("college", college)):
            statement = services.prepare_statement(institution=institution, actor=chiefs[key],
                                                   period_start=dt.date(YEAR, 1, 1), period_end=dt.date(YEAR, 12, 31))
            if not statement.failed_checks:
                services.check_statement(statement=statement, actor=chiefs[key])
                services.sign_as_head(statement=statement, actor=people[f"{key}.head"])
            done.append(f"{key} {YEAR}: {statement.status}")
        # January 2025 of the school waits for the chief accountant's approval (checked and
        # signed by the head), so a user can approve it and watch the month lock.
        january = services.prepare_statement(institution=school, actor=chiefs["school"],
                                             period_start=dt.date(YEAR, 1, 1), period_end=dt.date(YEAR, 1, 31))
        if not january.failed_checks:
            services.check_statement(statement=january, actor=chiefs["school"])
            services.sign_as_head(statement=january, actor=people["school.head"])
            done.append(f"school {YEAR}-01 ready for approval")
        services.prepare_statement(institution=admin, actor=people["admin.chief"], period_start=dt.date(YEAR, 1, 1),
                                   period_end=dt.date(YEAR, 12, 31), consolidated=True)
        if today.year > YEAR:
            services.prepare_statement(institution=admin, actor=people["admin.chief"],
                                       period_start=dt.date(today.year, 1, 1), period_end=today, consolidated=True)
        done.append("consolidated statements of the administrator")
    ready = Statement.objects.filter(status=StatementStatus.CHECKED, kind=StatementKind.SINGLE).count()
    return "; ".join(done) + f"; statements checked and signed: {ready}"
