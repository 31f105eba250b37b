"""ФЛК services and API on the real database: enforce journals what fires (a blocked
attempt's violation survives the caller's rollback), dated parameters and switches per
institution with a deployment default, who may change them and who may read the violation
journal, and the posting controls fed by the posting-facts builder proposed for the ledger."""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import include, path
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access import services as access_services
from access.errors import ControlError, ControlErrors, PermissionRefused
from access.models import ActionLog, User
from access.roles import Role
from ledger import facts as ledger_facts
from ledger import reference
from ledger.models import AccountSpecific, PeriodStatus
from ledger.services import close_period, lock_for_posting, post_entry
from rules import BLOCK, PASS, WARN, parameters
from rules.models import RuleParameter, RuleSwitch, Violation
from rules.services import enforce, preview, set_parameter, switch_rule

from .factories import REF_FROM, build_world, draft, line, make_iin

posting_facts = ledger_facts.posting_facts


def lock_periods_and_cash(institution, drafts, ref):
    """What ledger.services._write locks and reads before it builds the posting facts."""
    return lock_for_posting(institution, drafts, ref)


@pytest.fixture
def world(db):
    """The shared world with FLC-LED-004 left on (the ledger tests switch it off)."""
    return build_world(cash_control=True)


# The API under test is mounted here as esep/api_urls.py will mount it (prefix rules/).
urlpatterns = [path("api/v1/rules/", include("rules.api_urls"))]

MARCH = dt.date(2026, 3, 5)
ADVANCE = {"month": "2026-03", "employee": "0001 Сейітқали Ә.", "monthly_salary_tiyn": 30_000_000,
           "advances_paid_tiyn": 0, "this_tiyn": 15_000_000}
YEAR_START = {"is_pilot": True, "is_year_start": True, "as_of": "2027-01-01", "advances_tiyn": 500,
              "receivables_tiyn": 0}


@pytest.fixture(autouse=True)
def _fresh_rule_settings():
    """Parameters and switches are cached per process; a rolled-back test's rows must not leak."""
    parameters.invalidate()
    yield
    parameters.invalidate()


@pytest.fixture
def admin_a(world) -> User:
    user = access_services.create_user(actor=None, username="admin_a", password="correct-horse-battery",
                                       last_name="Әкімшіов", first_name="Тест", iin=make_iin("850101", "6"))
    access_services.grant_role(actor=None, user=user, institution=world.a, role=Role.ADMINISTRATOR)
    return user


@pytest.fixture
def root(world) -> User:
    return User.objects.create(username="root", is_superuser=True, is_staff=True, last_name="Жүйе",
                               iin=make_iin("850101", "7"))


def advance(this_tiyn: int, **extra) -> dict:
    return {**ADVANCE, "this_tiyn": this_tiyn, **extra}


def violations(institution) -> list[Violation]:
    return list(Violation.objects.filter(institution_id=institution.id).order_by("id"))


# -- enforce ---------------------------------------------------------------------------------------

def test_a_pass_records_nothing(world):
    verdict = enforce("advance", advance(15_000_000), institution=world.a, actor=world.clerk_a, on_date=MARCH)
    assert verdict.outcome == PASS and violations(world.a) == []


def test_a_block_raises_the_rule_code_in_the_users_language_and_is_journaled(world):
    for language, words in (("ru", "превышает установленный размер"), ("kk", "белгіленген мөлшерден асады")):
        with translation.override(language), pytest.raises(ControlError) as refused:
            enforce("advance", advance(15_000_001), institution=world.a, actor=world.clerk_a, on_date=MARCH)
        error = refused.value
        assert error.code == "FLC-PAY-002" and error.field == "amount"
        assert words in str(error.message) and "150\u00a0000,01" in str(error.message)
        assert error.as_dict()["code"] == "FLC-PAY-002"
    rows = violations(world.a)
    assert len(rows) == 2 and rows[0].attempt != rows[1].attempt
    row = rows[0]
    assert (row.rule_code, row.condition, row.severity, row.outcome, row.scope) == \
        ("FLC-PAY-002", "over_share", "block", "blocked", "advance")
    assert row.user_id == world.clerk_a.id and row.user_full_name == world.clerk_a.full_name
    assert row.on_date == MARCH and row.facts == advance(15_000_001) and row.parameters == {"advance_share_pct": 50}
    assert set(row.message) == {"kk", "ru", "en"} and "Сейітқали" in row.message["kk"]
    with translation.override("kk"):
        assert row.text == row.message["kk"]


def test_several_blocks_are_reported_at_once(world):
    facts = {"month": "2026-03", "programme": "261.003.015", "specific": "414", "plan_to_date_tiyn": 100,
             "payments_to_date_tiyn": 100, "this_tiyn": 1, "contract": "Д-1", "contract_amount_tiyn": 100,
             "contract_paid_tiyn": 100}
    with pytest.raises(ControlErrors) as refused:
        enforce("payment", facts, institution=world.a, actor=world.accountant_a, on_date=MARCH)
    assert [e.code for e in refused.value.errors] == ["FLC-FIN-002", "FLC-FIN-003"]
    assert refused.value.as_dict()["code"] == "invalid"
    rows = violations(world.a)
    assert [r.rule_code for r in rows] == ["FLC-FIN-002", "FLC-FIN-003"] and rows[0].attempt == rows[1].attempt


def test_a_warning_is_returned_and_recorded_with_the_operation(world):
    verdict = enforce("period", YEAR_START, institution=world.a, actor=world.chief_a, on_date=dt.date(2027, 1, 1))
    assert verdict.outcome == WARN and [h.code for h in verdict.warnings] == ["FLC-FIN-005"]
    (row,) = violations(world.a)
    assert row.outcome == "warned" and row.severity == "warn" and row.field == "advances"


def test_preview_records_nothing(world):
    assert preview("advance", advance(15_000_001), institution=world.a, on_date=MARCH).outcome == BLOCK
    assert violations(world.a) == []


@pytest.mark.django_db(transaction=True)
def test_a_blocked_attempt_survives_the_callers_rollback():
    from .factories import build_world

    world = build_world()
    journal_before = ActionLog.objects.count()
    with pytest.raises(ControlError):
        with transaction.atomic():
            access_services.log_action(actor=world.clerk_a, action="create", institution=world.a,
                                       object_type="advance", details="the caller's own write")
            enforce("period", YEAR_START, institution=world.a, actor=world.clerk_a, on_date=dt.date(2027, 1, 1))
            enforce("advance", advance(15_000_001), institution=world.a, actor=world.clerk_a, on_date=MARCH)
    # the caller's writes are gone, the warning with them; the refusal is on record
    assert ActionLog.objects.count() == journal_before
    rows = violations(world.a)
    assert [(r.rule_code, r.outcome) for r in rows] == [("FLC-PAY-002", "blocked")]
    assert rows[0].user_full_name == world.clerk_a.full_name


@pytest.mark.django_db(transaction=True)
def test_the_autonomous_record_does_not_wait_on_the_callers_locks():
    """The caller holds row locks and its own journal rows; the violation insert on the second
    connection must not wait for them (a wait would be a self-deadlock: the caller waits for
    the insert)."""
    from .factories import build_world

    world = build_world()
    done = threading.Event()

    def attempt():
        try:
            with transaction.atomic():
                list(User.objects.select_for_update().filter(pk=world.clerk_a.pk))
                access_services.log_action(actor=world.clerk_a, action="create", institution=world.a)
                try:
                    enforce("advance", advance(15_000_001), institution=world.a, actor=world.clerk_a,
                            on_date=MARCH)
                except ControlError:
                    done.set()
        finally:
            connection.close()

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and done.is_set()
    assert [r.rule_code for r in violations(world.a)] == ["FLC-PAY-002"]


def test_a_refusal_stands_when_it_cannot_be_recorded(world, monkeypatch, caplog):
    from rules import services

    monkeypatch.setattr(services, "_connection_params",
                        lambda: {"host": "127.0.0.1", "port": 1, "dbname": "nowhere", "user": "nobody"})
    with pytest.raises(ControlError, match="FLC-PAY-002"):
        enforce("advance", advance(15_000_001), institution=world.a, actor=world.clerk_a, on_date=MARCH)
    assert "could not be recorded" in caplog.text and "FLC-PAY-002" in caplog.text


def test_violations_are_append_only(world):
    with pytest.raises(ControlError):
        enforce("advance", advance(15_000_001), institution=world.a, actor=world.clerk_a, on_date=MARCH)
    (row,) = violations(world.a)
    for statement in ("UPDATE rules_violation SET outcome = 'warned' WHERE id = %s",
                      "DELETE FROM rules_violation WHERE id = %s", "TRUNCATE rules_violation"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [row.id] if "%s" in statement else [])
    assert Violation.objects.get(pk=row.pk).outcome == "blocked"


# -- parameters and switches -------------------------------------------------------------------------

def outcome(world, institution, this_tiyn, day) -> str:
    try:
        return enforce("advance", advance(this_tiyn, month=f"{day:%Y-%m}"), institution=institution,
                       actor=world.clerk_a, on_date=day).outcome
    except ControlError as error:
        assert error.code == "FLC-PAY-002"
        return BLOCK


def test_a_parameter_is_dated_per_institution_over_a_deployment_default(world, admin_a, root):
    april, may, june = dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 6, 1)
    set_parameter(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", name="advance_share_pct",
                  value=60, valid_from=april, valid_to=dt.date(2026, 5, 31), reason="Приказ № 12 от 20.03.2026")
    set_parameter(actor=root, institution=None, rule_code="FLC-PAY-002", name="advance_share_pct",
                  value=Decimal("40"), valid_from=may, reason="Решение по всем учреждениям")
    # A: the default 50% in March, its own 60% in April and May, the deployment's 40% from June
    assert outcome(world, world.a, 15_000_000, MARCH) == PASS
    assert outcome(world, world.a, 15_000_001, dt.date(2026, 3, 31)) == BLOCK
    assert outcome(world, world.a, 18_000_000, april) == PASS
    assert outcome(world, world.a, 18_000_001, april) == BLOCK
    assert outcome(world, world.a, 18_000_000, dt.date(2026, 5, 31)) == PASS
    assert outcome(world, world.a, 12_000_001, june) == BLOCK
    assert outcome(world, world.a, 12_000_000, june) == PASS
    # B: untouched by A's value; the deployment's from May
    assert outcome(world, world.b, 18_000_000, april) == BLOCK
    assert outcome(world, world.b, 12_000_001, may) == BLOCK
    blocked = Violation.objects.filter(institution_id=world.a.id, on_date=april).get()
    assert blocked.parameters == {"advance_share_pct": 60}
    assert ActionLog.objects.filter(object_type="rule_parameter", institution=world.a,
                                    details__contains="advance_share_pct = 60").exists()


def test_the_latest_value_set_for_a_date_wins(world, admin_a):
    for value in (55, 70):
        set_parameter(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", name="advance_share_pct",
                      value=value, valid_from=MARCH, reason="уточнение")
    assert outcome(world, world.a, 21_000_000, MARCH) == PASS
    assert outcome(world, world.a, 21_000_001, MARCH) == BLOCK
    assert RuleParameter.objects.filter(institution=world.a).count() == 2  # history is kept


def test_parameter_changes_are_recorded_by_auditlog(world, admin_a):
    from auditlog.models import LogEntry

    row = set_parameter(actor=admin_a, institution=world.a, rule_code="FLC-PAY-001", name="tolerance_tiyn",
                        value=100, valid_from=MARCH, reason="округление")
    assert LogEntry.objects.get_for_object(row).exists()


@pytest.mark.parametrize("change, code", [
    ({"reason": "  "}, "reason_required"),
    ({"rule_code": "FLC-PAY-999"}, "rule_unknown"),
    ({"name": "advance_share"}, "parameter_unknown"),
    ({"value": 101}, "parameter_invalid"),
    ({"value": -1}, "parameter_invalid"),
    ({"value": "50.5"}, "parameter_invalid"),
    ({"value": 50.0}, "parameter_invalid"),
    ({"value": "много"}, "parameter_invalid"),
    ({"valid_to": dt.date(2026, 3, 1)}, "dates_invalid"),
])
def test_a_bad_parameter_is_refused(world, admin_a, change, code):
    values = {"actor": admin_a, "institution": world.a, "rule_code": "FLC-PAY-002", "name": "advance_share_pct",
              "value": 60, "valid_from": MARCH, "reason": "приказ", **change}
    with translation.override("kk"), pytest.raises(ControlError) as refused:
        set_parameter(**values)
    assert refused.value.code == code and str(refused.value.message)
    assert not RuleParameter.objects.exists()


def test_only_an_administrator_tunes_and_only_a_superuser_for_everyone(world, admin_a):
    values = {"rule_code": "FLC-PAY-002", "name": "advance_share_pct", "value": 60, "valid_from": MARCH,
              "reason": "приказ"}
    for actor in (world.chief_a, world.accountant_a, world.clerk_a, world.auditor_a):
        with pytest.raises(PermissionRefused):
            set_parameter(actor=actor, institution=world.a, **values)
        with pytest.raises(PermissionRefused):
            switch_rule(actor=actor, institution=world.a, rule_code="FLC-PAY-002", enabled=False, reason="x")
    with pytest.raises(PermissionRefused):
        set_parameter(actor=admin_a, institution=world.b, **values)  # not B's administrator
    with pytest.raises(PermissionRefused):
        set_parameter(actor=admin_a, institution=None, **values)  # the deployment's value
    assert not RuleParameter.objects.exists() and not RuleSwitch.objects.exists()
    assert ActionLog.objects.filter(outcome="refused", object_type="rule_parameter").count() >= 5


def test_a_rule_switched_off_for_an_institution_from_a_date(world, admin_a):
    switch_rule(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", enabled=False,
                valid_from=dt.date(2026, 3, 10), reason="Коллективный договор: аванс по заявлению")
    assert outcome(world, world.a, 15_000_001, dt.date(2026, 3, 9)) == BLOCK
    assert outcome(world, world.a, 30_000_000, dt.date(2026, 3, 10)) == PASS
    assert outcome(world, world.b, 15_000_001, dt.date(2026, 3, 10)) == BLOCK
    switch_rule(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", enabled=True,
                valid_from=dt.date(2026, 3, 20), reason="Договор расторгнут")
    assert outcome(world, world.a, 15_000_001, dt.date(2026, 3, 20)) == BLOCK
    assert outcome(world, world.a, 30_000_000, dt.date(2026, 3, 15)) == PASS
    journal = ActionLog.objects.filter(object_type="rule_switch", institution=world.a).order_by("seq")
    assert [j.details.split(" from ")[0] for j in journal] == ["FLC-PAY-002 disabled", "FLC-PAY-002 enabled"]
    assert "Коллективный договор" in journal[0].details and journal[0].user_id == admin_a.id


def test_a_switch_needs_a_reason_and_database_backed_controls_stay_on(world, admin_a, root):
    with pytest.raises(ControlError) as refused:
        switch_rule(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", enabled=False, reason="")
    assert refused.value.code == "reason_required" and refused.value.field == "reason"
    for code in ("FLC-PER-001", "FLC-LED-001"):
        with pytest.raises(ControlError) as refused:
            switch_rule(actor=root, institution=None, rule_code=code, enabled=False, reason="тест")
        assert refused.value.code == "rule_not_switchable"
    assert not RuleSwitch.objects.exists()


def test_a_deployment_switch_applies_where_the_institution_has_none(world, admin_a, root):
    switch_rule(actor=root, institution=None, rule_code="FLC-PAY-002", enabled=False, valid_from=MARCH,
                reason="пилот")
    switch_rule(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", enabled=True, valid_from=MARCH,
                reason="у нас действует")
    assert outcome(world, world.a, 15_000_001, MARCH) == BLOCK
    assert outcome(world, world.b, 30_000_000, MARCH) == PASS


# -- the posting controls, fed by the builder proposed for ledger/services.py ------------------------

def check_posting(world, entry, institution=None, actor=None):
    institution = institution or world.a
    ref = reference.snapshot()
    with transaction.atomic():
        periods, balances = lock_periods_and_cash(institution, [entry], ref)
        facts = posting_facts(entry, ref, periods.get((entry.date.year, entry.date.month)), balances)
        return enforce("posting", facts, institution=institution, actor=actor or world.accountant_a,
                       on_date=entry.date)


def refused_codes(world, entry, **kwargs) -> list[tuple[str, str]]:
    try:
        check_posting(world, entry, **kwargs)
    except ControlErrors as errors:
        return [(e.code, e.field) for e in errors.errors]
    except ControlError as error:
        return [(error.code, error.field)]
    return []


def fund_cash(world, amount: str) -> None:
    post_entry(institution=world.a, actor=world.accountant_a,
               draft=draft(dt.date(2026, 2, 2), line("1010", "D", amount), line("6010", "C", amount)))


def test_posting_controls_pass_a_good_entry(world):
    fund_cash(world, "1000.00")
    entry = draft(MARCH, line("7060", "D", "999.99", "414"), line("1010", "C", "999.99", "414"))
    assert check_posting(world, entry).outcome == PASS


def test_cash_may_go_to_zero_but_not_below(world):
    fund_cash(world, "1000.00")
    assert check_posting(world, draft(MARCH, line("7060", "D", "1000.00"), line("1010", "C", "1000.00"))).outcome \
        == PASS
    assert refused_codes(world, draft(MARCH, line("7060", "D", "1000.01"), line("1010", "C", "1000.01"))) == \
        [("FLC-LED-004", "lines[1].amount")]
    # money coming in is never refused, and a line paid back within the entry nets out
    assert check_posting(world, draft(MARCH, line("1010", "D", "5000.00"), line("6010", "C", "5000.00"))).outcome \
        == PASS
    assert check_posting(world, draft(MARCH, line("7060", "D", "2000.00"), line("1010", "C", "2000.00"),
                                      line("1010", "D", "1500.00"), line("6010", "C", "1500.00"))).outcome == PASS


def test_account_specific_correspondence_from_the_dated_table(world):
    AccountSpecific.objects.create(account=world.accounts["7010"], specific=world.specifics["111"],
                                   valid_from=REF_FROM)
    AccountSpecific.objects.create(account=world.accounts["7010"], specific=world.specifics["141"],
                                   valid_from=REF_FROM, valid_to=dt.date(2026, 2, 28))
    reference.invalidate()
    fund_cash(world, "100.00")

    def entry(specific, day=MARCH):
        return draft(day, line("7010", "D", "10.00", specific), line("1010", "C", "10.00", specific))

    assert refused_codes(world, entry("111")) == []
    assert refused_codes(world, entry("414")) == [("FLC-LED-002", "lines[0].specific")]
    assert refused_codes(world, entry("141")) == [("FLC-LED-002", "lines[0].specific")]  # ended in February
    assert refused_codes(world, entry("141", dt.date(2026, 2, 10))) == []
    # 7060 has no rows in the table: unrestricted
    assert refused_codes(world, draft(MARCH, line("7060", "D", "10.00", "414"), line("1010", "C", "10.00"))) == []


def test_classification_codes_valid_on_the_date(world):
    fund_cash(world, "100.00")
    world.specifics["414"].valid_to = dt.date(2026, 2, 28)
    world.specifics["414"].save()
    reference.invalidate()
    entry = draft(MARCH, line("7060", "D", "10.00", "414"), line("1010", "C", "10.00", "111", programme="999"))
    assert refused_codes(world, entry) == [("FLC-LED-003", "lines[0].specific"),
                                           ("FLC-LED-003", "lines[1].programme")]


def test_closed_and_approved_periods(world):
    fund_cash(world, "100.00")
    close_period(period=world.period(world.a, 3), actor=world.chief_a)
    entry = draft(MARCH, line("7060", "D", "10.00"), line("1010", "C", "10.00"))
    with translation.override("kk"):
        try:
            check_posting(world, entry)
        except ControlError as error:
            assert error.code == "FLC-PER-001" and error.field == "date" and "жабық" in str(error.message)
        else:
            pytest.fail("posting into a closed period passed")
    assert world.period(world.a, 3).status == PeriodStatus.CLOSED
    assert refused_codes(world, draft(dt.date(2031, 1, 5), line("7060", "D", "1.00"), line("6010", "C", "1.00"))) \
        == [("FLC-PER-001", "date")]


@pytest.mark.django_db(transaction=True)
def test_two_payments_out_of_one_cash_account_queue_on_the_lock():
    """The second payment waits for the first's lock, then reads the balance the first left:
    100 in the account, two payments of 80: one passes, one is refused. Without the lock
    both would read 100 and both pass."""
    world = build_world(cash_control=True)
    fund_cash(world, "100.00")
    first_locked, outcomes = threading.Event(), {}

    def pay(name: str, hold_seconds: float):
        try:
            ref = reference.snapshot()
            entry = draft(MARCH, line("7060", "D", "80.00"), line("1010", "C", "80.00"), doc_number=name)
            with transaction.atomic():
                periods, balances = lock_periods_and_cash(world.a, [entry], ref)
                first_locked.set()
                time.sleep(hold_seconds)
                facts = posting_facts(entry, ref, periods.get((2026, 3)), balances)
                enforce("posting", facts, institution=world.a, actor=world.accountant_a, on_date=MARCH)
                post_entry(institution=world.a, actor=world.accountant_a, draft=entry)
            outcomes[name] = "posted"
        except ControlError as error:
            outcomes[name] = error.code
        finally:
            connection.close()

    first = threading.Thread(target=pay, args=("first", 0.5), daemon=True)
    first.start()
    assert first_locked.wait(10)
    second = threading.Thread(target=pay, args=("second", 0), daemon=True)
    second.start()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    assert outcomes == {"first": "posted", "second": "FLC-LED-004"}


# -- API ---------------------------------------------------------------------------------------------

def client_for(user, institution=None, language="ru") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    if institution is not None:
        client.defaults["HTTP_X_INSTITUTION"] = str(institution.id)
    return client


API = "/api/v1/rules"


@pytest.mark.urls(__name__)
def test_catalogue_shows_each_rule_with_what_is_in_force(world, admin_a):
    set_parameter(actor=admin_a, institution=world.a, rule_code="FLC-PAY-002", name="advance_share_pct",
                  value=60, valid_from=dt.date(2026, 4, 1), reason="приказ")
    switch_rule(actor=admin_a, institution=world.a, rule_code="FLC-PAY-001", enabled=False, valid_from=MARCH,
                reason="ФОТ ещё не утверждён")
    clerk = client_for(world.clerk_a, world.a, "kk")  # any role in the institution reads it
    response = clerk.get(f"{API}/catalogue/", {"date": "2026-03-31"})
    assert response.status_code == 200, response.content
    rules = {r["code"]: r for r in response.json()}
    assert len(rules) == 13
    pay2 = rules["FLC-PAY-002"]
    assert pay2["title"] == pay2["titles"]["kk"] and pay2["severity"] == "block" and pay2["scope"] == "advance"
    assert pay2["parameters"][0]["value"] == 50 and pay2["parameters"][0]["source"] == "default"
    assert rules["FLC-PAY-001"]["enabled"] is False and rules["FLC-PAY-001"]["switch"]["reason"] == \
        "ФОТ ещё не утверждён"
    assert rules["FLC-PER-001"]["switchable"] is False
    april = clerk.get(f"{API}/catalogue/FLC-PAY-002/", {"date": "2026-04-01"}).json()
    assert april["parameters"][0]["value"] == 60 and april["parameters"][0]["source"] == "institution"
    assert april["parameters"][0]["valid_from"] == "2026-04-01"
    # B's administrator sees B's values
    assert client_for(world.accountant_b, world.b).get(f"{API}/catalogue/FLC-PAY-002/", {"date": "2026-04-01"}) \
        .json()["parameters"][0]["value"] == 50
    assert clerk.get(f"{API}/catalogue/FLC-XXX-001/").status_code == 404
    assert clerk.get(f"{API}/catalogue/", {"date": "31.03.2026"}).status_code == 400
    assert APIClient().get(f"{API}/catalogue/").status_code in (401, 403)


@pytest.mark.urls(__name__)
def test_switch_and_parameter_through_the_api(world, admin_a):
    admin = client_for(admin_a, world.a)
    response = admin.post(f"{API}/switches/", {"rule": "FLC-PAY-002", "enabled": False, "valid_from": "2026-03-10",
                                               "reason": "Коллективный договор"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["institution"] == world.a.id and response.json()["actor"] == admin_a.id
    assert admin.post(f"{API}/switches/", {"rule": "FLC-PAY-002", "enabled": True}, format="json").status_code == 400
    refused = admin.post(f"{API}/switches/", {"rule": "FLC-PER-001", "enabled": False, "reason": "x"}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "rule_not_switchable"
    assert client_for(world.chief_a, world.a).post(
        f"{API}/switches/", {"rule": "FLC-PAY-002", "enabled": False, "reason": "x"}, format="json").status_code == 403
    listed = client_for(world.clerk_a, world.a).get(f"{API}/switches/").json()["results"]
    assert [(s["rule"], s["enabled"]) for s in listed] == [("FLC-PAY-002", False)]
    assert client_for(world.accountant_b, world.b).get(f"{API}/switches/").json()["results"] == []

    response = admin.post(f"{API}/parameters/", {"rule": "FLC-PAY-002", "name": "advance_share_pct", "value": 60,
                                                 "valid_from": "2026-04-01", "reason": "Приказ № 12"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["value"] == 60
    bad = admin.post(f"{API}/parameters/", {"rule": "FLC-PAY-002", "name": "advance_share_pct", "value": 120,
                                            "valid_from": "2026-04-01", "reason": "x"}, format="json",
                     HTTP_ACCEPT_LANGUAGE="kk")
    assert bad.status_code == 422 and bad.json()["code"] == "parameter_invalid" and bad.json()["field"] == "value"
    assert "бүтін сан" in bad.json()["message"]
    rows = client_for(world.chief_a, world.a).get(f"{API}/parameters/").json()["results"]
    assert [(r["rule"], r["name"], r["value"]) for r in rows] == [("FLC-PAY-002", "advance_share_pct", 60)]
    assert client_for(world.accountant_b, world.b).get(f"{API}/parameters/").json()["results"] == []
    assert ActionLog.objects.filter(institution=world.a, object_type__in=["rule_switch", "rule_parameter"],
                                    outcome="success").count() == 2


@pytest.mark.urls(__name__)
def test_violation_journal_for_chief_accountant_and_auditor_only(world):
    for amount in (15_000_001, 20_000_000):
        with pytest.raises(ControlError):
            enforce("advance", advance(amount), institution=world.a, actor=world.clerk_a, on_date=MARCH)
    enforce("period", YEAR_START, institution=world.a, actor=world.chief_a, on_date=dt.date(2027, 1, 1))
    with pytest.raises(ControlError):
        enforce("advance", advance(20_000_000), institution=world.b, actor=world.accountant_b, on_date=MARCH)

    for user in (world.chief_a, world.auditor_a):
        body = client_for(user, world.a, "kk").get(f"{API}/violations/").json()
        assert body["count"] == 3
        newest = body["results"][0]
        assert newest["rule"] == "FLC-FIN-005" and newest["outcome"] == "warned"
        assert newest["text"] == newest["message"]["kk"]
    for user in (world.accountant_a, world.clerk_a):
        assert client_for(user, world.a).get(f"{API}/violations/").status_code == 403
    chief = client_for(world.chief_a, world.a)
    assert chief.get(f"{API}/violations/", {"rule": "FLC-PAY-002"}).json()["count"] == 2
    assert chief.get(f"{API}/violations/", {"outcome": "warned"}).json()["count"] == 1
    assert chief.get(f"{API}/violations/", {"user": world.clerk_a.id}).json()["count"] == 2
    today = dt.date.today().isoformat()
    assert chief.get(f"{API}/violations/", {"date_from": today, "date_to": today}).json()["count"] == 3
    assert chief.get(f"{API}/violations/", {"date_to": "2020-01-01"}).json()["count"] == 0
    b_row = Violation.objects.get(institution_id=world.b.id)
    assert chief.get(f"{API}/violations/{b_row.id}/").status_code == 404
    a_row = Violation.objects.filter(institution_id=world.a.id).first()
    assert chief.get(f"{API}/violations/{a_row.id}/").json()["facts"] == a_row.facts
