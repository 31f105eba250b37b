"""The accountant's financing round trip in the browser (Russian): upload a financing plan
(XLSX), see it in the execution report with its chart, try a payment beyond the plan and
read the ФЛК rule's message on the contract page; a file with faults shows its problem table."""

import datetime as dt
import re

import pytest

from financing import services
from financing.models import Payment, PlanDocument
from tests.factories import YEAR, build_world
from tests.financing_support import FILES, add_financing_reference, contract_kwargs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spaces(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text)


def test_upload_plan_see_execution_and_refused_payment(live_server, page, shots, tmp_path):
    world = build_world()
    add_financing_reference()
    base = live_server.url
    page.goto(base + "/login/")
    page.locator("form.langs button[value=ru]").click()
    page.wait_for_load_state()
    page.fill("#id_username", world.accountant_a.username)
    page.fill("#id_password", "correct-horse-battery")
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(base + "/")

    # a faulty file: refused whole, every problem listed with its place and rule
    page.locator("#sidenav").get_by_role("link", name="Планы финансирования", exact=True).click()
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes((FILES / "malformed" / "text_in_amount.xlsx").read_bytes())
    page.set_input_files("#plan-upload input[type=file]", str(bad))
    page.locator("#plan-upload button[type=submit]").click()
    problems = page.locator("#import-problems")
    problems.wait_for()
    assert "Файл отклонён" in problems.inner_text() and "FIN-IMP-AMOUNT" in problems.inner_text()
    assert "Сумма должна быть числом в тенге" in problems.inner_text()
    shots(page, "fin-1-refused")
    assert PlanDocument.objects.count() == 0

    # the golden plan goes in
    good = tmp_path / "plan.xlsx"
    good.write_bytes((FILES / "golden" / "plan.xlsx").read_bytes())
    page.set_input_files("#plan-upload input[type=file]", str(good))
    page.locator("#plan-upload button[type=submit]").click()
    page.locator(".msg").first.wait_for()
    assert "Версия 1 на 2026 год загружена" in page.locator(".messages").inner_text()
    shots(page, "fin-2-imported")

    # the execution report shows the plan, drills down and draws the chart
    page.locator("#sidenav").get_by_role("link", name="Исполнение плана", exact=True).click()
    page.wait_for_url(re.compile(r"/financing/execution/"))
    page.goto(f"{base}/financing/execution/?year={YEAR}")
    page.locator("#execution-chart").wait_for()
    assert page.locator("#execution-chart rect.bar-plan_payments").count() == 12
    table = spaces(page.locator("#execution-table").inner_text())
    assert "261.003" in table and "6 250 350,50" in table
    page.locator("#execution-table a", has_text="261.003").first.click()
    page.locator("#execution-table a", has_text="261.003.015").first.click()
    page.locator("#execution-table a", has_text="141").first.click()
    months = spaces(page.locator("#execution-months").inner_text())
    assert "Апрель" in months or "апрель" in months.lower()
    shots(page, "fin-3-execution")

    # a payment beyond the plan by payments is refused with the rule's message
    contract = services.create_contract(institution=world.a, actor=world.accountant_a,
                                        **contract_kwargs(advance_percent="100", years={YEAR: "100.00"}))
    services.register_contract(contract=contract, actor=world.accountant_a, treasury_number="КЗ-77",
                               treasury_date=dt.date(YEAR, 1, 12))
    page.goto(f"{base}/financing/contracts/{contract.pk}/")
    page.fill("#id_pay-number", "ПП-1")
    page.fill("#id_pay-date", f"{YEAR}-01-20")
    page.fill("#id_pay-amount", "100.01")
    page.select_option("#id_pay-kind", "advance")
    page.locator("#payment-form button[type=submit]").click()
    page.wait_for_load_state()
    text = spaces(page.locator("#payment-form").inner_text())
    assert "превышает индивидуальный план финансирования по платежам" in text and "100,01" in text
    shots(page, "fin-4-refused-payment")
    assert Payment.objects.count() == 0
