"""HTTP-level security: CSRF, security headers, the deployment check with production settings, no
secret in the repository, and schemathesis fuzzing the OpenAPI schema (no 5xx, no response that
violates the schema)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .access_support import api_client, page_client

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db
def test_csrf_is_enforced_on_pages(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.chief_a)
    refused = client.post(reverse("switch_institution"), {"institution": world.a.pk})
    assert refused.status_code == 403
    page = client.get(reverse("journal"))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    accepted = client.post(reverse("switch_institution"), {"institution": world.a.pk, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


@pytest.mark.django_db
def test_csrf_is_enforced_on_the_api_for_session_users(world):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.chief_a)
    assert client.post("/api/v1/entries/", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_security_headers(world):
    response = page_client(world.chief_a).get(reverse("journal"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    session_cookie = response.client.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"]
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600 and settings.ESEP_SESSION_IDLE_SECONDS <= 3600


def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESEP_")}
    env.update({"ESEP_DEBUG": "false", "ESEP_SECRET_KEY": secrets.token_urlsafe(50),
                "ESEP_ALLOWED_HOSTS": "esep.example.kz", "ESEP_TRAINING_GATE": "true", **extra})
    return env


def check_deploy(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--tag", "security",
                           "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True)


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_production_runs_without_the_training_gate():
    result = check_deploy(production_env(ESEP_TRAINING_GATE="false"))
    assert result.returncode != 0 and "esep.W001" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["ESEP_SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "ESEP_SECRET_KEY must be set" in result.stderr


SECRET_PATTERNS = [
    ("private key", re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
    ("AWS key", re.compile(r"AKIA[0-9A-Z]{16}")),
    ("token", re.compile(r"(ghp|gho|xox[bap])_?[A-Za-z0-9]{20,}")),
    ("database URL with a password", re.compile(r"postgres(ql)?://[^:@/\s]+:(?!(secret|password|PASSWORD|\*+)@)[^@/\s{}<>$]+@")),
    ("secret key literal", re.compile(r"SECRET_KEY\s*=\s*['\"](?!dev-only-not-secret-)[^'\"]{16,}['\"]")),
]


def test_no_secret_in_the_repository():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    found = []
    for name in filter(None, listed):
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000 or name.startswith("tests/test_security_"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for what, pattern in SECRET_PATTERNS:
            if pattern.search(text):
                found.append(f"{name}: {what}")
    assert found == []


# ---------------------------------------------------------------------------------------------
# schemathesis: every operation of the schema, generated inputs, as a user holding every role.

@pytest.mark.django_db
def test_schemathesis_finds_no_server_error_and_no_schema_violation(world):
    import hypothesis
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from django.db import transaction
    from drf_spectacular.generators import SchemaGenerator
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from access import services
    from access.roles import Role

    from .factories import make_iin

    power = services.create_user(actor=None, username="power", password="correct-horse-battery",
                                 last_name="Всероль", first_name="Тест", iin=make_iin("870101", "9"))
    for role in Role:
        services.grant_role(actor=None, user=power, institution=world.a, role=role)
    token = api_client(power, world.a)._credentials["HTTP_AUTHORIZATION"]
    headers = {"Authorization": token, "X-Institution": str(world.a.pk)}
    raw = SchemaGenerator().get_schema(request=None, public=True)
    raw.setdefault("servers", [{"url": "http://testserver"}])
    schema = schemathesis.openapi.from_dict(raw)
    app = get_wsgi_application()
    failures: list[str] = []

    def fuzz(operation):
        @hypothesis.settings(max_examples=8, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def run(case):
            # Each example in a savepoint: a failed statement must not abort the next examples.
            savepoint = transaction.savepoint()
            try:
                response = case.call(app=app, headers=headers, base_url="http://testserver")
            finally:
                transaction.savepoint_rollback(savepoint)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # every operation's failure is collected
            lines = [line.strip(" |") for line in str(failure).splitlines() if line.strip(" |")]
            reproduce = next((line for line in lines if line.startswith("curl")), "")
            failures.append(f"{operation.method.upper()} {operation.path}: {' '.join(lines[:3])[:200]} {reproduce}")

    # Like Django's test client: the handler must not close the test's connection after a request.
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        for result in schema.get_all_operations():
            fuzz(result.ok())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    unique = sorted(set(failures))
    assert unique == [], "\n".join(unique)
