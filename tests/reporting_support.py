"""Helpers of the reporting tests: a small two-month ledger whose statements are known by hand,
a head of institution A, and a group (an administrator over A and B)."""

import datetime as dt
from decimal import Decimal

from access import services as access_services
from access.roles import Role
from ledger.services import post_entries
from reporting.loading import load_reporting_reference

from .factories import draft, line, make_bin, make_iin

JAN = dt.date(2026, 1, 15)
FEB = dt.date(2026, 2, 10)

# What the ledger below must give, worked out by hand.
EXPECTED = {
    "cash": Decimal("450000.00"),  # 1 500 000 − 600 000 − 200 000 − 250 000
    "stock": Decimal("150000.00"),  # 200 000 − 50 000
    "fixed": Decimal("300000.00"),
    "assets": Decimal("900000.00"),
    "payables": Decimal("50000.00"),  # 3210: 200 000 + 300 000 − 200 000 − 250 000
    "income": Decimal("1500000.00"),
    "expenses": Decimal("650000.00"),
    "surplus": Decimal("850000.00"),
}


def two_months(world, institution=None, actor=None):
    """January and February 2026 of institution A: financing, wages, stock, an asset."""
    institution = institution or world.a
    actor = actor or world.chief_a
    load_reporting_reference()
    drafts = [
        draft(JAN, line("1010", "D", "1500000.00"), line("6010", "C", "1500000.00")),
        draft(JAN, line("7010", "D", "600000.00"), line("3241", "C", "600000.00")),
        draft(JAN, line("3241", "D", "600000.00"), line("1010", "C", "600000.00")),
        draft(JAN, line("1310", "D", "200000.00", "141"), line("3210", "C", "200000.00", "141")),
        draft(JAN, line("3210", "D", "200000.00", "141"), line("1010", "C", "200000.00", "141")),
        draft(JAN, line("7060", "D", "50000.00", "141"), line("1310", "C", "50000.00", "141")),
        draft(FEB, line("2350", "D", "300000.00", "414"), line("3210", "C", "300000.00", "414")),
        draft(FEB, line("3210", "D", "250000.00", "414"), line("1010", "C", "250000.00", "414")),
    ]
    return post_entries(institution=institution, actor=actor, drafts=drafts, source="reporting test")


def make_head(world, institution=None, serial="7"):
    institution = institution or world.a
    user = access_services.create_user(actor=None, username=f"head_{serial}", password="correct-horse-battery",
                                       last_name="Басшыбаев", first_name="Тест", iin=make_iin("800101", serial))
    access_services.grant_role(actor=None, user=user, institution=institution, role=Role.HEAD)
    return user


def make_group(world):
    """An administrator over A and B, with a chief accountant of its own."""
    admin = access_services.create_institution(
        actor=None, bin=make_bin("9"), name_kk="Басқарма", name_ru="Управление", budget_level="regional",
        region="Алматы", administrator_code="261")
    for institution in (world.a, world.b):
        institution.parent = admin
        institution.save(update_fields=["parent"])
    chief = access_services.create_user(actor=None, username="chief_admin", password="correct-horse-battery",
                                        last_name="Басқармаев", first_name="Тест", iin=make_iin("790101", "8"))
    access_services.grant_role(actor=None, user=chief, institution=admin, role=Role.CHIEF_ACCOUNTANT)
    access_services.grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.CHIEF_ACCOUNTANT)
    return admin, chief
