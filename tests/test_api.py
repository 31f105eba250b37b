"""The REST API against a real database: posting, refusals as 422 in the user's language,
corrections, periods, tenant isolation and authentication of every endpoint."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access.models import ActionLog
from ledger.models import CorrectionLog, JournalEntry, Period, Turnover
from ledger.services import post_entry

from .factories import make_counterparty, pair, run_commit_checks

MARCH = dt.date(2026, 3, 5)


def line_json(account, side, amount, specific="111", **extra):
    return {"account": account, "side": side, "amount": str(amount), "specific": specific, "administrator": "261",
            "programme": "003", "subprogramme": "015", "funding_source": "budget_local", **extra}


def entry_json(amount="1500.25", **extra):
    return {"date": "2026-03-05", "doc_type": "МО", "doc_number": "API-1", "description": "Закуп канцтоваров",
            "lines": [line_json("7060", "D", amount), line_json("1010", "C", amount)], **extra}


def client_for(user, institution=None, language="ru") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    if institution is not None:
        client.defaults["HTTP_X_INSTITUTION"] = str(institution.id)
    return client


@pytest.fixture
def chief(world):
    return client_for(world.chief_a, world.a)


def test_post_entry_and_read_it_back(world, chief):
    response = chief.post("/api/v1/entries/", entry_json(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [p["amount"] for p in body["postings"]] == ["1500.25", "1500.25"]
    entry = JournalEntry.objects.get(pk=body["id"])
    assert entry.institution_id == world.a.id and entry.author_id == world.chief_a.id
    run_commit_checks()
    detail = chief.get(f"/api/v1/entries/{entry.id}/").json()
    assert detail["seq"] == 1 and len(detail["hash"]) == 64
    assert ActionLog.objects.filter(action="post", object_id=str(entry.id), user=world.chief_a).exists()


@pytest.mark.parametrize("language, words", [("ru", "Дебет"), ("kk", "Дебет")])
def test_unbalanced_entry_is_422_with_code_and_nothing_written(world, chief, language, words):
    payload = entry_json()
    payload["lines"][1]["amount"] = "1500.24"
    client = client_for(world.chief_a, world.a, language)
    response = client.post("/api/v1/entries/", payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "FLC-LED-001"
    assert response.json()["field"] == "lines"
    assert JournalEntry.objects.count() == 0


def test_control_message_follows_the_users_language(world):
    payload = entry_json()
    payload["lines"][0]["account"] = "9999"
    ru = client_for(world.chief_a, world.a, "ru").post("/api/v1/entries/", payload, format="json").json()
    kk = client_for(world.chief_a, world.a, "kk").post("/api/v1/entries/", payload, format="json").json()
    assert ru["code"] == kk["code"] == "account_unknown"
    assert ru["field"] == "lines[0].account"
    assert ru["message"] != kk["message"], "kk and ru must both be translated"
    assert "9999" in ru["message"] and "9999" in kk["message"]


def test_post_into_closed_period_is_422(world, chief):
    from ledger.services import close_period

    close_period(period=world.period(world.a, 3), actor=world.chief_a)
    response = chief.post("/api/v1/entries/", entry_json(), format="json")
    assert response.status_code == 422 and response.json()["code"] == "FLC-PER-001"


def test_malformed_input_is_400_naming_the_field(chief):
    payload = entry_json()
    payload["lines"][0]["amount"] = "12.345"
    response = chief.post("/api/v1/entries/", payload, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()["lines"]["0"]


def test_batch_is_all_or_nothing(world, chief):
    good = entry_json()
    bad = entry_json(doc_number="API-2")
    bad["lines"][0]["specific"] = "999"
    response = chief.post("/api/v1/entries/batch/", {"entries": [good, bad]}, format="json")
    assert response.status_code == 422
    assert JournalEntry.objects.count() == 0
    response = chief.post("/api/v1/entries/batch/", {"entries": [good, entry_json(doc_number="API-2")]},
                          format="json")
    assert response.status_code == 201 and response.json()["posted"] == 2
    assert JournalEntry.objects.filter(institution=world.a).count() == 2


def test_correct_through_api(world, chief):
    created = chief.post("/api/v1/entries/", entry_json(), format="json").json()
    response = chief.post(
        f"/api/v1/entries/{created['id']}/correct/",
        {"reason": "Неверная сумма", "date": "2026-03-20",
         "lines": [line_json("7060", "D", "1400.00"), line_json("1010", "C", "1400.00")]},
        format="json",
    )
    assert response.status_code == 201, response.content
    log = CorrectionLog.objects.get(original_id=created["id"])
    assert log.reason == "Неверная сумма" and log.actor == world.chief_a
    assert log.original_data["postings"][0]["amount"] == "1500.25"
    account = world.accounts["7060"]
    debit = sum(t.debit for t in Turnover.objects.filter(institution=world.a, account=account))
    assert debit == Decimal("1400.00")
    listed = chief.get("/api/v1/corrections/").json()["results"]
    assert [c["original"] for c in listed] == [created["id"]]
    again = chief.post(f"/api/v1/entries/{created['id']}/correct/", {"reason": "ещё раз"}, format="json")
    assert again.status_code == 422 and again.json()["code"] == "already_corrected"


def test_trial_balance_endpoint(world, chief):
    chief.post("/api/v1/entries/", entry_json(amount="100.10"), format="json")
    body = chief.get("/api/v1/trial-balance/", {"date_from": "2026-03-01", "date_to": "2026-03-31"}).json()
    rows = {r["account"]: r for r in body["rows"]}
    assert rows["7060"]["debit"] == "100.10" and rows["1010"]["credit"] == "100.10"
    assert body["totals"]["debit"] == body["totals"]["credit"] == "100.10"
    bad = chief.get("/api/v1/trial-balance/", {"date_from": "2026-13-01"})
    assert bad.status_code == 400 and "date_from" in bad.json()
    assert ActionLog.objects.filter(action="view", object_type="trial_balance").exists()


def test_roles(world):
    auditor = client_for(world.auditor_a, world.a)
    assert auditor.get("/api/v1/entries/").status_code == 200
    assert auditor.post("/api/v1/entries/", entry_json(), format="json").status_code == 403
    clerk = client_for(world.clerk_a, world.a)
    assert clerk.get("/api/v1/entries/").status_code == 403
    assert clerk.post("/api/v1/entries/", entry_json(), format="json").status_code == 403
    accountant = client_for(world.accountant_a, world.a)
    period = world.period(world.a, 3)
    response = accountant.post(f"/api/v1/periods/{period.id}/close/")
    assert response.status_code == 403
    assert Period.objects.get(pk=period.pk).status == "open"
    assert JournalEntry.objects.count() == 0
    assert ActionLog.objects.filter(outcome="refused", user=world.auditor_a).exists()


def test_period_workflow(world, chief):
    period = world.period(world.a, 4)
    assert chief.post(f"/api/v1/periods/{period.id}/close/").json()["status"] == "closed"
    response = chief.post(f"/api/v1/periods/{period.id}/reopen/", {"reason": ""}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "reason_required"
    assert chief.post(f"/api/v1/periods/{period.id}/approve/").json()["status"] == "approved"
    response = chief.post(f"/api/v1/periods/{period.id}/reopen/", {"reason": "ошибка"}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "period_approved"


def _b_objects(world):
    """One object of institution B behind every object endpoint."""
    entry = post_entry(institution=world.b, actor=world.accountant_b, draft=pair(MARCH, "10.00"))
    counterparty = make_counterparty(world.b, "ТОО Б", "77")
    from access.roles import Role
    from access.services import grant_role
    from ledger.services import correct_entry

    grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.CHIEF_ACCOUNTANT)
    log = correct_entry(entry=entry, actor=world.chief_a, reason="x", date=MARCH)
    world.chief_a.memberships.filter(institution=world.b).delete()
    return {
        "entries": entry.id, "counterparties": counterparty.id, "periods": world.period(world.b, 3).id,
        "corrections": log.id, "journal": None, "institutions": world.b.id,
    }


def test_every_object_endpoint_of_another_institution_is_404(world, chief):
    objects = _b_objects(world)
    detail_routes = sorted({
        p.pattern.regex.pattern.split("/")[0].lstrip("^")
        for p in get_resolver("esep.api_urls").url_patterns[1].url_patterns
        if isinstance(p, URLPattern) and "(?P<pk>" in p.pattern.regex.pattern
    } | {
        p.pattern.regex.pattern.split("/")[0].lstrip("^")
        for p in get_resolver("esep.api_urls").url_patterns[0].url_patterns
        if isinstance(p, URLPattern) and "(?P<pk>" in p.pattern.regex.pattern
    })
    tenant_routes = [r for r in detail_routes if r in objects and objects[r] is not None]
    assert {"entries", "counterparties", "periods", "corrections", "institutions"} <= set(tenant_routes)
    for route in tenant_routes:
        response = chief.get(f"/api/v1/{route}/{objects[route]}/")
        assert response.status_code == 404, (route, response.status_code)
    for action in ("correct",):
        response = chief.post(f"/api/v1/entries/{objects['entries']}/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 404
    for action in ("close", "approve"):
        assert chief.post(f"/api/v1/periods/{objects['periods']}/{action}/").status_code == 404
    # and B's data never shows in A's lists
    assert chief.get("/api/v1/entries/").json()["count"] == 0
    assert chief.get("/api/v1/search/", {"q": "T"}).json() == []
    assert chief.get("/api/v1/counterparties/").json()["count"] == 0


def test_header_cannot_select_an_institution_the_user_does_not_belong_to(world):
    client = client_for(world.chief_a, world.b)  # asks for B, is not a member
    response = client.post("/api/v1/entries/", entry_json(), format="json")
    assert response.status_code == 201
    assert JournalEntry.objects.get().institution_id == world.a.id  # falls back to the user's own


def _all_api_paths():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return sorted({path for path in walk(get_resolver().url_patterns) if path.startswith("api/v1/")})


@pytest.mark.django_db
def test_every_api_endpoint_requires_authentication():
    paths = _all_api_paths()
    assert len(paths) > 10
    client = APIClient()
    checked = 0
    for path in paths:
        if "docs" in path or "schema" in path:
            continue
        url = "/" + path.replace("<pk>", "1").replace("^", "").replace("$", "")
        url = url.replace("(?P<pk>[^/.]+)", "1").replace("\\.(?P<format>[a-z0-9]+)/?", ".json")
        if "(?P" in url:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in (401, 403, 405), (method, url, response.status_code)
            checked += 1
    assert checked > 20


def test_openapi_schema_and_docs_served_locally(world, chief):
    schema = chief.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/entries/" in schema.content
    docs = chief.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower() and "https://" not in html
