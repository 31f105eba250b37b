"""The payroll clerk in the browser (Kazakh and Russian): calculate a month (a real Celery
worker does it while the page shows the progress), post it, open an employee's calculation and
payslip; then an advance above the limit is refused with FLC-PAY-002's message."""

import pytest

from payroll.models import PayrollRun, RunStatus
from tests.factories import YEAR, build_world
from tests.payroll_support import celery_worker, staff  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "kk": {"login": "Кіру", "menu": "Айлық жалақы", "calculate": "Жалақыны есептеу", "post": "Өткізу",
           "posted": "өткізілді", "payslip": "Есеп айырысу парағы", "advances": "Аванстар",
           "pay": "Авансты төлеу", "refused": "белгіленген мөлшерден асады"},
    "ru": {"login": "Войти", "menu": "Заработная плата за месяц", "calculate": "Рассчитать заработную плату",
           "post": "Провести", "posted": "проведена", "payslip": "Расчетный листок", "advances": "Авансы",
           "pay": "Выплатить аванс", "refused": "превышает установленный размер"},
}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_run_post_payslip_and_refused_advance(live_server, page, shots, celery_worker, language):  # noqa: F811
    world = build_world()
    staff(world)
    t = TEXT[language]
    base = live_server.url
    page.goto(base + "/login/")
    page.locator(f"form.langs button[value={language}]").click()
    page.wait_for_load_state()
    page.fill("#id_username", world.clerk_a.username)
    page.fill("#id_password", "correct-horse-battery")
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.wait_for_url(base + "/")

    page.locator("#sidenav").get_by_role("link", name=t["menu"], exact=True).click()
    page.select_option("#run-month", "3")
    page.fill("#run-year", str(YEAR))
    page.get_by_role("button", name=t["calculate"], exact=True).click()
    # the page refreshes itself while the worker calculates; the post button appears when done
    page.locator("#run-post").wait_for(timeout=60_000)
    shots(page, f"payroll-{language}-1-preview")
    assert "250" in page.locator("#run-lines").inner_text()
    page.locator("#run-post").click()
    page.locator(".msg-success").wait_for()
    assert t["posted"] in page.locator(".msg-success").inner_text()
    assert PayrollRun.objects.get(institution=world.a, year=YEAR, month=3).status == RunStatus.POSTED

    page.locator("#run-lines a").first.click()
    assert "salary × days_worked / norm_days" in page.locator("#figures").inner_text()
    link = page.locator(f"a[href$='payslip.pdf?lang={language}']").first
    response = page.request.get(base + link.get_attribute("href"))
    assert response.headers["content-type"] == "application/pdf" and response.body().startswith(b"%PDF")
    shots(page, f"payroll-{language}-2-calculation")

    page.locator("#sidenav").get_by_role("link", name=t["advances"], exact=True).click()
    page.fill("#adv-year", str(YEAR))
    page.select_option("#adv-month", "4")
    page.fill("#adv-amount", "150000.01")
    page.get_by_role("button", name=t["pay"], exact=True).click()
    page.locator(".msg-error").wait_for()
    assert t["refused"] in page.locator(".msg-error").inner_text()
    shots(page, f"payroll-{language}-3-advance-refused")
