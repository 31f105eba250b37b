"""Payroll pages, files and API: each renders for the payroll clerk, another tenant gets 404,
the payslip is a PDF in Kazakh and in Russian, the statement an XLSX and a PDF, the API
answers 422 with the rule code."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader
from rest_framework.test import APIClient

from payroll import services
from payroll.models import PayrollLine
from tests.payroll_support import YEAR, run_month, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(world):
    st = staff(world)
    run = run_month(world, 3)
    services.create_register(run=run, actor=world.clerk_a, kind="salary", paid_on=dt.date(YEAR, 3, 31))
    return st, run


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_pages_render_for_the_clerk(world, posted):
    _st, run = posted
    client = client_for(world.clerk_a)
    line = PayrollLine.objects.filter(run=run).order_by("employee__personnel_number").first()
    for url in ["/payroll/", f"/payroll/runs/{run.pk}/", f"/payroll/runs/{run.pk}/lines/{line.pk}/",
                "/payroll/employees/", "/payroll/advances/", "/payroll/fund/?year=2026", "/payroll/parameters/"]:
        response = client.get(url)
        assert response.status_code == 200, url
    detail = client.get(f"/payroll/runs/{run.pk}/lines/{line.pk}/").content.decode()
    assert "salary × days_worked / norm_days" in detail and "130025" not in detail
    assert "4325" in detail  # МРП among the inputs of the deduction


def test_another_tenant_gets_404(world, posted):
    _st, run = posted
    client = client_for(world.accountant_b)
    line = PayrollLine.objects.filter(run=run).first()
    assert client.get(f"/payroll/runs/{run.pk}/").status_code in (403, 404)
    assert client.get(f"/payroll/runs/{run.pk}/lines/{line.pk}/payslip.pdf").status_code in (403, 404)


def test_payslip_pdf_in_kazakh_and_russian(world, posted):
    _st, run = posted
    client = client_for(world.clerk_a)
    line = PayrollLine.objects.get(run=run, employee__personnel_number="0001")
    kk = client.get(f"/payroll/runs/{run.pk}/lines/{line.pk}/payslip.pdf?lang=kk")
    ru = client.get(f"/payroll/runs/{run.pk}/lines/{line.pk}/payslip.pdf?lang=ru")
    assert kk["Content-Type"] == ru["Content-Type"] == "application/pdf"
    kk_text, ru_text = pdf_text(kk.content), pdf_text(ru.content)
    assert "Есеп айырысу парағы" in kk_text and "Қызметкер 0001" in kk_text
    assert "Расчетный листок" in ru_text and "Сотрудник 0001" in ru_text
    assert "250 575,00" in ru_text.replace("\u00a0", " ")


def test_statement_xlsx_and_pdf(world, posted):
    _st, run = posted
    client = client_for(world.clerk_a)
    book = load_workbook(io.BytesIO(client.get(f"/payroll/runs/{run.pk}/statement.xlsx").content))
    rows = list(book.worksheets[0].values)
    total = rows[-1]
    assert Decimal(str(total[4])) == Decimal("800000") and Decimal(str(total[11])) == Decimal("659550")
    summary = dict(list(book.worksheets[1].values)[1:])
    assert Decimal(str(summary["111"])) == Decimal("800000")
    text = pdf_text(client.get(f"/payroll/runs/{run.pk}/statement.pdf").content)
    assert "Сотрудник 0002" in text


def test_register_file(world, posted):
    _st, run = posted
    register = run.registers.get()
    body = client_for(world.clerk_a).get(f"/payroll/registers/{register.pk}/file.csv").content.decode()
    assert body.splitlines()[0] == "number;iin;full_name;iban;item;amount;month;paid_on"
    assert "408975.00" in body


def test_api_advance_over_the_limit_answers_422_with_the_rule(world):
    st = staff(world)
    api = APIClient()
    api.force_authenticate(world.clerk_a)
    ok = api.post("/api/v1/payroll/advances/", {"employee": st.employees[0].pk, "year": YEAR, "month": 3,
                                                "amount": "150000.00", "paid_on": "2026-03-15"}, format="json")
    assert ok.status_code == 201, ok.content
    refused = api.post("/api/v1/payroll/advances/", {"employee": st.employees[0].pk, "year": YEAR, "month": 3,
                                                     "amount": "0.01", "paid_on": "2026-03-16"}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "FLC-PAY-002"
    other = APIClient()
    other.force_authenticate(world.accountant_b)
    listed = other.get("/api/v1/payroll/employees/").json()
    assert (listed["results"] if isinstance(listed, dict) else listed) == []


def test_api_run_inline_flow(world, settings):
    staff(world)
    api = APIClient()
    api.force_authenticate(world.clerk_a)
    run = services.start_run(institution=world.a, actor=world.clerk_a, year=YEAR, month=2, inline=True)
    response = api.post(f"/api/v1/payroll/runs/{run.pk}/post/")
    assert response.status_code == 200 and len(response.json()["posted_entries"]) == 3
    again = api.post(f"/api/v1/payroll/runs/{run.pk}/post/")
    assert again.status_code == 422 and again.json()["code"] == "payroll_month_locked"


def test_staff_employee_and_timesheet_forms(world):
    st = staff(world)
    client = client_for(world.clerk_a)
    assert client.get("/payroll/staff/").status_code == 200
    response = client.post("/payroll/staff/add/", {
        "code": "P9", "name_ru": "Методист", "name_kk": "Әдіскер", "category": "civil_servant", "coefficient": "8.5",
        "allowance_percent": "10", "administrator": "261", "programme": "003", "subprogramme": "015",
        "funding_source": "budget_local", "valid_from": "2026-01-01"})
    assert response.status_code == 302
    assert services.StaffPosition.objects.filter(institution=world.a, code="P9").exists()
    from tests.payroll_support import next_iin

    response = client.post("/payroll/employees/add/", {
        "personnel_number": "0900", "iin": next_iin(), "full_name_kk": "Жаңа Қызметкер",
        "full_name_ru": "Новый Сотрудник", "position_code": "P9", "hired_on": "2026-02-01", "resident": "1",
        "pensioner": "0", "iban": ""})
    assert response.status_code == 302
    new = services.Employee.objects.get(institution=world.a, personnel_number="0900")
    bad = client.post("/payroll/employees/add/", {"personnel_number": "0901", "iin": "123", "full_name_kk": "x",
                                                  "full_name_ru": "x", "position_code": "P9"}, follow=True)
    assert not services.Employee.objects.filter(personnel_number="0901").exists()
    assert "12" in bad.content.decode()  # the IIN rule, in the user's language
    assert client.get("/payroll/timesheets/?year=2026&month=3").status_code == 200
    client.post("/payroll/timesheets/save/", {"employee": st.employees[0].pk, "year": YEAR, "month": 3,
                                              "norm_days": 22, "days_worked": 11, "bonus": "0", "one_off": "0"})
    assert services.Timesheet.objects.get(employee=st.employees[0], month=3).days_worked == 11
    run = run_month(world, 3, post=False)
    assert PayrollLine.objects.get(run=run, employee=st.employees[0]).accrued == Decimal("150000.00")
    assert PayrollLine.objects.get(run=run, employee=new).accrued > 0
