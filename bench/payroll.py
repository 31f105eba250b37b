"""Payroll benchmark: a month's run for N employees (default 10,000), preview and post,
target ≤ 15 s together. Side by side in the same run: the pure calculator alone (the floor the
database work adds to), the preview (calculate_run: read inputs, calculate, store lines with
each figure's formula), the post (FLC-PAY-001, entries through the posting schemes under every
ledger control, the month locked) and a recalculation of the unchanged month (posts nothing).

    .venv/bin/python -m bench.payroll [--employees 10000] [--keep] [--no-markdown]

Runs in its own database (esep_bench_payroll, dropped at the end), never the dev database.
"""

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from decimal import Decimal

from .__main__ import bench_url, drop_database, recreate_database

YEAR, MONTH = 2026, 3


def say(text: str) -> None:
    print(f"[bench.payroll] {text}", flush=True)


def setup(employees: int):
    from access.models import Institution
    from access.roles import Role
    from access.services import create_institution, create_user, grant_role
    from ledger import reference
    from ledger.loading import load_reference
    from ledger.schemes import load_schemes
    from ledger.services import ensure_year
    from payroll import services
    from payroll.models import Category, Employee, StaffPosition

    iins = _iins()
    services.load_parameters()
    load_reference()
    load_schemes()
    reference.invalidate()
    institution = create_institution(actor=None, bin=_bin(), name_kk="Бенчмарк мекемесі",
                                     name_ru="Учреждение бенчмарка", budget_level="regional", region="Алматы",
                                     administrator_code="261")
    clerk = create_user(actor=None, username="bench.payroll", password=secrets.token_urlsafe(16),
                        last_name="Бенч", first_name="Расчётчик", iin=next(iins))
    grant_role(actor=None, user=clerk, institution=institution, role=Role.PAYROLL_CLERK)
    ensure_year(institution, YEAR)
    budget = {"administrator": "261", "programme": "003", "subprogramme": "011", "funding_source": "budget_local"}
    positions = []
    for i in range(20):
        technical = i >= 16
        positions.append(StaffPosition(
            institution=institution, code=f"B{i:02d}", name_ru=f"Должность {i}", name_kk=f"Лауазым {i}",
            category=Category.TECHNICAL if technical else Category.CIVIL_SERVANT,
            fixed_salary=None if i % 2 else Decimal(180_000 + 25_000 * i),
            coefficient=Decimal("5.5") + Decimal(i) / 4 if i % 2 else None,
            allowances=[] if technical else [{"name": "стаж", "kind": "percent", "value": "15", "specific": "112"}],
            valid_from=dt.date(2025, 1, 1), **budget))
    StaffPosition.objects.bulk_create(positions)
    Employee.objects.bulk_create([
        Employee(institution=institution, personnel_number=f"{n:06d}", iin=next(iins),
                 full_name_kk=f"Қызметкер {n}", full_name_ru=f"Сотрудник {n}", position_code=f"B{n % 20:02d}",
                 hired_on=dt.date(2020, 1, 1), pensioner=n % 97 == 0, court_order_percent=Decimal(25) if n % 50 == 0
                 else Decimal(0))
        for n in range(1, employees + 1)], batch_size=5000)
    for specific in ("111", "112", "113", "131"):
        services.set_wage_fund(institution=institution, actor=clerk, year=YEAR, month=MONTH, specific=specific,
                               amount=Decimal("99999999999"))
    return Institution.objects.get(pk=institution.pk), clerk


def _iins():
    """Valid, distinct IINs: men born on the days of 1980, serials 0001…"""
    from access.identifiers import complete

    day = dt.date(1980, 1, 1)
    while True:
        for serial in range(1, 10_000):
            value = complete(f"{day:%y%m%d}3{serial:04d}")
            if value:
                yield value
        day += dt.timedelta(days=1)


def _bin() -> str:
    from access.identifiers import complete

    for serial in range(1, 9999):
        value = complete(f"0104400{serial:04d}")
        if value:
            return value
    raise AssertionError


def measure(institution, clerk) -> dict:
    from payroll import calculator, services
    from payroll.models import PayrollRun

    figures = {}
    run = PayrollRun.objects.create(institution=institution, year=YEAR, month=MONTH)
    params = services.params_for(institution, dt.date(YEAR, MONTH, 1))
    inputs = services._inputs(run, params)
    t = time.perf_counter()
    for _e, _p, month in inputs:
        calculator.calculate(params, month)
    figures["calculator only (pure, no database)"] = time.perf_counter() - t
    run.delete()

    t = time.perf_counter()
    run = services.start_run(institution=institution, actor=clerk, year=YEAR, month=MONTH, inline=True)
    figures["preview (calculate_run: inputs, calculation, lines stored)"] = preview = time.perf_counter() - t
    assert run.status == "calculated", run.error
    t = time.perf_counter()
    entries = services.post_run(run=run, actor=clerk)
    figures["post (FLC-PAY-001, entries via schemes, ledger controls)"] = post = time.perf_counter() - t
    figures["preview + post (target ≤ 15 s)"] = preview + post
    services.reopen_run(run=run, actor=clerk, reason="benchmark")
    t = time.perf_counter()
    run = services.start_run(institution=institution, actor=clerk, year=YEAR, month=MONTH, inline=True)
    again = services.post_run(run=run, actor=clerk)
    figures["recalculation of the unchanged month (preview + post, posts nothing)"] = time.perf_counter() - t
    assert again == [], "an unchanged month must post nothing"
    figures["_entries"] = len(entries)
    figures["_lines"] = sum(e.postings.count() for e in entries)
    return figures


def markdown(figures: dict, employees: int, load: tuple[float, float]) -> str:
    import platform

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rows = "\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in figures.items() if not name.startswith("_"))
    total = figures["preview + post (target ≤ 15 s)"]
    return f"""### Payroll: a month's run (`python -m bench.payroll`)

Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, PostgreSQL 15 on loopback.
Data: {employees:,} employees on 20 staff-schedule positions (coefficient and fixed salaries, a 15 % allowance,
technical staff on 131, 1 % pensioners, 2 % with court orders), March 2026 parameters; one institution.
The run posted {figures['_entries']} entries with {figures['_lines']} postings (summary by specific and
classification; per-employee figures stay in the payroll lines). 1-minute load average before/after:
{load[0]:.2f} / {load[1]:.2f} (other work on the 2 cores would slow the figures).

| step | seconds |
|---|---|
{rows}

Target ≤ 15 s for preview + post: **{'met' if total <= 15 else 'missed'}** ({total:.2f} s).
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payroll")
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--database", default="esep_bench_payroll")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    admin_url, url = bench_url(args.database)
    recreate_database(admin_url, args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["ESEP_DEBUG"] = "0"
    os.environ.setdefault("ESEP_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "esep.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from .common import loadavg

    try:
        say(f"database {args.database}: migrating")
        call_command("migrate", verbosity=0)
        say(f"creating {args.employees} employees")
        institution, clerk = setup(args.employees)
        before = loadavg()
        figures = measure(institution, clerk)
        after = loadavg()
        for name, value in figures.items():
            say(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}")
        text = markdown(figures, args.employees, (before, after))
        print(text)
        if args.markdown:
            from .section import write_section

            write_section("payroll", text)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(admin_url, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
