"""Every URL needs a login, roles see only what they hold, tenants never see each other.

The URL resolver and the OpenAPI schema are enumerated, so an endpoint added by any app later is
covered without touching this file."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from drf_spectacular.generators import SchemaGenerator

from access import services
from access.roles import Role
from ledger.services import post_entry

from .access_support import api_client, page_client
from .factories import make_counterparty, make_iin, pair

pytestmark = pytest.mark.django_db

# Reachable without a login, by design: the login page, the language switch (a cookie) and the
# admin site's own login page.
PUBLIC = {"login", "set_language", "admin:login"}
UNSAFE = ("post", "put", "patch", "delete")
SAMPLES = ("1", "FLC-LED-001", "x")


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else None


def _sample_paths(route: str):
    """Concrete paths for a route, trying a few values for each parameter."""
    raw = route.replace("^", "").replace("$", "").replace("\\", "")
    for value in SAMPLES:
        path = re.sub(r"\(\?P<\w+>[^)]*\)", value, raw)
        path = re.sub(r"<(?:\w+:)?\w+>", value, path)
        if "(" in path or "[" in path:
            continue
        yield "/" + path


def all_urls():
    """(path, name) of every URL pattern of the project, admin included, one sample each."""
    seen = {}
    for route, name in _walk(get_resolver().url_patterns):
        for path in _sample_paths(route):
            try:
                resolve(path)
            except Resolver404:
                continue
            seen.setdefault(path, name)
            break
    return sorted(seen.items())


URLS = all_urls()


def test_the_enumeration_finds_pages_api_and_admin():
    names = {name for _path, name in URLS}
    assert {"journal", "entry_detail", "journalentry-list", "journalentry-detail", "auditor_grants",
            "admin:index"} <= names
    assert len(URLS) > 60


@pytest.mark.parametrize("path, name", URLS, ids=[p for p, _n in URLS])
def test_every_url_requires_authentication(client, path, name):
    if name in PUBLIC:
        return
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        where = f"{method.upper()} {path} ({name})"
        if response.status_code in (301, 302):
            target = response["Location"]
            assert "/login/" in target, where
        else:
            assert response.status_code in (401, 403, 405), f"{where}: {response.status_code}"


# ---------------------------------------------------------------------------------------------
# Roles × endpoints, from the OpenAPI schema.

def api_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", *UNSAFE):
                yield path, method


OPERATIONS = sorted(api_operations())


def concrete(path: str, pk="1") -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "FLC-LED-001" if "catalogue" in path else pk, path)


def person(world, username, serial, role):
    user = services.create_user(actor=None, username=username, password="correct-horse-battery",
                                last_name="Тестов", first_name="Тест", iin=make_iin("860101", serial))
    services.grant_role(actor=None, user=user, institution=world.a, role=role)
    return user


@pytest.fixture
def roles(world):
    return {
        Role.AUDITOR: world.auditor_a,
        Role.PAYROLL_CLERK: world.clerk_a,
        Role.INVENTORY_OPERATOR: person(world, "inv_a", "6", Role.INVENTORY_OPERATOR),
        Role.HEAD: person(world, "head_a", "7", Role.HEAD),
    }


def test_auditors_cannot_write_anywhere_in_the_api(world, roles):
    """Every unsafe operation of the schema answers 403 to an auditor, before any validation."""
    api = api_client(roles[Role.AUDITOR], world.a)
    wrong = []
    for path, method in OPERATIONS:
        if method not in UNSAFE:
            continue
        response = getattr(api, method)(concrete(path), {}, format="json")
        # 401: endpoints of devices authenticate device tokens only, a person's token is unknown there
        if response.status_code not in (401, 403):
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert wrong == []


def test_auditors_cannot_write_on_any_page(world, roles):
    client = page_client(roles[Role.AUDITOR])
    wrong = []
    for path, name in URLS:
        if name in PUBLIC or name in {"logout", "switch_institution", "otp_enrol", "otp_verify"} \
                or path.startswith("/api/") or (name or "").startswith("admin:"):
            continue
        response = client.post(path, {"x": "1"})
        if response.status_code not in (403, 405):
            wrong.append(f"POST {path} ({name}): {response.status_code}")
    assert wrong == []


LEDGER_READS = ["/api/v1/entries/", "/api/v1/periods/", "/api/v1/corrections/", "/api/v1/journal/",
                "/api/v1/trial-balance/?date_from=2026-01-01&date_to=2026-03-31", "/api/v1/search/?q=x"]
LEDGER_PAGES = ["/journal/", "/reports/trial-balance/", "/periods/", "/corrections/", "/audit/journal/"]


@pytest.mark.parametrize("role", [Role.PAYROLL_CLERK, Role.INVENTORY_OPERATOR])
def test_sub_ledger_roles_do_not_read_or_post_the_ledger(world, roles, role):
    user = roles[role]
    api = api_client(user, world.a)
    for url in LEDGER_READS:
        assert api.get(url).status_code == 403, url
    posted = api.post("/api/v1/entries/", {"date": "2026-03-05", "lines": []}, format="json")
    assert posted.status_code == 403
    client = page_client(user)
    for url in LEDGER_PAGES:
        assert client.get(url).status_code == 403, url


def test_inventory_operators_see_only_inventory(world, roles):
    """Every GET list operation outside inventory (and the shared reference lists) is refused to an
    inventory operator; inventory's own are allowed."""
    api = api_client(roles[Role.INVENTORY_OPERATOR], world.a)
    shared = ("/api/v1/institutions/", "/api/v1/accounts/", "/api/v1/specifics/", "/api/v1/programmes/",
              "/api/v1/funding-sources/", "/api/v1/rules/catalogue/", "/api/v1/devices/me/",
              # the controls (ФЛК) and their switches are shown to every role (the side menu's catalogue)
              "/api/v1/rules/switches/", "/api/v1/rules/parameters/")
    wrong = []
    for path, method in OPERATIONS:
        if method != "get" or "{" in path or path.startswith(shared) or path == "/api/v1/schema/":
            continue
        status = api.get(path).status_code
        inventory = path.startswith(("/api/v1/inventory/", "/api/v1/devices/"))
        if inventory and status >= 500 or not inventory and status not in (403, 400):
            wrong.append(f"GET {path}: {status}")
    assert wrong == []


def test_head_reads_but_does_not_post(world, roles):
    api = api_client(roles[Role.HEAD], world.a)
    assert api.get("/api/v1/entries/").status_code == 200
    assert api.post("/api/v1/entries/", {"date": "2026-03-05", "lines": []}, format="json").status_code == 403


# ---------------------------------------------------------------------------------------------
# Tenants.

def test_every_object_of_another_institution_is_404(world):
    """Objects of institution A, found through every list endpoint of the schema, are 404 to
    institution B's accountant through the matching detail endpoint, and on the pages."""
    entry = post_entry(institution=world.a, actor=world.chief_a, draft=pair(dt.date(2026, 3, 5), "10.00"))
    make_counterparty(world.a, "ТОО Альфа", "41")
    owner = api_client(world.chief_a, world.a)
    stranger = api_client(world.accountant_b, world.b)
    tried, wrong = 0, []
    details = {p for p, m in OPERATIONS if m == "get" and re.search(r"\{(id|pk)\}/$", p)}
    for detail in sorted(details):
        listing = re.sub(r"\{(id|pk)\}/$", "", detail)
        answer = owner.get(listing)
        if answer.status_code != 200:
            continue
        rows = answer.json()
        rows = rows.get("results", []) if isinstance(rows, dict) else rows
        for row in rows[:3]:
            key = row.get("id", row.get("pk"))
            if key is None:
                continue
            # reference data (chart of accounts, programmes…) is shared by every tenant
            if listing.rstrip("/").rsplit("/", 1)[-1] in {"accounts", "specifics", "programmes", "funding-sources",
                                                           "catalogue", "institutions"}:
                continue
            tried += 1
            status = stranger.get(f"{listing}{key}/").status_code
            if status != 404:
                wrong.append(f"{listing}{key}/: {status}")
    assert tried >= 3 and wrong == []
    b_page = page_client(world.accountant_b)
    assert b_page.get(f"/entries/{entry.pk}/").status_code == 404
    # and the header cannot choose A for B's accountant
    assert api_client(world.accountant_b, world.a).get(f"/api/v1/entries/{entry.pk}/").status_code == 404


def test_anonymous_api_client_is_refused(world):
    assert Client().get("/api/v1/entries/").status_code in (401, 403)
