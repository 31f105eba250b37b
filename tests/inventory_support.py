"""Fixtures of the inventory tests: the real chart of accounts and posting schemes, two
institutions with an inventory operator, a chief accountant (approves counts) and an auditor,
2026 periods open, locations and responsible persons (МОЛ)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from access import services as access_services
from access.models import Institution, User
from access.roles import Role
from inventory import services
from inventory.models import Location, ResponsiblePerson
from ledger import reference
from ledger.loading import load_reference
from ledger.schemes import load_schemes
from ledger.services import ensure_year

from .factories import make_bin, make_iin

DAY = dt.date(2026, 3, 10)
PROGRAMME = ("003", "015")


@dataclass
class Inv:
    a: Institution
    b: Institution
    operator: User
    chief: User
    auditor: User
    operator_b: User
    locations: list[Location] = field(default_factory=list)
    persons: list[ResponsiblePerson] = field(default_factory=list)
    location_b: Location | None = None
    person_b: ResponsiblePerson | None = None


def build_inv(n_locations: int = 3) -> Inv:
    load_reference()
    load_schemes()
    reference.invalidate()
    a = access_services.create_institution(actor=None, bin=make_bin("71"), name_kk="Мектеп", name_ru="Школа",
                                           budget_level="regional", region="Қарағанды", administrator_code="261")
    b = access_services.create_institution(actor=None, bin=make_bin("72"), name_kk="Колледж",
                                           name_ru="Колледж", budget_level="regional", region="Қарағанды",
                                           administrator_code="261")

    def person(username, serial, institution, *roles):
        user = access_services.create_user(actor=None, username=username, password="correct-horse-battery",
                                           last_name=username.title(), first_name="Тест",
                                           iin=make_iin("800101", serial))
        for role in roles:
            access_services.grant_role(actor=None, user=user, institution=institution, role=role)
        return user

    inv = Inv(a=a, b=b, operator=person("inv_op", "71", a, Role.INVENTORY_OPERATOR),
              chief=person("inv_chief", "72", a, Role.CHIEF_ACCOUNTANT),
              auditor=person("inv_aud", "73", a, Role.AUDITOR),
              operator_b=person("inv_op_b", "74", b, Role.INVENTORY_OPERATOR))
    for institution in (a, b):
        ensure_year(institution, 2026)
    for i in range(n_locations):
        inv.locations.append(services.create_location(institution=a, actor=inv.operator, code=f"K{101 + i}",
                                                      name=f"Кабинет {101 + i}"))
    for i, name in enumerate(("Иванова А. А.", "Петров Б. Б.")):
        inv.persons.append(services.create_responsible_person(institution=a, actor=inv.operator, full_name=name,
                                                              iin=make_iin("750101", str(81 + i))))
    inv.location_b = services.create_location(institution=b, actor=inv.operator_b, code="S1", name="Склад")
    inv.person_b = services.create_responsible_person(institution=b, actor=inv.operator_b, full_name="Сидоров")
    return inv


def asset_line(inv: Inv, *, name="Ноутбук", account="2350", specific="414", cost="350000.00", quantity=1,
               location=0, person=0, **extra) -> services.AssetInput:
    return services.AssetInput(name=name, account=account, specific=specific,
                               location_id=inv.locations[location].id, responsible_id=inv.persons[person].id,
                               cost=Decimal(cost), quantity=Decimal(quantity), programme=PROGRAMME[0],
                               subprogramme=PROGRAMME[1], **extra)


@pytest.fixture
def inv(db) -> Inv:
    return build_inv()
