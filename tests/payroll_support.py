"""Builders for the payroll tests: the real chart and posting schemes on top of the shared
world, a staff schedule, employees and the wage fund; and a real Celery worker started against
the test database."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from access.identifiers import complete
from ledger import reference
from ledger.loading import load_reference
from ledger.schemes import load_schemes
from payroll import services
from payroll.models import Category, Employee, StaffPosition

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2026
BUDGET = {"administrator": "261", "programme": "003", "subprogramme": "015", "funding_source": "budget_local"}


@dataclass
class Staff:
    world: object
    positions: dict = field(default_factory=dict)
    employees: list = field(default_factory=list)


def real_reference() -> None:
    # The parameters come with a migration, but a transactional test's flush empties every
    # table; loading again is idempotent.
    services.load_parameters()
    load_reference()
    load_schemes()
    reference.invalidate()


def position(world, code: str, *, fixed=None, coefficient=None, category=Category.CIVIL_SERVANT, allowances=(),
             valid_from=dt.date(2025, 1, 1)) -> StaffPosition:
    return services.save_position(
        institution=world.a, actor=world.clerk_a, code=code, name_ru=f"Должность {code}", name_kk=f"Лауазым {code}",
        category=category, fixed_salary=fixed, coefficient=coefficient, allowances=list(allowances),
        valid_from=valid_from, **BUDGET)


_serial = iter(range(1, 10_000))


def next_iin(birth: str = "900101") -> str:
    """A valid IIN not used before in this process (serials skip those without a check digit)."""
    for serial in _serial:
        iin = complete(f"{birth}3{serial:04d}")
        if iin is not None:
            return iin
    raise AssertionError("out of serials")


def employee(world, number: str, position_code: str, **extra) -> Employee:
    fields = {"personnel_number": number, "iin": next_iin(),
              "full_name_kk": f"Қызметкер {number}", "full_name_ru": f"Сотрудник {number}",
              "position_code": position_code, "hired_on": dt.date(2024, 1, 10),
              "iban": services.iban_with_check(f"125KZT{int(number):010d}")}
    fields.update(extra)
    return services.create_employee(institution=world.a, actor=world.clerk_a, **fields)


def fund(world, month: int, amount, specific: str = "111", year: int = YEAR) -> None:
    services.set_wage_fund(institution=world.a, actor=world.clerk_a, year=year, month=month, specific=specific,
                           amount=Decimal(amount))


def run_month(world, month: int, year: int = YEAR, post: bool = True):
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=year, month=month, inline=True)
    if post:
        services.post_run(run=run, actor=world.clerk_a)
        run.refresh_from_db()
    return run


def staff(world, salaries=(Decimal("300000"), Decimal("500000"))) -> Staff:
    """Real chart and schemes; one fixed-salary position per salary; one employee on each;
    a generous wage fund for every month of 2026 on 111, 112 and 113."""
    real_reference()
    result = Staff(world)
    for i, salary in enumerate(salaries, start=1):
        code = f"P{i}"
        result.positions[code] = position(world, code, fixed=Decimal(salary))
        result.employees.append(employee(world, f"{i:04d}", code))
    for month in range(1, 13):
        for specific in ("111", "112", "113"):
            fund(world, month, "100000000", specific)
    return result


# -- a real Celery worker ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A Celery worker subprocess against this run's test database, on a queue of its own so no
    other worker on the shared Redis takes the tests' tasks. Tests that use it must be
    transactional: the worker sees only committed rows."""
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        settings = connection.settings_dict
    queue = f"payroll-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"
    env["ESEP_PAYROLL_QUEUE"] = queue
    env["ESEP_DB_CONN_MAX_AGE"] = "0"
    os.environ["ESEP_PAYROLL_QUEUE"] = queue
    log = open(ROOT / "var" / f"payroll-test-worker-{os.getpid()}.log", "w") if (ROOT / "var").exists() else \
        subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "esep", "worker", "-Q", queue, "--pool", "solo", "-c", "1",
         "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    from esep.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited at start")
        replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1) or []
        if replies:
            break
    else:
        process.terminate()
        raise RuntimeError("the Celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    os.environ.pop("ESEP_PAYROLL_QUEUE", None)


def wait_for(run, statuses=("calculated", "failed"), timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} still {run.status} after {timeout} s")
