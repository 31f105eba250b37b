"""What the benchmark adds to a database holding the reference data (ledger.loading):
bench-only accounts up to the wanted chart size, institutions with their periods, and
users allowed to post there.
"""

import datetime as dt

from access.identifiers import complete
from access.models import Institution, Membership, User
from access.roles import Role
from ledger import reference
from ledger.models import Account, AccountKind, RefStatus
from ledger.services import ensure_year

SECTION_KIND = {1: AccountKind.ASSET, 2: AccountKind.ASSET, 3: AccountKind.LIABILITY, 4: AccountKind.LIABILITY,
                5: AccountKind.NET_ASSETS, 6: AccountKind.INCOME, 7: AccountKind.EXPENSE}


def ensure_bench_accounts(total: int) -> int:
    """Add bench-only accounts (codes s9nn, status demo, named as such) until the chart has
    `total` accounts. Only ever called on the benchmark's own database."""
    have = set(Account.objects.values_list("code", flat=True))
    missing = total - len(have)
    new = []
    for n in range(100):
        for section in range(1, 8):
            code = f"{section}9{n:02d}"
            if len(new) >= missing:
                break
            if code not in have:
                new.append(Account(
                    code=code, name_ru=f"Счёт бенчмарка {code}", name_kk=f"Бенчмарк шоты {code}", section=section,
                    kind=SECTION_KIND[section], valid_from=dt.date(2024, 1, 1), source="bench/ (not in the chart)",
                    status=RefStatus.DEMO,
                ))
    Account.objects.bulk_create(new)
    reference.invalidate()
    return len(new)


def make_institution(serial: int, name: str = "Бенчмарк") -> Institution:
    """An institution with a BIN that passes its check digit (registered 2024-01, serial)."""
    for tail in range(serial * 100, serial * 100 + 100):
        bin_ = complete(f"24014{tail % 1_000_000:06d}")
        if bin_ and not Institution.objects.filter(bin=bin_).exists():
            break
    return Institution.objects.create(
        bin=bin_, name_kk=f"{name} {serial}", name_ru=f"{name} {serial}", budget_level="regional",
        region="Алматы", administrator_code="261",
    )


def make_accountant(institution: Institution, username: str) -> User:
    for serial in range(10_000):
        iin = complete(f"9001013{serial:04d}")
        if iin and not User.objects.filter(iin=iin).exists():
            break
    user = User.objects.create(username=username, last_name="Бенчмарков", first_name="Ержан", iin=iin)
    Membership.objects.create(user=user, institution=institution, role=Role.ACCOUNTANT)
    return user


def make_books(serial: int, year: int, username: str) -> tuple[Institution, User]:
    """An institution with the twelve open periods of `year` and an accountant."""
    institution = make_institution(serial)
    ensure_year(institution, year)
    return institution, make_accountant(institution, username)
