"""The ФЛК pages (Django test client, real PostgreSQL): the catalogue with what is in force for
the institution, a control's page with its history and the administrator's forms (through
rules.services), the violation journal for the chief accountant and the auditor, scoped to
the institution."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from access import services as access_services
from access.errors import ControlError
from access.models import ActionLog
from access.roles import Role
from ledger import services as ledger_services
from rules import engine, parameters
from rules.models import RuleParameter, RuleSwitch, Violation

from .factories import YEAR, make_iin, pair

DAY = dt.date(YEAR, 11, 20)


@pytest.fixture(autouse=True)
def _fresh_rule_settings():
    """Parameters and switches are cached per process; a rolled-back test's rows must not leak."""
    parameters.invalidate()
    yield
    parameters.invalidate()


@pytest.fixture
def admin_a(world):
    user = access_services.create_user(actor=None, username="admin_a", password="correct-horse-battery",
                                       last_name="Әкімшіов", first_name="Тест", iin=make_iin("850101", "6"))
    access_services.grant_role(actor=None, user=user, institution=world.a, role=Role.ADMINISTRATOR)
    return user


def login(client, user, language: str | None = None):
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def switch(client, code: str, **fields):
    data = {"form": "switch", "switch-enabled": "1", "switch-valid_from": DAY.isoformat(), "switch-reason": ""}
    data.update({f"switch-{k}": v for k, v in fields.items()})
    return client.post(reverse("rule_detail", args=[code]), data)


def led_004_on(world, day=DAY) -> bool:
    return parameters.switch(engine.default().catalogue.get("FLC-LED-004"), world.a.id, day).enabled


def closed_period_attempt(institution, actor, amount: str) -> None:
    """An entry into a closed November: refused by FLC-PER-001, recorded as a Violation."""
    with pytest.raises(ControlError) as refused:
        ledger_services.post_entry(institution=institution, actor=actor, draft=pair(DAY, amount))
    assert refused.value.code == "FLC-PER-001"


def test_pages_render_for_the_chief_accountant(client, world):
    login(client, world.chief_a)
    for url in (reverse("rule_catalogue"), reverse("rule_detail", args=["FLC-LED-004"]),
                reverse("rule_detail", args=["FLC-PAY-002"]), reverse("rule_violations")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'name="form"' not in response.content.decode()  # no switch or parameter form
    assert client.get(reverse("rule_detail", args=["FLC-XXX-999"])).status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert reverse("rule_catalogue") in home and reverse("rule_violations") in home


def test_catalogue_shows_every_control_and_the_led_004_switch_off(client, world):
    login(client, world.chief_a, "ru")
    page = client.get(reverse("rule_catalogue"), {"date": DAY.isoformat()})
    text = page.content.decode()
    for rule in engine.default().catalogue.rules:
        assert rule.code in text and rule.title["ru"] in text
    row = text[text.index('<tr id="FLC-LED-004">'):]
    row = row[:row.index("</tr>")]
    assert "выкл" in row and "tests pay out of unfunded cash" in row
    pay = text[text.index('<tr id="FLC-PAY-002">'):]
    assert "advance_share_pct" in pay[:pay.index("</tr>")]
    kk = login(client, world.chief_a, "kk").get(reverse("rule_catalogue")).content.decode()
    assert engine.default().catalogue.get("FLC-LED-004").title["kk"] in kk


def test_administrator_switches_a_control_and_it_takes_effect(client, world, admin_a):
    assert not led_004_on(world)
    login(client, admin_a, "ru")
    detail = client.get(reverse("rule_detail", args=["FLC-LED-004"])).content.decode()
    assert 'id="switch-form"' in detail
    response = switch(client, "FLC-LED-004", enabled="1", reason="Касса проверена")
    assert response.status_code == 302
    row = RuleSwitch.objects.get(institution=world.a, rule_code="FLC-LED-004", enabled=True)
    assert row.reason == "Касса проверена" and row.actor == admin_a and row.valid_from == DAY
    assert ActionLog.objects.filter(user=admin_a, object_type="rule_switch", object_id=str(row.pk)).exists()
    assert led_004_on(world) and not led_004_on(world, DAY - dt.timedelta(days=1))
    # A payment out of unfunded cash on that day is now blocked by FLC-LED-004.
    with pytest.raises(ControlError) as refused:
        ledger_services.post_entry(institution=world.a, actor=world.chief_a, draft=pair(DAY, "5.00"))
    assert refused.value.code == "FLC-LED-004"
    page = client.get(response["Location"]).content.decode()
    assert "Касса проверена" in page and "FLC-LED-004" in page
    # B keeps its own switch.
    assert not parameters.switch(engine.default().catalogue.get("FLC-LED-004"), world.b.id, DAY).enabled


def test_a_switch_without_a_reason_is_refused_in_the_users_language(client, world, admin_a):
    before = RuleSwitch.objects.count()
    ru = switch(login(client, admin_a, "ru"), "FLC-LED-004", reason="  ")
    kk = switch(login(client, admin_a, "kk"), "FLC-LED-004", reason="")
    assert ru.status_code == kk.status_code == 422
    assert "Укажите причину." in ru.content.decode()
    assert "Себебін көрсетіңіз." in kk.content.decode()
    assert RuleSwitch.objects.count() == before and not led_004_on(world)


def test_a_database_backed_control_cannot_be_switched_off(client, world, admin_a):
    login(client, admin_a, "ru")
    page = client.get(reverse("rule_detail", args=["FLC-PER-001"])).content.decode()
    assert 'id="switch-form"' not in page and "нельзя отключить" in page
    response = switch(client, "FLC-PER-001", enabled="0", reason="попытка")
    assert response.status_code == 422
    assert not RuleSwitch.objects.filter(rule_code="FLC-PER-001").exists()


def test_administrator_sets_a_parameter(client, world, admin_a):
    rule = engine.default().catalogue.get("FLC-PAY-002")
    login(client, admin_a, "ru")
    url = reverse("rule_detail", args=["FLC-PAY-002"])
    data = {"form": "parameter", "parameter-name": "advance_share_pct", "parameter-value": "40",
            "parameter-valid_from": DAY.isoformat(), "parameter-valid_to": "", "parameter-reason": "Приказ № 12"}
    assert client.post(url, data).status_code == 302
    effective = parameters.parameter(rule, "advance_share_pct", world.a.id, DAY)
    assert (effective.value, effective.source) == (40, parameters.INSTITUTION)
    assert "Приказ № 12" in client.get(url).content.decode()
    out_of_range = client.post(url, {**data, "parameter-value": "1000"})
    assert out_of_range.status_code == 422 and "целым числом" in out_of_range.content.decode()
    assert RuleParameter.objects.filter(institution=world.a).count() == 1


def test_auditor_sees_the_journal_without_forms_and_cannot_post(client, world):
    login(client, world.auditor_a)
    assert client.get(reverse("rule_violations")).status_code == 200
    page = client.get(reverse("rule_detail", args=["FLC-LED-004"]))
    assert page.status_code == 200 and 'name="form"' not in page.content.decode()
    switches, values = RuleSwitch.objects.count(), RuleParameter.objects.count()
    assert switch(client, "FLC-LED-004", reason="аудитор").status_code == 403
    assert client.post(reverse("rule_detail", args=["FLC-PAY-002"]), {
        "form": "parameter", "parameter-name": "advance_share_pct", "parameter-value": "40",
        "parameter-valid_from": DAY.isoformat(), "parameter-reason": "аудитор"}).status_code == 403
    assert (RuleSwitch.objects.count(), RuleParameter.objects.count()) == (switches, values)
    assert not led_004_on(world)
    # Refused by the read-only gate before the view (access/gate.py) or by the view itself.
    assert ActionLog.objects.filter(user=world.auditor_a, outcome="refused",
                                    object_type__in=("rule_switch", "read_only")).exists()


def test_who_may_see_what(client, world):
    login(client, world.accountant_a)
    assert client.get(reverse("rule_catalogue")).status_code == 200
    assert client.get(reverse("rule_violations")).status_code == 403
    assert reverse("rule_violations") not in client.get(reverse("rule_catalogue")).content.decode()


def test_a_refused_posting_appears_in_the_violation_journal_of_its_institution_only(client, world):
    access_services.grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.CHIEF_ACCOUNTANT)
    for institution in (world.a, world.b):
        ledger_services.close_period(period=world.period(institution, 11), actor=world.chief_a)
    closed_period_attempt(world.a, world.accountant_a, "111.11")
    closed_period_attempt(world.b, world.accountant_b, "999.99")
    assert Violation.objects.filter(institution_id=world.b.id, rule_code="FLC-PER-001").exists()

    login(client, world.chief_a, "ru")
    client.post(reverse("switch_institution"), {"institution": world.a.pk})
    page = client.get(reverse("rule_violations"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "FLC-PER-001" in text and world.accountant_a.full_name in text and "debit_tiyn&quot;: 11111" in text
    assert "Запись в закрытый или утверждённый период" in text and "закрыт" in text and "<details" in text
    assert "99999" not in text and world.accountant_b.full_name not in text
    assert ActionLog.objects.filter(user=world.chief_a, action="view", object_type="violations").exists()
    url = reverse("rule_violations")
    found = client.get(url, {"rule": "FLC-PER-001", "outcome": "blocked", "date_from": "2000-01-01",
                             "full_name": world.accountant_a.last_name}).content.decode()
    assert "11111" in found
    for other in ({"rule": "FLC-LED-002"}, {"outcome": "warned"}, {"full_name": "Никто"}, {"date_to": "2000-01-01"}):
        assert "11111" not in client.get(url, other).content.decode(), other
    # The same journal in B shows B's attempt only.
    client.post(reverse("switch_institution"), {"institution": world.b.pk})
    in_b = client.get(url).content.decode()
    assert "99999" in in_b and "11111" not in in_b
    kk = login(client, world.auditor_a, "kk").get(url).content.decode()
    assert "11111" in kk and "жабық" in kk and "99999" not in kk and 'name="form"' not in kk
