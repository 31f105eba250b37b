"""Reporting pages, exports and API: XLSX cells hold the statement's numbers, PDF text keeps
the Kazakh letters, registers render with drill-down links, tenants are separated."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access.models import ActionLog
from ledger.models import Counterparty
from ledger.services import close_period, post_entries
from reporting import services
from reporting.models import LineMap, Statement

from .factories import draft, line
from .reporting_support import EXPECTED, JAN, make_head, two_months

START, END = dt.date(2026, 1, 1), dt.date(2026, 2, 28)
KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"


def login(client, user, language="ru"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def api(user, institution, language="ru"):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_X_INSTITUTION=str(institution.id))
    return client


@pytest.fixture
def statement(world):
    two_months(world)
    return services.prepare_statement(institution=world.a, actor=world.chief_a, period_start=START, period_end=END)


@pytest.mark.django_db
def test_prepare_on_the_page_and_read_the_forms(client, world):
    two_months(world)
    login(client, world.chief_a)
    response = client.post(reverse("statement_list"), {"period_start": "2026-01", "period_end": "2026-02"})
    assert response.status_code == 302
    statement = Statement.objects.get(institution=world.a)
    page = client.get(response["Location"]).content.decode()
    assert "CHK-FO1-BALANCE" in page and "900 000,00" in page.replace("\xa0", " ")
    # a reversed range is refused with the field named, nothing written
    response = client.post(reverse("statement_list"), {"period_start": "2026-03", "period_end": "2026-01"})
    assert response.status_code == 422
    assert Statement.objects.filter(institution=world.a).count() == 1
    assert statement.version == 1


@pytest.mark.django_db
def test_xlsx_cells_hold_the_numbers(client, world, statement):
    login(client, world.chief_a)
    response = client.get(reverse("statement_export", args=[statement.pk, "xlsx"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:5] == ["FO-1", "FO-2", "FO-3", "FO-4", "FO-5"]
    fo1 = {row[0]: row for row in book["FO-1"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert fo1["300"][3] == float(EXPECTED["assets"]) and isinstance(fo1["300"][3], (int, float))
    assert fo1["010"][3] == float(EXPECTED["cash"])
    assert fo1["700"][3] == float(EXPECTED["assets"])
    cell = next(c for c in book["FO-1"]["D"] if c.value == float(EXPECTED["assets"]))
    assert "#,##0.00" in cell.number_format
    fo2 = {row[0]: row for row in book["FO-2"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert fo2["300"][2] == float(EXPECTED["surplus"])
    assert ActionLog.objects.filter(object_type__startswith="statements-", action="export").exists()


@pytest.mark.django_db
def test_pdf_text_keeps_the_kazakh_letters(client, world, statement):
    services.edit_notes(statement=statement, actor=world.chief_a, notes=f"Түсіндірме жазба: {KAZAKH}")
    login(client, world.chief_a, "kk")
    response = client.get(reverse("statement_export", args=[statement.pk, "pdf"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for letter in KAZAKH:
        assert letter in text, letter
    assert "Қысқа мерзімді активтердің жиыны" in text  # a Kazakh line name, whole


@pytest.mark.django_db
def test_registers_render_and_export(client, world):
    entries = two_months(world)
    login(client, world.chief_a)
    page = client.get(reverse("memorial_orders"), {"year": 2026, "month": 1}).content.decode()
    assert reverse("entry_detail", args=[entries[0].pk]) in page  # drill-down to the entry
    assert "№ 1" in page  # cash payments (credit 1010) are filed under order 1
    page = client.get(reverse("cash_book"), {"date_from": "2026-01-01", "date_to": "2026-02-28"}).content.decode()
    assert "450 000,00" in page.replace("\xa0", " ")
    response = client.get(reverse("cash_book"), {"date_from": "2026-01-01", "date_to": "2026-02-28",
                                                 "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    balances = [row[5] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert balances[-1] == float(EXPECTED["cash"])
    response = client.get(reverse("register_export", args=["trial_balance"]),
                          {"date_from": "2026-01-01", "date_to": "2026-02-28", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["1010"][6] == float(EXPECTED["cash"]) and rows["3210"][7] == float(EXPECTED["payables"])
    response = client.get(reverse("register_export", args=["account_card"]),
                          {"account": "1010", "date_from": "2026-01-01", "date_to": "2026-02-28", "format": "pdf"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    response = client.get(reverse("register_export", args=["general_ledger"]), {"year": 2026, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    total = [r for r in sheet.iter_rows(min_row=4, values_only=True)][-1]
    assert total[2] == total[3] == float(Decimal("3700000.00"))
    for name in ("grant_report", "line_maps", "registers", "statement_list"):
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_grant_report_from_grant_postings(client, world):
    grantor = Counterparty.objects.create(institution=world.a, iin_bin=world.b.bin, name="Донор")
    post_entries(institution=world.a, actor=world.chief_a, drafts=[
        draft(JAN, line("1010", "D", "800000.00", "414", funding="grant"),
              line("6010", "C", "800000.00", "414", funding="grant", counterparty_id=grantor.id)),
        draft(JAN, line("2350", "D", "500000.00", "414", funding="grant"),
              line("1010", "C", "500000.00", "414", funding="grant")),
    ])
    response = api(world.chief_a, world.a).get("/api/v1/reports/grants/", {"year": 2026, "month": 1})
    assert response.status_code == 200
    body = response.json()
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["cash"]["closing"] == "300000.00"
    assert groups["assets"]["debit"] == "500000.00"
    assert groups["income"]["credit"] == "800000.00"
    assert body["counterparties"][0]["name"] == "Донор"
    assert body["due"] == "2026-02-20"
    login(client, world.chief_a)
    assert "300 000,00" in client.get(reverse("grant_report"), {"year": 2026, "month": 1}).content.decode().replace(
        "\xa0", " ")


@pytest.mark.django_db
def test_api_workflow_and_refusals(world):
    two_months(world)
    head = make_head(world)
    chief = api(world.chief_a, world.a)
    response = chief.post("/api/v1/reports/statements/", {"period_start": "2026-03-01", "period_end": "2026-01-31"},
                          format="json")
    assert response.status_code == 422 and response.json()["field"] == "period_end"
    LineMap.objects.filter(form="FO-1", account="3210").update(line="030")
    response = chief.post("/api/v1/reports/statements/", {"period_start": "2026-01-01", "period_end": "2026-02-28"},
                          format="json")
    assert response.status_code == 201
    bad = response.json()["id"]
    response = chief.post(f"/api/v1/reports/statements/{bad}/check/")
    assert response.status_code == 422 and response.json()["code"] == "CHK-FO1-BALANCE"
    LineMap.objects.filter(form="FO-1", account="3210").update(line="320")
    good = chief.post("/api/v1/reports/statements/", {"period_start": "2026-01-01", "period_end": "2026-02-28"},
                      format="json").json()["id"]
    assert chief.post(f"/api/v1/reports/statements/{good}/check/").json()["status"] == "checked"
    assert api(head, world.a).post(f"/api/v1/reports/statements/{good}/sign/").status_code == 200
    for month in (1, 2):
        close_period(period=world.periods_a[month], actor=world.chief_a)
    assert chief.post(f"/api/v1/reports/statements/{good}/approve/").json()["status"] == "approved"
    # another tenant sees nothing of it
    other = api(world.accountant_b, world.b)
    assert other.get(f"/api/v1/reports/statements/{good}/").status_code == 404
    body = other.get("/api/v1/reports/statements/").json()
    assert (body["results"] if isinstance(body, dict) else body) == []


@pytest.mark.django_db
def test_other_tenant_gets_404_on_pages(client, world, statement):
    login(client, world.accountant_b)
    assert client.get(reverse("statement_detail", args=[statement.pk])).status_code == 404
    assert client.get(reverse("statement_export", args=[statement.pk, "xlsx"])).status_code == 404
    # the auditor of A reads but cannot prepare
    login(client, world.auditor_a)
    assert client.get(reverse("statement_detail", args=[statement.pk])).status_code == 200
    assert client.post(reverse("statement_list"), {"period_start": "2026-01", "period_end": "2026-02"}
                       ).status_code == 403
