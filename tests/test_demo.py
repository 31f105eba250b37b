"""The reference-data loader (ledger/loading.py, `load_reference`) and the demo
(ledger/demo.py, `load_demo`, `demo_logins`).

Real PostgreSQL, inside the test transaction (`db`). The entry seal is a deferred trigger that
fires at commit; a `db` test never commits, so `SET CONSTRAINTS ALL IMMEDIATE` fires the pending
seals before the hash chains are verified.
"""

import datetime as dt
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from access.identifiers import validate_bin, validate_iin
from access.models import ActionLog, BudgetLevel, Institution, Membership, User
from access.roles import Role
from ledger import demo
from ledger.loading import DEFAULT_PATH, ReferenceLoadError, load_reference
from ledger.models import (
    Account,
    AccountSpecific,
    BudgetProgramme,
    CorrectionLog,
    Counterparty,
    FundingSource,
    JournalEntry,
    Period,
    PeriodStatus,
    Posting,
    Specific,
)
from ledger.queries import trial_balance, trial_balance_by_scan
from ledger.verification import verify_all

TODAY = dt.date(2026, 2, 16)  # January 2025 … February 2026: fourteen months, 2025 closed
ENTRIES_PER_MONTH = 12
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def csv_rows(name: str) -> int:
    return len((DEFAULT_PATH / name).read_text(encoding="utf-8").strip().splitlines()) - 1


def fire_deferred_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.fixture
def data_copy(tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_PATH, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- reference loader --------------------------------------------------------------------------

def test_load_reference_loads_every_file_and_a_second_run_changes_nothing(db):
    report = load_reference()
    assert report.changed
    assert Account.objects.count() == csv_rows("accounts.csv")
    assert Specific.objects.count() == csv_rows("specifics.csv")
    assert BudgetProgramme.objects.count() == csv_rows("programmes.csv")
    assert FundingSource.objects.count() == csv_rows("funding_sources.csv")
    assert AccountSpecific.objects.count() == csv_rows("correspondence.csv")
    assert Account.objects.get(code="1010").is_cash
    assert Specific.objects.get(code="414").category == "2"
    programme = BudgetProgramme.objects.get(programme="003", subprogramme="015")
    assert (programme.functional_group, programme.functional_subgroup, programme.status) == ("04", "2", "demo")
    audit = LogEntry.objects.count()

    again = load_reference()

    assert not again.changed
    assert again.counts["accounts"].unchanged == csv_rows("accounts.csv")
    assert LogEntry.objects.count() == audit


def test_a_changed_name_updates_the_row_through_save_and_auditlog(db, data_copy):
    load_reference(data_copy)
    edit(data_copy / "funding_sources.csv", "Местный бюджет", "Местный бюджет области")

    report = load_reference(data_copy)

    assert (report.counts["funding_sources"].updated, report.counts["accounts"].updated) == (1, 0)
    row = FundingSource.objects.get(code="budget_local")
    assert row.name_ru == "Местный бюджет области"
    change = LogEntry.objects.get_for_object(row).order_by("-timestamp").first()
    assert change.changes_dict["name_ru"] == ["Местный бюджет", "Местный бюджет области"]


@pytest.mark.parametrize("file, old, new, column, rule", [
    ("accounts.csv", "1010,Денежные средства в кассе,Кассадағы ақша қаражаты,1,asset",
     "1010,Денежные средства в кассе,Кассадағы ақша қаражаты,1,assets", "kind", "choice"),
    ("accounts.csv", "2024-01-01,,МФ РК № 281 от 15.06.2010,confirmed", "2024-13-01,,МФ РК № 281,confirmed",
     "valid_from", "date"),
    ("specifics.csv", "111,1,1,1,", "111,1,1,2,", "subclass", "derived_from_code"),
    ("programmes.csv", "261,04,2,003,011", "261,04,7,003,011", "subgroup", "functional_exists"),
    ("correspondence.csv", "7010,111,", "7010,118,", "specific", "specific_exists"),
    ("funding_sources.csv", "grant,", "budget_local,", "code", "duplicate"),
])
def test_one_bad_row_writes_nothing_and_names_file_row_column_rule(db, data_copy, file, old, new, column, rule):
    edit(data_copy / file, old, new)
    with pytest.raises(ReferenceLoadError) as caught:
        load_reference(data_copy)
    (error,) = caught.value.errors
    assert (error.file, error.column, error.rule) == (file, column, rule)
    assert error.row > 1
    assert f"{file}, row {error.row}, column {column}" in str(error)
    assert Account.objects.count() == Specific.objects.count() == FundingSource.objects.count() == 0


def test_a_missing_column_is_refused(db, data_copy):
    path = data_copy / "specifics.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",subclass,", ",sub_class,", 1), encoding="utf-8")
    with pytest.raises(ReferenceLoadError) as caught:
        load_reference(data_copy)
    assert [(e.file, e.row, e.column, e.rule) for e in caught.value.errors] == [
        ("specifics.csv", 1, "subclass", "column_missing")]


def test_load_reference_command_reports_errors_and_exits_non_zero(db, data_copy):
    edit(data_copy / "accounts.csv", ",asset,1,", ",asset,2,")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("load_reference", path=str(data_copy), stdout=io.StringIO(), stderr=err)
    assert "accounts.csv, row 2, column is_cash" in err.getvalue()
    out = io.StringIO()
    call_command("load_reference", stdout=out)
    assert f"accounts: {csv_rows('accounts.csv')} created" in out.getvalue()


# --- demo --------------------------------------------------------------------------------------

@pytest.fixture
def loaded(db):
    out = io.StringIO()
    call_command("load_demo", entries_per_month=ENTRIES_PER_MONTH, today=TODAY, stdout=out)
    fire_deferred_triggers()
    return out.getvalue()


def test_default_size_is_about_twenty_thousand_entries():
    per_month = demo.default_entries_per_month(dt.date(2026, 11, 24))
    assert per_month * 2 * 23 == pytest.approx(20_000, rel=0.01)


def test_demo_institutions(loaded):
    assert "load_demo:" in loaded
    admin = Institution.objects.get(bin=demo.DEMO_ADMIN_BIN)
    assert (admin.parent, admin.budget_level, admin.administrator_code) == (None, BudgetLevel.REGIONAL, "261")
    subordinates = list(admin.subordinates.order_by("id"))
    assert [s.bin for s in subordinates] == [demo.SCHOOL.bin, demo.COLLEGE.bin]
    for institution in (admin, *subordinates):
        validate_bin(institution.bin)
        assert institution.name_kk and institution.name_ru and institution.name_kk != institution.name_ru
        assert Period.objects.filter(institution=institution, year__in=(2025, 2026)).count() == 24
    for institution in subordinates:
        assert Counterparty.objects.filter(institution=institution).count() >= 25
        periods = Period.objects.filter(institution=institution)
        assert set(periods.filter(year=2025).values_list("status", flat=True)) == {PeriodStatus.CLOSED}
        assert set(periods.filter(year=2026).values_list("status", flat=True)) == {PeriodStatus.OPEN}


def test_demo_users_and_roles(loaded):
    school, college = (Institution.objects.get(bin=s.bin) for s in demo.SUBORDINATES)
    admin = Institution.objects.get(bin=demo.DEMO_ADMIN_BIN)
    for institution in (school, college):
        roles = set(Membership.objects.filter(institution=institution).values_list("role", flat=True))
        assert {Role.CHIEF_ACCOUNTANT, Role.ACCOUNTANT, Role.PAYROLL_CLERK, Role.INVENTORY_OPERATOR} <= roles
    auditor = User.objects.get(username="auditor")
    assert {(m.institution_id, m.role) for m in auditor.memberships.all()} == {
        (i.id, Role.AUDITOR) for i in (admin, school, college)}
    assert Membership.objects.filter(user__username="administrator", role=Role.ADMINISTRATOR,
                                     institution=admin).exists()
    superuser = User.objects.get(username="admin")
    assert superuser.is_superuser and superuser.is_staff
    users = list(User.objects.filter(username__in=[p.username for p in demo.PEOPLE]))
    assert len(users) == len(demo.PEOPLE)
    for user in users:
        validate_iin(user.iin)
        assert user.last_name and user.first_name and user.patronymic
        assert user.check_password(demo.DEMO_PASSWORD)
    assert len({u.iin for u in users}) == len(users)
    assert all(set(u.full_name) & KAZAKH_LETTERS for u in users)


def test_demo_ledger_balances_verifies_and_has_corrections(loaded):
    for spec in demo.SUBORDINATES:
        institution = Institution.objects.get(bin=spec.bin)
        assert JournalEntry.objects.filter(institution=institution).count() >= 14 * ENTRIES_PER_MONTH
        for date_from, date_to in ((dt.date(2025, 1, 1), TODAY), (dt.date(2025, 3, 1), dt.date(2025, 12, 31))):
            tb = trial_balance(institution.id, date_from, date_to)
            assert sum((row.closing for row in tb.rows), Decimal(0)) == 0
            totals = tb.totals()
            assert totals["closing_debit"] == totals["closing_credit"] > 0
            scan = trial_balance_by_scan(institution.id, date_from, date_to)
            assert [(r.code, r.opening, r.debit, r.credit) for r in tb.rows] == [
                (r.code, r.opening, r.debit, r.credit) for r in scan.rows]
        assert CorrectionLog.objects.filter(institution=institution).count() >= 3
    # a December 2025 mistake corrected in January 2026, after December was closed
    assert CorrectionLog.objects.filter(original__date__year=2025, reversal__date__year=2026).exists()
    assert Posting.objects.filter(funding_source__code__in=["sponsorship", "grant"]).exists()
    assert verify_all() == []


def test_second_load_is_a_silent_no_op(loaded):
    counts = (JournalEntry.objects.count(), User.objects.count(), ActionLog.objects.count(),
              Counterparty.objects.count())
    out = io.StringIO()
    call_command("load_demo", entries_per_month=ENTRIES_PER_MONTH, today=TODAY, stdout=out)
    assert out.getvalue() == ""
    assert (JournalEntry.objects.count(), User.objects.count(), ActionLog.objects.count(),
            Counterparty.objects.count()) == counts


def test_demo_logins_prints_every_login_and_the_password(loaded):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for person in demo.PEOPLE:
        assert person.username in text
        assert f"{person.last_name} {person.first_name} {person.patronymic}" in text
    assert demo.DEMO_PASSWORD in text
    assert demo.SHORT_NAMES[demo.SCHOOL.bin] in text


def test_demo_logins_without_the_demo(db):
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "not loaded" in out.getvalue()


def test_the_generator_is_deterministic(loaded):
    def first_entries():
        return list(JournalEntry.objects.filter(institution__bin=demo.SCHOOL.bin).order_by("id").values_list(
            "date", "doc_number", "description")[:40])

    assert first_entries() == first_entries()
    import random

    suppliers = {c: [Counterparty(id=i, name=f"{c} {i}", iin_bin="0") for i in range(2)]
                 for c in demo.SUPPLIER_CATEGORIES["college"]}
    runs = []
    for _ in range(2):
        generator = demo.LedgerGenerator(demo.COLLEGE, suppliers, random.Random(7), TODAY, 40)
        runs.append([generator.month(2025, m) for m in (1, 2, 3)])
    assert runs[0] == runs[1]
    for month in runs[0]:
        for draft in month:
            debit = sum(line.amount for line in draft.lines if line.side == "D")
            assert debit == sum(line.amount for line in draft.lines if line.side == "C") > 0
