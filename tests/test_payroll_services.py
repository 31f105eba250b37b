"""The payroll write path against real PostgreSQL: runs posted through the posting schemes
under the ledger's controls, FLC-PAY-001/002/003 fed with real facts, recalculation posting
only differences, R15 shut-off, the all-or-nothing personnel import."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db.models import Sum
from rest_framework.authtoken.models import Token

from access.errors import ControlError, PermissionRefused
from access.models import ActionLog
from esep.imports import ImportRefused
from ledger.models import EntryKind, JournalEntry, Posting
from payroll import services
from payroll.models import (
    Advance,
    Employee,
    PaymentRegister,
    PayrollLine,
    PayrollRun,
    PostedAmount,
    RunStatus,
)
from rules.models import Violation
from tests.factories import ledger_state
from tests.payroll_support import YEAR, employee, fund, next_iin, position, run_month, staff

D = Decimal
pytestmark = pytest.mark.django_db


def balances(institution) -> dict[str, Decimal]:
    rows = (Posting.objects.filter(entry__institution=institution).values("account__code", "side")
            .annotate(s=Sum("amount")))
    out: dict[str, Decimal] = {}
    for row in rows:
        sign = 1 if row["side"] == "D" else -1
        out[row["account__code"]] = out.get(row["account__code"], D(0)) + sign * row["s"]
    return {k: v for k, v in out.items() if v}


def test_a_month_posts_balanced_entries_through_the_schemes(world):
    staff(world)
    run = run_month(world, 3)
    assert run.status == RunStatus.POSTED
    lines = {line.employee.personnel_number: line for line in PayrollLine.objects.filter(run=run)
             .select_related("employee")}
    assert lines["0001"].to_pay == D("250575.00") and lines["0002"].to_pay == D("408975.00")
    entries = JournalEntry.objects.filter(pk__in=run.entry_ids)
    assert entries.count() == 3
    for entry in entries:
        debit = entry.postings.filter(side="D").aggregate(s=Sum("amount"))["s"]
        credit = entry.postings.filter(side="C").aggregate(s=Sum("amount"))["s"]
        assert debit == credit
        assert entry.author == world.clerk_a and entry.memorial_order == 5
    b = balances(world.a)
    assert b["7010"] == D("800000.00")
    assert -b["3241"] == D("250575.00") + D("408975.00")  # payable = net pay
    assert -b["3121"] == D("13425.00") + D("31025.00")
    assert -b["3151"] == D("80000.00")
    # employer charges land on 7020 by specific 116/121/122/124
    by_specific = dict(Posting.objects.filter(entry__in=entries, account__code="7020")
                       .values_list("specific").annotate(s=Sum("amount")))
    assert by_specific == {"116": D("28000.00"), "121": D("42240.00"), "122": D("36000.00"), "124": D("24000.00")}


def test_rerunning_a_posted_month_posts_nothing_new(world):
    staff(world)
    run = run_month(world, 3)
    before = ledger_state([world.a.id])
    services.reopen_run(run=run, actor=world.clerk_a, reason="проверка")
    again = run_month(world, 3)
    assert again.status == RunStatus.POSTED
    assert ledger_state([world.a.id]) == before


def test_a_recalculation_posts_only_the_differences(world):
    st = staff(world)
    run = run_month(world, 3)
    first_entries = list(run.entry_ids)
    with pytest.raises(ControlError) as locked:
        services.save_timesheet(employee=st.employees[0], actor=world.clerk_a, year=YEAR, month=3, norm_days=22,
                                days_worked=11)
    assert locked.value.code == "payroll_month_locked"
    services.reopen_run(run=run, actor=world.clerk_a, reason="табель исправлен")
    services.save_timesheet(employee=st.employees[0], actor=world.clerk_a, year=YEAR, month=3, norm_days=22,
                            days_worked=11)  # half the month: 150 000 instead of 300 000
    services.save_timesheet(employee=st.employees[1], actor=world.clerk_a, year=YEAR, month=3, norm_days=22,
                            days_worked=22, bonus=D("10000"))
    run = run_month(world, 3)
    new = [e for e in JournalEntry.objects.filter(pk__in=run.entry_ids).exclude(pk__in=first_entries)]
    kinds = sorted(e.kind for e in new)
    assert EntryKind.REVERSAL in kinds and EntryKind.CORRECTED in kinds
    for entry in new:
        if entry.kind == EntryKind.REVERSAL:
            assert entry.reverses_id in first_entries
            assert all(p.amount < 0 for p in entry.postings.all())
    b = balances(world.a)
    assert b["7010"] == D("150000.00") + D("510000.00")
    total_to_pay = PayrollLine.objects.filter(run=run).aggregate(s=Sum("to_pay"))["s"]
    assert -b["3241"] == total_to_pay
    posted = PostedAmount.objects.filter(run=run, operation="payroll.accrual").aggregate(s=Sum("amount"))["s"]
    assert posted == D("660000.00")


def test_a_run_beyond_the_wage_fund_is_refused_and_writes_nothing(world):
    staff(world)
    fund(world, 4, "700000", "111")  # accrual 800 000
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=YEAR, month=4, inline=True)
    preview = services.preview_fund(run)
    assert preview[0]["blocked"] and "FLC" not in preview[0]["messages"][0]
    before = ledger_state([world.a.id])
    with pytest.raises(ControlError) as refused:
        services.post_run(run=run, actor=world.clerk_a)
    assert refused.value.code == "FLC-PAY-001"
    assert "700\u00a0000,00" in str(refused.value.message) and "800\u00a0000,00" in str(refused.value.message)
    assert ledger_state([world.a.id]) == before
    run.refresh_from_db()
    assert run.status == RunStatus.CALCULATED and not run.entry_ids
    assert not PostedAmount.objects.filter(run=run).exists()
    assert Violation.objects.filter(rule_code="FLC-PAY-001", institution=world.a).count() == 1


def test_no_wage_fund_at_all_means_nothing_may_be_accrued(world):
    staff(world)
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=2026, month=5, inline=True)
    from payroll.models import WageFund

    WageFund.objects.filter(institution=world.a, month=5).delete()
    with pytest.raises(ControlError) as refused:
        services.post_run(run=run, actor=world.clerk_a)
    assert refused.value.code == "FLC-PAY-001"


def test_the_financing_plan_by_payments_is_the_fund_when_it_has_a_figure(world, monkeypatch):
    staff(world)
    import payroll.services as module

    monkeypatch.setattr(module, "planned_fund", lambda institution, year, month, specific: D("10"))
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=YEAR, month=6, inline=True)
    assert services.fund_for(world.a, YEAR, 6, "111") == (D("10"), "plan")
    with pytest.raises(ControlError) as refused:
        services.post_run(run=run, actor=world.clerk_a)
    assert refused.value.code == "FLC-PAY-001"


def test_advance_within_and_above_the_limit(world):
    st = staff(world)
    worker = st.employees[0]  # salary 300 000, share 50 %
    services.pay_advance(employee=worker, actor=world.clerk_a, year=YEAR, month=3, amount=D("100000"),
                         paid_on=dt.date(YEAR, 3, 15))
    before = ledger_state([world.a.id])
    with pytest.raises(ControlError) as refused:
        services.pay_advance(employee=worker, actor=world.clerk_a, year=YEAR, month=3, amount=D("50000.01"),
                             paid_on=dt.date(YEAR, 3, 16))
    assert refused.value.code == "FLC-PAY-002"
    assert ledger_state([world.a.id]) == before
    assert Advance.objects.filter(employee=worker).count() == 1
    run = run_month(world, 3)
    line = PayrollLine.objects.get(run=run, employee=worker)
    assert line.advance == D("100000") and line.to_pay == D("150575.00")
    assert line.to_pay + line.withheld + line.advance == line.accrued
    assert -balances(world.a)["3241"] == D("150575.00") + D("408975.00")


def test_salary_register_pays_what_is_due_and_refuses_more(world):
    st = staff(world)
    run = run_month(world, 3)
    first = st.employees[0]
    with pytest.raises(ControlError) as refused:
        services.create_register(run=run, actor=world.clerk_a, kind="salary", paid_on=dt.date(YEAR, 3, 31),
                                 amounts={first.pk: D("250575.01")})
    assert refused.value.code == "FLC-PAY-003"
    assert not PaymentRegister.objects.exists()
    register = services.create_register(run=run, actor=world.clerk_a, kind="salary", paid_on=dt.date(YEAR, 3, 31))
    assert register.total == D("250575.00") + D("408975.00")
    assert "3241" not in balances(world.a)  # wages payable cleared
    with pytest.raises(ControlError) as nothing:
        services.create_register(run=run, actor=world.clerk_a, kind="salary", paid_on=dt.date(YEAR, 3, 31))
    assert nothing.value.code == "payroll_nothing_to_pay"
    pension = services.create_register(run=run, actor=world.clerk_a, kind="pension", paid_on=dt.date(YEAR, 3, 31))
    assert pension.total == D("80000.00") + D("28000.00")
    b = balances(world.a)
    assert "3151" not in b and "3154" not in b
    from payroll.outputs import register_csv

    text = register_csv(register).decode()
    assert first.iban in text and "250575.00" in text


def test_dismissal_transfer_and_contract_change_shut_access_off(world):
    st = staff(world)
    user = world.accountant_a
    worker = employee(world, "0100", "P1", iin=next_iin(), user=user)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    Token.objects.create(user=user)
    services.dismiss_employee(employee=worker, actor=world.clerk_a, on=dt.date(YEAR, 3, 20))
    user.refresh_from_db()
    assert not user.is_active
    assert not Token.objects.filter(user=user).exists()
    assert not SessionStore().exists(session.session_key)
    assert ActionLog.objects.filter(institution=world.a, details__icontains="dismissal").exists()
    # transfer and contract change do it too
    other = world.auditor_a
    second = employee(world, "0101", "P1", iin=next_iin(), user=other)
    services.transfer_employee(employee=second, actor=world.clerk_a, position_code="P2", on=dt.date(YEAR, 4, 1))
    other.refresh_from_db()
    assert not other.is_active
    assert Employee.objects.get(pk=second.pk).position_code == "P2"
    chief = world.chief_a
    third = employee(world, "0102", "P1", iin=next_iin(), user=chief)
    services.change_contract(employee=third, actor=world.clerk_a, contract="№ 7 от 01.05.2026")
    chief.refresh_from_db()
    assert not chief.is_active
    del st


def test_employee_validation_names_the_field(world):
    staff(world)
    with pytest.raises(ControlError) as refused:
        employee(world, "0200", "P1", iin="900101300001", iban="KZ00125KZT0000000001")
    fields = {e.field for e in refused.value.errors}
    assert {"iin", "iban"} <= fields


def test_only_the_payroll_capability_runs_payroll(world):
    staff(world)
    with pytest.raises(PermissionRefused):
        services.start_run(institution=world.a, actor=world.auditor_a, year=YEAR, month=3, inline=True)
    with pytest.raises(PermissionRefused):
        services.start_run(institution=world.b, actor=world.clerk_a, year=YEAR, month=3, inline=True)
    assert not PayrollRun.objects.exists()


HEADER = ("personnel_number;iin;full_name_kk;full_name_ru;position_code;category;hired_on;dismissed_on;iban;"
          "resident;pensioner;disability_group;foreign_national")


def test_personnel_import_is_all_or_nothing_and_reports_every_problem(world):
    staff(world)
    good = f"0301;{next_iin()};Әлиев Нұрлан;Алиев Нурлан;P1;civil_servant;2026-01-05;;;1;0;0;0"
    bad = ("0302;900101300001;Бекова Айгүл;Бекова Айгуль;NOPE;clerk;2026-13-01;;KZ00;x;0;5;0")
    with pytest.raises(ImportRefused) as refused:
        services.import_personnel(institution=world.a, actor=world.clerk_a,
                                  data="\n".join([HEADER, good, bad]).encode())
    problems = {(p.row, p.column, p.rule) for p in refused.value.problems}
    assert {(3, "iin", "iin_check_digit"), (3, "position_code", "unknown_position"),
            (3, "category", "unknown_category"), (3, "hired_on", "date"), (3, "iban", "iban_format"),
            (3, "resident", "boolean"), (3, "disability_group", "disability_group")} <= problems
    assert not Employee.objects.filter(personnel_number="0301").exists()
    result = services.import_personnel(institution=world.a, actor=world.clerk_a,
                                       data="\n".join([HEADER, good]).encode())
    assert result["created"] == 1


def test_personnel_import_dismissal_shuts_off_a_linked_user(world):
    staff(world)
    iin = next_iin()
    employee(world, "0400", "P1", iin=iin, user=world.accountant_a)
    line = f"0400;{iin};Қызметкер;Сотрудник;P1;civil_servant;2024-01-10;2026-03-31;;1;0;0;0"
    result = services.import_personnel(institution=world.a, actor=world.clerk_a, data=f"{HEADER}\n{line}".encode())
    assert result == {"created": 0, "updated": 1, "access_shut_off": 1}
    world.accountant_a.refresh_from_db()
    assert not world.accountant_a.is_active


def test_positions_are_dated_versions(world):
    staff(world)
    position(world, "P1", fixed=D("330000"), valid_from=dt.date(YEAR, 6, 1))
    may = run_month(world, 5, post=False)
    june = run_month(world, 6, post=False)
    first = services.Employee.objects.get(personnel_number="0001")
    assert PayrollLine.objects.get(run=may, employee=first).accrued == D("300000.00")
    assert PayrollLine.objects.get(run=june, employee=first).accrued == D("330000.00")


def test_next_years_parameters_are_data(world):
    staff(world)
    from payroll.models import PayrollParameter

    PayrollParameter.objects.create(key="mrp", value=D("5000"), valid_from=dt.date(2027, 1, 1))
    assert services.params_for(world.a, dt.date(2027, 2, 1)).mrp == D("5000")
    assert services.params_for(world.a, dt.date(2026, 12, 1)).mrp == D("4325")
    PayrollParameter.objects.filter(key="mzp").delete()
    with pytest.raises(ControlError) as missing:
        services.params_for(world.a, dt.date(2026, 12, 1))
    assert missing.value.code == "payroll_parameters_missing" and "mzp" in str(missing.value.message)


def test_the_financing_plan_by_payments_from_the_financing_app_is_the_fund(world):
    """The real financing.queries.payments_plan: a plan by payments of 500 000 for March on 111
    refuses an accrual of 800 000, naming the plan's figure."""
    from financing import services as financing_services
    from tests.financing_support import add_financing_reference, as_json, line, plan_doc

    staff(world)
    add_financing_reference()
    key = ("261", "003", "015", "111")
    doc = plan_doc(world.a, lines=[line(key, ("900000", "900000", "500000"))])
    financing_services.import_plan(institution=world.a, actor=world.chief_a, data=as_json(doc))
    assert services.fund_for(world.a, YEAR, 3, "111") == (D("500000.00"), "plan")
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=YEAR, month=3, inline=True)
    with pytest.raises(ControlError) as refused:
        services.post_run(run=run, actor=world.clerk_a)
    assert refused.value.code == "FLC-PAY-001" and "500\u00a0000,00" in str(refused.value.message)
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=YEAR, month=2, inline=True)
    assert len(services.post_run(run=run, actor=world.clerk_a)) == 3  # 800 000 within February's 900 000
