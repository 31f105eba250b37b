"""Financing over HTTP: the planning system's push (token per sending system, idempotent by
document id), the upload page and its refusal table, the execution report (drill-down,
chart, XLSX), the contract page's refused payment, tenant isolation."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from financing import services
from financing.models import Contract, PlanDocument

from .financing_support import FILES, YEAR, add_financing_reference, as_json, contract_kwargs, line, plan_doc

KEY141 = ("261", "003", "015", "141")


def client_for(user, institution=None) -> Client:
    c = Client()
    c.force_login(user)
    if institution is not None:
        session = c.session
        session["institution_id"] = institution.pk
        session.save()
    return c


@pytest.fixture
def fin(world):
    add_financing_reference()
    return world


def test_push_is_authenticated_per_system_and_idempotent(fin):
    system, token = services.issue_sending_system(code="plan-krg", name="Планирование", institutions=[fin.a])
    body = (FILES / "golden" / "plan.json").read_bytes()
    anonymous = Client()
    assert anonymous.post("/api/v1/financing/push/", body, content_type="application/json").status_code == 401
    bad = anonymous.post("/api/v1/financing/push/", body, content_type="application/json",
                         HTTP_AUTHORIZATION="Bearer not-the-token")
    assert bad.status_code == 401 and PlanDocument.objects.count() == 0
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first = anonymous.post("/api/v1/financing/push/", body, content_type="application/json", **auth)
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["created"] is True
    again = anonymous.post("/api/v1/financing/push/", body, content_type="application/json", **auth)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert PlanDocument.objects.count() == 1
    doc = PlanDocument.objects.get()
    assert doc.channel == "push" and doc.sender == "system:plan-krg"
    changed = json.loads(body)
    changed["number"] = "другой"
    conflict = anonymous.post("/api/v1/financing/push/", json.dumps(changed), content_type="application/json", **auth)
    assert conflict.status_code == 422 and conflict.json()["errors"][0]["rule"] == "FIN-IMP-ID"
    # a system may push only for its institutions
    other = json.loads(body)
    other["bin"] = fin.b.bin
    refused = anonymous.post("/api/v1/financing/push/", json.dumps(other), content_type="application/json", **auth)
    assert refused.status_code == 403 and PlanDocument.objects.count() == 1


def test_push_with_faults_answers_422_with_every_problem(fin):
    _system, token = services.issue_sending_system(code="p2", name="P2", institutions=[fin.a])
    body = (FILES / "malformed" / "total_mismatch.json").read_bytes()
    response = Client().post("/api/v1/financing/push/", body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "FIN-IMP-TOTAL" in {e["rule"] for e in errors}
    assert set(errors[0]) == {"rule", "message", "sheet", "row", "column", "value"}
    assert PlanDocument.objects.count() == 0


def test_api_upload_and_payments_plan(fin):
    c = client_for(fin.accountant_a, fin.a)
    with open(FILES / "golden" / "plan.xlsx", "rb") as f:
        response = c.post("/api/v1/financing/plans/", {"file": f})
    assert response.status_code == 201 and response.json()["version"] == 1
    answer = c.get("/api/v1/financing/payments-plan/", {"year": YEAR, "month": 4, "specific": "141",
                                                        "on_date": "2026-02-01"}).json()
    assert answer["amount"] == "50.50"
    assert client_for(fin.accountant_b, fin.b).get("/api/v1/financing/payments-plan/", {
        "year": YEAR, "month": 4, "specific": "141"}).json()["amount"] is None
    auditor = client_for(fin.auditor_a, fin.a)
    assert auditor.post("/api/v1/financing/plans/", plan_doc(fin.a, doc_id="X"),
                        content_type="application/json").status_code == 403


def test_upload_page_shows_every_problem_and_writes_nothing(fin):
    c = client_for(fin.accountant_a, fin.a)
    data = (FILES / "malformed" / "text_in_amount.xlsx").read_bytes()
    upload = io.BytesIO(data)
    upload.name = "plan.xlsx"
    response = c.post("/financing/plans/", {"file": upload})
    assert response.status_code == 422
    text = response.content.decode()
    assert "FIN-IMP-AMOUNT" in text and "пятьсот" in text and PlanDocument.objects.count() == 0
    good = io.BytesIO((FILES / "golden" / "plan.json").read_bytes())
    good.name = "plan.json"
    assert c.post("/financing/plans/", {"file": good}).status_code == 302
    page = c.get("/financing/plans/?year=2026").content.decode()
    assert "ИПФ-1" in page


def test_execution_report_drill_down_chart_and_xlsx(fin):
    services.import_plan(institution=fin.a, actor=fin.accountant_a,
                         data=as_json(plan_doc(fin.a, lines=[line(KEY141, ["1000.00", "1000.00"])])))
    contract = services.create_contract(institution=fin.a, actor=fin.accountant_a,
                                        **contract_kwargs(advance_percent="100"))
    services.register_contract(contract=contract, actor=fin.accountant_a, treasury_number="КЗ-1",
                               treasury_date=dt.date(YEAR, 1, 12))
    services.make_payment(contract=contract, actor=fin.accountant_a, number="ПП-1", date=dt.date(YEAR, 1, 20),
                          amount=Decimal("400.00"), kind="advance")
    c = client_for(fin.auditor_a, fin.a)
    top = c.get("/financing/execution/?year=2026").content.decode()
    assert "execution-chart" in top and "<rect" in top and "261.003" in top
    sub = c.get("/financing/execution/?year=2026&programme=261.003").content.decode()
    assert "261.003.015" in sub
    leaf = c.get("/financing/execution/?year=2026&programme=261.003.015&specific=141").content.decode()
    assert "execution-months" in leaf and "1 600,00" in leaf.replace("\xa0", " ")  # payments balance by year
    xlsx = c.get("/financing/execution/?year=2026&format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    january = [r for r in ws.iter_rows(values_only=True) if r[0] == "261.003.015" and r[2] == 1][0]
    assert january[3:7] == (1000, 1000, 1000, 400)


def test_contract_page_shows_the_rule_message_of_a_refused_payment(fin):
    services.import_plan(institution=fin.a, actor=fin.accountant_a,
                         data=as_json(plan_doc(fin.a, lines=[line(KEY141, ["1000.00"])])))
    contract = services.create_contract(institution=fin.a, actor=fin.accountant_a,
                                        **contract_kwargs(advance_percent="100"))
    services.register_contract(contract=contract, actor=fin.accountant_a, treasury_number="КЗ-1",
                               treasury_date=dt.date(YEAR, 1, 12))
    c = client_for(fin.accountant_a, fin.a)
    response = c.post(f"/financing/contracts/{contract.pk}/", {
        "form": "payment", "pay-number": "ПП-1", "pay-date": "2026-01-20", "pay-amount": "1000.01",
        "pay-kind": "advance"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 422
    assert "превышает индивидуальный план финансирования по платежам" in response.content.decode()
    # another tenant's contract is a 404
    assert client_for(fin.accountant_b, fin.b).get(f"/financing/contracts/{contract.pk}/").status_code == 404


def test_contract_form_creates_and_auditor_cannot(fin):
    c = client_for(fin.accountant_a, fin.a)
    kw = contract_kwargs()
    response = c.post("/financing/contracts/", {
        "counterparty_bin": kw["counterparty_bin"], "counterparty_name": "ТОО", "number": "Д-9", "date": "2026-01-10",
        "programme": "261.003.015", "specific": "141", "year1": "500.00", "advance_percent": "0"})
    assert response.status_code == 302 and Contract.objects.filter(number="Д-9").exists()
    auditor = client_for(fin.auditor_a, fin.a)
    assert auditor.get("/financing/contracts/").status_code == 200
    assert auditor.post("/financing/contracts/", {"number": "x"}).status_code == 403


def test_pages_render_for_each_role(fin):
    for user in (fin.chief_a, fin.accountant_a, fin.auditor_a):
        c = client_for(user, fin.a)
        for url in ("/financing/plans/", "/financing/plans/diff/?year=2026", "/financing/execution/",
                    "/financing/contracts/", "/financing/exchange/"):
            assert c.get(url).status_code == 200, (user, url)
    assert client_for(fin.clerk_a, fin.a).get("/financing/plans/").status_code == 403


def test_version_and_diff_pages_show_the_change(fin):
    services.import_plan(institution=fin.a, actor=fin.accountant_a, data=(FILES / "golden" / "plan.json").read_bytes())
    cert, _created = services.import_plan(institution=fin.a, actor=fin.accountant_a,
                                          data=(FILES / "golden" / "certificate.json").read_bytes())
    c = client_for(fin.auditor_a, fin.a)
    page = c.get(f"/financing/plans/{cert.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "С-1" in page and "-50,50" in page.replace("\xa0", " ")
    diff = c.get("/financing/plans/diff/?year=2026&a=1&b=2").content.decode().replace("\xa0", " ")
    assert 'id="plan-diff"' in diff and "150,00" in diff and "-50,50" in diff
    assert client_for(fin.accountant_b, fin.b).get(f"/financing/plans/{cert.pk}/").status_code == 404
