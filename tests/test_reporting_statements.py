"""FO-1…FO-5 from the ledger through the line maps, the cross-form checks, consolidation with
internal operations eliminated (real PostgreSQL; figures worked out by hand in
tests/reporting_support.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from access.errors import ControlError
from ledger.models import Counterparty
from ledger.services import post_entries
from reporting import services
from reporting.models import LineMap, StatementStatus
from reporting.statements import figure, statement_data

from .factories import draft, line
from .reporting_support import EXPECTED, FEB, make_group, two_months

START, END = dt.date(2026, 1, 1), dt.date(2026, 2, 28)


def fig(data, form, code, column="amount"):
    return figure(data["forms"], form, code, column)


@pytest.mark.django_db
def test_statements_of_a_known_ledger(world):
    two_months(world)
    data = statement_data(world.a, START, END)
    assert fig(data, "FO-1", "010", "closing") == EXPECTED["cash"]
    assert fig(data, "FO-1", "050", "closing") == EXPECTED["stock"]
    assert fig(data, "FO-1", "120", "closing") == EXPECTED["fixed"]
    assert fig(data, "FO-1", "300", "closing") == EXPECTED["assets"]
    assert fig(data, "FO-1", "320", "closing") == EXPECTED["payables"]
    assert fig(data, "FO-1", "530", "closing") == EXPECTED["surplus"]
    assert fig(data, "FO-1", "700", "closing") == EXPECTED["assets"]
    assert fig(data, "FO-1", "300", "opening") == Decimal("0")
    assert fig(data, "FO-2", "100") == EXPECTED["income"]
    assert fig(data, "FO-2", "200") == EXPECTED["expenses"]
    assert fig(data, "FO-2", "300") == EXPECTED["surplus"]
    # cash flow, direct method: receipts and payments by the specific of the cash line
    assert fig(data, "FO-3", "019") == Decimal("1500000.00")
    assert fig(data, "FO-3", "021") == Decimal("600000.00")
    assert fig(data, "FO-3", "023") == Decimal("200000.00")
    assert fig(data, "FO-3", "025") == Decimal("250000.00")
    assert fig(data, "FO-3", "050") == EXPECTED["cash"]
    assert fig(data, "FO-4", "040") == EXPECTED["surplus"]
    assert fig(data, "FO-4", "100") == EXPECTED["surplus"]
    assert all(c["ok"] for c in data["checks"]), data["checks"]
    note = {(f["form"], f["line"], f["column"]): Decimal(f["value"])
            for s in data["forms"]["FO-5"]["sections"] for f in s["figures"]}
    assert note[("FO-1", "300", "closing")] == EXPECTED["assets"]
    assert note[("FO-2", "300", "amount")] == EXPECTED["surplus"]


@pytest.mark.django_db
def test_february_alone_opens_with_january(world):
    two_months(world)
    data = statement_data(world.a, dt.date(2026, 2, 1), END)
    assert fig(data, "FO-1", "010", "opening") == Decimal("700000.00")
    assert fig(data, "FO-3", "040") == Decimal("700000.00")
    assert fig(data, "FO-3", "020") == Decimal("250000.00")
    assert fig(data, "FO-2", "300") == Decimal("0")
    assert all(c["ok"] for c in data["checks"])


@pytest.mark.django_db
def test_planted_error_in_a_line_map_fails_the_named_check(world):
    two_months(world)
    # an administrator maps payables to the asset side by mistake
    LineMap.objects.filter(form="FO-1", account="3210").update(line="030")
    statement = services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START,
                                           period_end=END)
    failed = {c["code"] for c in statement.failed_checks}
    assert failed == {"CHK-FO1-BALANCE"}
    with pytest.raises(ControlError) as refused:
        services.check_statement(statement=statement, actor=world.chief_a)
    assert refused.value.code == "CHK-FO1-BALANCE"
    assert "CHK-FO1-BALANCE" in str(refused.value.message)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.PREPARED


@pytest.mark.django_db
def test_missing_map_is_named_by_the_completeness_check(world):
    two_months(world)
    LineMap.objects.filter(form="FO-2", account="7060").delete()
    data = statement_data(world.a, START, END)
    failed = {c["code"] for c in data["checks"] if not c["ok"]}
    assert "CHK-MAPS-COMPLETE" in failed and "CHK-FO2-FO4-SURPLUS" in failed
    assert any(u["account"] == "7060" and u["form"] == "FO-2" for u in data["unmapped"])


@pytest.mark.django_db
def test_cash_flow_map_gap_breaks_the_cash_tie(world):
    two_months(world)
    LineMap.objects.filter(form="FO-3", account="10", side="C", specific="").delete()
    LineMap.objects.filter(form="FO-3", account="10", side="C", specific="4").delete()
    data = statement_data(world.a, START, END)
    failed = {c["code"] for c in data["checks"] if not c["ok"]}
    assert "CHK-FO1-FO3-CASH" in failed


@pytest.mark.django_db
def test_consolidation_eliminates_internal_operations(world):
    two_months(world)
    admin, _chief = make_group(world)
    b_in_a = Counterparty.objects.create(institution=world.a, iin_bin=world.b.bin, name="Учреждение Б")
    a_in_b = Counterparty.objects.create(institution=world.b, iin_bin=world.a.bin, name="Учреждение А")
    # A hands 100 000 to B; B receives it as income
    post_entries(institution=world.a, actor=world.chief_a, drafts=[
        draft(FEB, line("7060", "D", "100000.00", "141", counterparty_id=b_in_a.id),
              line("1010", "C", "100000.00", "141"))])
    post_entries(institution=world.b, actor=world.chief_a, drafts=[
        draft(FEB, line("1010", "D", "100000.00", "141"), line("6010", "C", "100000.00", "141",
                                                                counterparty_id=a_in_b.id)),
        draft(FEB, line("7010", "D", "40000.00"), line("1010", "C", "40000.00"))])
    a = statement_data(world.a, START, END)
    b = statement_data(world.b, START, END)
    group = statement_data(admin, START, END, consolidated=True)
    assert sorted(group["institutions"]) == sorted([admin.id, world.a.id, world.b.id])
    internal = Decimal("100000.00")
    assert fig(group, "FO-2", "100") == fig(a, "FO-2", "100") + fig(b, "FO-2", "100") - internal
    assert fig(group, "FO-2", "200") == fig(a, "FO-2", "200") + fig(b, "FO-2", "200") - internal
    # the group's cash is the sum: A's outflow and B's inflow cancel, nothing is lost
    assert fig(group, "FO-1", "010", "closing") == fig(a, "FO-1", "010", "closing") + fig(b, "FO-1", "010", "closing")
    assert fig(group, "FO-3", "010") == fig(a, "FO-3", "010") + fig(b, "FO-3", "010") - internal
    assert Decimal(group["eliminated"]["debit"]) == 2 * internal
    assert all(c["ok"] for c in group["checks"]), group["checks"]
    statement = services.prepare_statement(institution=admin, actor=_chief, period_start=START, period_end=END,
                                           consolidated=True)
    assert statement.kind == "consolidated"


@pytest.mark.django_db
def test_consolidation_needs_subordinates(world):
    with pytest.raises(ControlError) as refused:
        services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START, period_end=END,
                                   consolidated=True)
    assert refused.value.code == "no_subordinates"


@pytest.mark.django_db
def test_range_rules(world):
    with pytest.raises(ControlError) as refused:
        services.validate_range(dt.date(2026, 3, 1), dt.date(2026, 1, 31))
    assert refused.value.field == "period_end"
    with pytest.raises(ControlError):
        services.validate_range(dt.date(2025, 1, 1), dt.date(2026, 1, 31))
    assert services.validate_range(dt.date(2026, 1, 9), dt.date(2026, 2, 3)) == (START, END)


@pytest.mark.django_db
def test_administrator_edits_a_line_map_and_the_change_is_logged(client, world):
    from auditlog.models import LogEntry

    from access.models import ActionLog
    from access.roles import Role
    from access.services import create_user, grant_role

    from .factories import make_iin

    two_months(world)
    admin = create_user(actor=None, username="admin_rep", password="correct-horse-battery", last_name="Әкімшіов",
                        first_name="Тест", iin=make_iin("800101", "6"))
    grant_role(actor=None, user=admin, institution=world.a, role=Role.ADMINISTRATOR)
    admin.refresh_from_db()
    client.force_login(admin)
    row = LineMap.objects.get(form="FO-1", account="3210")
    url = f"/admin/reporting/linemap/{row.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"form": "FO-1", "account": "3210", "side": "C", "specific": "", "scope": "all",
                                 "line": "330", "valid_from": "2024-01-01", "valid_to": "",
                                 "source": "уточнено", "status": "unverified"})
    assert response.status_code == 302, response.content.decode()[:1500]
    row.refresh_from_db()
    assert row.line == "330"
    assert "line" in LogEntry.objects.get_for_object(row).latest("timestamp").changes_dict
    assert ActionLog.objects.filter(user=admin, action="edit", object_type="linemap", object_id=str(row.pk)).exists()
    # the statements follow the edited map: payables now on line 330, still balanced
    data = statement_data(world.a, START, END)
    assert fig(data, "FO-1", "330", "closing") == EXPECTED["payables"]
    assert all(c["ok"] for c in data["checks"])
    # an accountant cannot reach it
    client.force_login(world.accountant_a)
    assert client.get(url).status_code in (302, 403)
