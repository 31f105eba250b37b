"""Builders of the minimal reference set and of the two-institution world the ledger tests use.

Everything is made in code (not from ledger/data CSVs) so each test states its own input.
Writes go through the services (`access.services`, `ledger.services.ensure_year`) wherever a
service exists; reference rows have no service yet and are created with the ORM.
"""

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from access import services as access_services
from access.identifiers import complete
from access.models import Institution, User
from access.roles import Role
from ledger import reference
from ledger.drafts import EntryDraft, LineDraft
from ledger.models import Account, AccountKind, BudgetProgramme, Counterparty, FundingSource, Period, Specific
from ledger.services import ensure_year
from rules.models import RuleSwitch

REF_FROM = dt.date(2024, 1, 1)
YEAR = 2026

# code, section, kind, is_cash
ACCOUNTS = [
    ("1010", 1, AccountKind.ASSET, True),  # cash in national currency
    ("1081", 1, AccountKind.ASSET, False),  # other cash
    ("1310", 1, AccountKind.ASSET, False),  # stock
    ("2350", 2, AccountKind.ASSET, False),  # fixed assets
    ("3210", 3, AccountKind.LIABILITY, False),  # payables to suppliers
    ("3241", 3, AccountKind.LIABILITY, False),  # wages payable
    ("6010", 6, AccountKind.INCOME, False),  # budget financing income
    ("7010", 7, AccountKind.EXPENSE, False),  # wage expenses
    ("7060", 7, AccountKind.EXPENSE, False),  # other expenses
]
SPECIFICS = ["111", "141", "414"]
PROGRAMME = ("261", "003", "015")
FUNDING_SOURCES = ["budget_local", "grant"]


@dataclass
class World:
    """The reference set plus institutions A and B, their users and 2026's periods."""

    accounts: dict[str, Account]
    specifics: dict[str, Specific]
    funding: dict[str, FundingSource]
    a: Institution
    b: Institution
    chief_a: User
    accountant_a: User
    auditor_a: User
    clerk_a: User
    accountant_b: User
    periods_a: dict[int, Period] = field(default_factory=dict)
    periods_b: dict[int, Period] = field(default_factory=dict)

    def period(self, institution: Institution, month: int) -> Period:
        periods = self.periods_a if institution.id == self.a.id else self.periods_b
        return Period.objects.get(pk=periods[month].pk)


def _first_completable(prefix: str, width: int) -> str:
    """The first 12-digit identifier `prefix` + serial + check digit that exists."""
    for serial in itertools.count(1):
        full = complete(prefix + str(serial).zfill(width))
        if full is not None:
            return full
    raise AssertionError("unreachable")


def make_bin(serial_prefix: str) -> str:
    """BIN registered 2001-04, resident legal entity (type 4), head office (0)."""
    return _first_completable("0104" + "4" + "0" + serial_prefix, 5 - len(serial_prefix))


def make_iin(birth: str, serial_prefix: str) -> str:
    """IIN of a man born `birth` (YYMMDD, 20th century: century-sex digit 3)."""
    return _first_completable(birth + "3" + serial_prefix, 4 - len(serial_prefix))


def build_reference() -> tuple[dict, dict, dict]:
    accounts = {
        code: Account.objects.create(code=code, section=section, kind=kind, is_cash=is_cash,
                                     name_ru=f"Счёт {code}", name_kk=f"Шот {code}", valid_from=REF_FROM)
        for code, section, kind, is_cash in ACCOUNTS
    }
    specifics = {
        code: Specific.objects.create(code=code, category=code[0], class_code=code[1], subclass=code[2],
                                      name_ru=f"Специфика {code}", name_kk=f"Ерекшелік {code}",
                                      valid_from=REF_FROM)
        for code in SPECIFICS
    }
    BudgetProgramme.objects.create(
        administrator=PROGRAMME[0], functional_group="01", functional_subgroup="1", programme=PROGRAMME[1],
        subprogramme=PROGRAMME[2], name_ru="Программа", name_kk="Бағдарлама", valid_from=REF_FROM,
    )
    funding = {
        code: FundingSource.objects.create(code=code, name_ru=code, name_kk=code) for code in FUNDING_SOURCES
    }
    reference.invalidate()
    return accounts, specifics, funding


def build_world(*, cash_control: bool = False) -> World:
    accounts, specifics, funding = build_reference()
    a = access_services.create_institution(
        actor=None, bin=make_bin("1"), name_kk="А мекемесі", name_ru="Учреждение А",
        budget_level="regional", region="Алматы", administrator_code="261",
    )
    b = access_services.create_institution(
        actor=None, bin=make_bin("2"), name_kk="Б мекемесі", name_ru="Учреждение Б",
        budget_level="regional", region="Алматы", administrator_code="261",
    )

    def person(username, serial, last_name, institution, role):
        user = access_services.create_user(
            actor=None, username=username, password="correct-horse-battery", last_name=last_name,
            first_name="Тест", iin=make_iin("850101", serial),
        )
        access_services.grant_role(actor=None, user=user, institution=institution, role=role)
        return user

    world = World(
        accounts=accounts, specifics=specifics, funding=funding, a=a, b=b,
        chief_a=person("chief_a", "1", "Главбухова", a, Role.CHIEF_ACCOUNTANT),
        accountant_a=person("acc_a", "2", "Бухгалтеров", a, Role.ACCOUNTANT),
        auditor_a=person("auditor_a", "3", "Аудиторов", a, Role.AUDITOR),
        clerk_a=person("clerk_a", "4", "Расчётчиков", a, Role.PAYROLL_CLERK),
        accountant_b=person("acc_b", "5", "Бухгалтерова", b, Role.ACCOUNTANT),
    )
    world.periods_a = {p.month: p for p in ensure_year(a, YEAR)}
    world.periods_b = {p.month: p for p in ensure_year(b, YEAR)}
    # The ledger tests pay out of cash account 1010 that nothing funded. FLC-LED-004 (cash may
    # not go negative) is switched off for them, as an administrator would with a reason;
    # tests/test_ledger_controls.py switches it on and proves it blocks.
    for institution in (a, b) if not cash_control else ():
        RuleSwitch.objects.create(institution=institution, rule_code="FLC-LED-004", enabled=False,
                                  valid_from=REF_FROM, reason="tests pay out of unfunded cash",
                                  actor=world.chief_a, at=timezone.now())
    return world


def make_counterparty(institution: Institution, name: str, serial: str) -> Counterparty:
    return Counterparty.objects.create(institution=institution, iin_bin=make_bin(serial), name=name)


def line(account: str, side: str, amount, specific: str = "111", *, funding: str = "budget_local",
         administrator: str = PROGRAMME[0], programme: str = PROGRAMME[1], subprogramme: str = PROGRAMME[2],
         counterparty_id: int | None = None, description: str = "") -> LineDraft:
    return LineDraft(
        account=account, side=side, amount=Decimal(amount), specific=specific, administrator=administrator,
        programme=programme, subprogramme=subprogramme, funding_source=funding,
        counterparty_id=counterparty_id, description=description,
    )


_doc_numbers = itertools.count(1)


def draft(date: dt.date, *lines: LineDraft, doc_number: str | None = None, description: str = "Тестовая операция",
          doc_type: str = "МО", basis: str = "") -> EntryDraft:
    return EntryDraft(
        date=date, doc_type=doc_type, doc_number=doc_number or f"T-{next(_doc_numbers)}",
        description=description, lines=tuple(lines), basis=basis,
    )


def pair(date: dt.date, amount, debit: str = "7060", credit: str = "1010", **kwargs) -> EntryDraft:
    """The simplest balanced entry: one debit and one credit line of `amount`."""
    return draft(date, line(debit, "D", amount), line(credit, "C", amount), **kwargs)


def run_commit_checks() -> None:
    """Fire the deferred constraint triggers queued so far (balance check and seal), as COMMIT
    would, inside a test that never commits; later statements are deferred again."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def scalar(query: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def execute(query: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)


def ledger_state(institution_ids=None) -> dict:
    """Everything the ledger holds, as plain values, to prove a refused operation changed nothing."""
    where = "" if institution_ids is None else " WHERE institution_id = ANY(%s)"
    params = [] if institution_ids is None else [list(institution_ids)]
    with connection.cursor() as cursor:
        state = {}
        for name, query in {
            "entries": "SELECT id, date, kind, doc_number FROM ledger_journalentry{w} ORDER BY id",
            "postings": "SELECT id, entry_id, account_id, side, amount FROM ledger_posting{w} ORDER BY id",
            "turnovers": "SELECT period_id, account_id, specific, funding_source_id, debit, credit "
                         "FROM ledger_turnover{w} ORDER BY 1, 2, 3, 4",
            "seals": "SELECT entry_id, seq, hash FROM ledger_entryseal{w} ORDER BY seq, entry_id",
            "periods": "SELECT id, status FROM ledger_period{w} ORDER BY id",
            "transitions": "SELECT id FROM ledger_periodtransition{w} ORDER BY id",
            "corrections": "SELECT id, original_id FROM ledger_correctionlog{w} ORDER BY id",
        }.items():
            cursor.execute(query.format(w=where), params)
            state[name] = cursor.fetchall()
    return state
