"""Auditor access (R17, order No. 270): request with the form's columns, administrator's approval,
scope by jurisdiction, read-only on pages and API, one calendar year at most, expiry by itself,
every page and API answer the auditor reads in the action journal."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from access import services
from access.errors import ControlErrors, PermissionRefused
from access.middleware import institutions_of
from access.models import ActionLog, AuditorGrant, GrantStatus, User

from .access_support import GRANT_FIELDS, api_client, approved_grant, make_admin, make_tree, page_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    return make_admin(world)


@pytest.fixture
def tree(world):
    return make_tree(world)


def fresh(user):
    return User.objects.get(pk=user.pk)


def test_request_keeps_the_columns_of_the_form_and_approval_creates_the_account(world, admin, tree):
    grant = services.request_auditor_grant(actor=admin, scope_kind="region", scope_region="Астана",
                                           valid_from=dt.date(2026, 3, 1), **GRANT_FIELDS)
    assert grant.status == GrantStatus.REQUESTED and grant.user is None
    assert grant.valid_until == dt.date(2027, 2, 28)  # one calendar year by default
    for name, value in GRANT_FIELDS.items():
        assert getattr(grant, name) == value
    services.approve_auditor_grant(grant=grant, actor=admin, note="өтініш № 12")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.APPROVED and grant.decided_by == admin
    auditor = grant.user
    assert (auditor.iin, auditor.email, auditor.last_name) == (GRANT_FIELDS["iin"], GRANT_FIELDS["email"], "Тексеров")
    assert not auditor.has_usable_password()
    details = list(ActionLog.objects.filter(object_type="auditor_grant").values_list("action", flat=True))
    assert sorted(details) == ["approve", "create"]


def test_every_problem_of_a_request_is_reported_and_nothing_saved(world, admin):
    with pytest.raises(ControlErrors) as refused:
        services.request_auditor_grant(actor=admin, scope_kind="subtree", valid_from=dt.date(2026, 1, 10),
                                       valid_until=dt.date(2027, 1, 10),
                                       **{**GRANT_FIELDS, "iin": "123456789012", "email": "not-an-email"})
    fields = {e.field for e in refused.value.errors}
    assert {"valid_until", "scope_institution", "iin", "email"} <= fields
    assert AuditorGrant.objects.count() == 0


def test_the_database_refuses_a_grant_longer_than_a_calendar_year(world, admin):
    with pytest.raises(IntegrityError, match="grant_at_most_one_year"), transaction.atomic():
        AuditorGrant.objects.create(scope_kind="region", scope_region="Астана", valid_from=dt.date(2026, 1, 1),
                                    valid_until=dt.date(2027, 1, 1), requested_by=admin, **GRANT_FIELDS)
    AuditorGrant.objects.create(scope_kind="region", scope_region="Астана", valid_from=dt.date(2026, 1, 1),
                                valid_until=dt.date(2026, 12, 31), requested_by=admin, **GRANT_FIELDS)


def test_only_an_administrator_may_request_or_approve(world, admin):
    with pytest.raises(PermissionRefused):
        services.request_auditor_grant(actor=world.chief_a, scope_kind="region", scope_region="Астана",
                                       valid_from=dt.date(2026, 3, 1), **GRANT_FIELDS)
    grant = services.request_auditor_grant(actor=admin, scope_kind="region", scope_region="Астана",
                                           valid_from=dt.date(2026, 3, 1), **GRANT_FIELDS)
    with pytest.raises(PermissionRefused):
        services.approve_auditor_grant(grant=grant, actor=world.auditor_a)
    assert ActionLog.objects.filter(outcome="refused", object_type="auditor_grant").count() == 2


@pytest.mark.parametrize("scope_kind, scope, expected", [
    ("subtree", "top", {"Управление", "Школа 2", "Школа 3"}),
    ("subtree", "child", {"Школа 2"}),
    ("region", {"scope_region": "Алматы"}, {"Учреждение А", "Учреждение Б"}),
    ("administrator_code", {"scope_administrator_code": "462"}, {"Управление", "Школа 2", "Школа 3"}),
])
def test_scope_by_jurisdiction(world, admin, tree, scope_kind, scope, expected):
    top, child, _other = tree
    if scope == "top":
        scope = {"scope_institution": top}
    elif scope == "child":
        scope = {"scope_institution": child}
    grant = approved_grant(admin, scope_kind=scope_kind, **scope)
    auditor = fresh(grant.user)
    assert {i.name_ru for i in institutions_of(auditor)} == expected
    # the same through the API: the institutions the auditor may choose with X-Institution
    listed = api_client(auditor).get("/api/v1/institutions/").json()
    names = {row["name_ru"] for row in (listed["results"] if isinstance(listed, dict) else listed)}
    assert names == expected


def test_auditor_switches_among_institutions_in_scope_and_reads_read_only(world, admin, tree):
    top, child, other = tree
    auditor = fresh(approved_grant(admin).user)
    client = page_client(auditor)
    response = client.post(reverse("switch_institution"), {"institution": child.pk})
    assert response.status_code == 302
    page = client.get(reverse("journal"))
    assert page.status_code == 200 and page.context["current_institution"] == child
    assert "read_only" in page.context and page.context["read_only"]
    # outside the scope: refused
    assert client.post(reverse("switch_institution"), {"institution": world.a.pk}).status_code == 403


def test_auditor_cannot_write_on_pages_nor_through_the_api(world, admin, tree):
    top, child, other = tree
    auditor = fresh(approved_grant(admin).user)
    client = page_client(auditor)
    before = ActionLog.objects.filter(outcome="refused", object_type="read_only").count()
    for url in (reverse("entry_new"), reverse("periods_open_year"), reverse("counterparties")):
        assert client.post(url, {"x": "1"}).status_code == 403
    api = api_client(auditor, child)
    assert api.post("/api/v1/entries/", {"date": "2026-03-05"}, format="json").status_code == 403
    assert api.post("/api/v1/counterparties/", {"name": "X"}, format="json").status_code == 403
    assert api.get("/api/v1/entries/").status_code == 200
    assert ActionLog.objects.filter(outcome="refused", object_type="read_only").count() == before + 5


def test_every_page_and_api_answer_an_auditor_reads_is_journaled(world, admin, tree):
    top, child, other = tree
    auditor = fresh(approved_grant(admin, scope_kind="subtree", scope_institution=child).user)
    page_client(auditor).get(reverse("trial_balance"), {"date_from": "2026-01-01", "date_to": "2026-03-31"})
    api_client(auditor).get("/api/v1/entries/")
    rows = ActionLog.objects.filter(user=auditor, action="view", outcome="success").order_by("seq")
    seen = [(r.object_type, r.object_id, r.institution_id, r.role) for r in rows]
    assert ("page", reverse("trial_balance"), child.pk, "auditor") in seen
    assert ("api", "/api/v1/entries/", child.pk, "auditor") in seen
    assert "date_from=2026-01-01" in rows.get(object_type="page").details
    # other users' reads are not journaled page by page
    page_client(world.chief_a).get(reverse("journal"))
    assert not ActionLog.objects.filter(user=world.chief_a, object_type="page").exists()


def test_a_grant_expires_by_itself_and_can_be_revoked(world, admin, tree):
    today = timezone.localdate()
    grant = approved_grant(admin, valid_from=today - dt.timedelta(days=30))
    AuditorGrant.objects.filter(pk=grant.pk).update(valid_until=today - dt.timedelta(days=1))
    auditor = fresh(grant.user)
    assert list(institutions_of(auditor)) == []
    client = page_client(auditor)
    response = client.get(reverse("journal"))
    assert response.status_code in (302, 403) or "no_institution" in response.templates[0].name
    assert api_client(auditor).get("/api/v1/institutions/").json()["results"] == []

    grant2 = approved_grant(admin)
    assert institutions_of(fresh(grant2.user)).exists()
    services.end_auditor_grant(grant=grant2, actor=admin, reason="ауыстырылды")
    assert not institutions_of(fresh(grant2.user)).exists()
    assert ActionLog.objects.filter(object_type="auditor_grant", details__startswith="revoked").exists()


def test_grant_pages_for_the_administrator(world, admin, tree):
    client = page_client(admin)
    data = {**GRANT_FIELDS, "scope_kind": "administrator_code", "scope_administrator_code": "462",
            "valid_from": "2026-03-01", "valid_until": ""}
    response = client.post(reverse("auditor_grants"), data)
    grant = AuditorGrant.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("auditor_grant", args=[grant.pk])
    detail = client.get(reverse("auditor_grant", args=[grant.pk])).content.decode()
    assert "Школа 2" in detail and GRANT_FIELDS["eqyzmet_qr"] in detail
    client.post(reverse("auditor_grant", args=[grant.pk]), {"decision": "approve", "reason": ""})
    grant.refresh_from_db()
    assert grant.status == "approved"
    # a request of more than a year is refused with the field named, in the user's language
    bad = client.post(reverse("auditor_grants"), {**data, "valid_until": "2027-03-01"})
    assert bad.status_code == 200 and bad.context["form"].errors["valid_until"]
    # other roles do not reach the pages
    assert page_client(world.chief_a).get(reverse("auditor_grants")).status_code == 403
