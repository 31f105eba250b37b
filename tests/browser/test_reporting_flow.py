"""The chief accountant approves a month's statements in the browser (the head has signed),
then tries to post into that month: the entry is refused with the rule's message (FLC-PER-001,
R3). Once in Kazakh and once in Russian; the texts asserted are written out in each language."""

import re

import pytest

from ledger.models import JournalEntry, Period, PeriodStatus
from ledger.services import close_period
from reporting import services
from reporting.models import Statement, StatementStatus
from tests.factories import build_world
from tests.reporting_support import make_head, two_months

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "kk": {"login": "Кіру", "statements": "Қаржылық есептілік", "prepare": "ФО-1…ФО-5 дайындау",
           "check": "Тексерілді деп белгілеу", "approve": "Бекіту", "approved": "Бекітілді",
           "locked": "оның айлары біржола жабылды", "new_entry": "Жаңа жазба", "post": "Өткізу",
           "refused": "2026-01 кезеңінің есептілігі бекітілген: 2026-01-20 күнімен жазбалар қабылданбайды"},
    "ru": {"login": "Войти", "statements": "Финансовая отчётность", "prepare": "Подготовить ФО-1…ФО-5",
           "check": "Отметить как проверенную", "approve": "Утвердить", "approved": "Утверждена",
           "locked": "её месяцы закрыты навсегда", "new_entry": "Новая проводка", "post": "Провести",
           "refused": "Отчётность за период 2026-01 утверждена: записи с датой 2026-01-20 не принимаются"},
}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_approve_a_month_then_posting_into_it_is_refused(live_server, page, shots, language):
    world = build_world()
    two_months(world)
    head = make_head(world)
    close_period(period=world.periods_a[1], actor=world.chief_a)
    t = TEXT[language]
    base = live_server.url

    page.goto(base + "/login/")
    page.locator(f"form.langs button[value={language}]").click()
    page.wait_for_load_state()
    page.fill("#id_username", world.chief_a.username)
    page.fill("#id_password", "correct-horse-battery")
    page.get_by_role("button", name=t["login"], exact=True).click()
    page.wait_for_url(base + "/")

    # prepare January's statements and mark them checked
    page.locator("#sidenav").get_by_role("link", name=t["statements"], exact=True).click()
    page.fill("#id_period_start", "2026-01")
    page.fill("#id_period_end", "2026-01")
    page.get_by_role("button", name=t["prepare"], exact=True).click()
    page.locator("#checks").wait_for()
    statement = Statement.objects.get(institution=world.a)
    assert page.url == f"{base}/reports/statements/{statement.pk}/"
    page.get_by_role("button", name=t["check"], exact=True).click()
    page.locator(".msg-success").wait_for()
    shots(page, f"{language}-reporting-1-checked")

    # the head signs (his own session; here through the service), the chief approves
    services.sign_as_head(statement=Statement.objects.get(pk=statement.pk), actor=head)
    page.reload()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=t["approve"], exact=True).click()
    page.locator(".msg-success").wait_for()
    assert t["locked"] in page.locator(".msg-success").inner_text()
    assert page.locator("#statement-status").inner_text() == t["approved"]
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.APPROVED
    assert Period.objects.get(pk=world.periods_a[1].pk).status == PeriodStatus.APPROVED
    shots(page, f"{language}-reporting-2-approved")

    # try to post into January: refused with the rule's message, nothing written
    before = JournalEntry.objects.filter(institution=world.a).count()
    page.locator("#sidenav").get_by_role("link", name=t["new_entry"], exact=True).click()
    page.fill("#id_date", "2026-01-20")
    page.fill("#id_doc_number", f"LOCK-{language}")
    page.fill("#id_description", "Попытка записи в утверждённый месяц")
    page.fill("input[name=line-0-account]", "7060")
    page.fill("input[name=line-0-amount]", "100")
    page.fill("input[name=line-0-specific]", "111")
    page.fill("input[name=line-1-account]", "1010")
    page.fill("input[name=line-1-amount]", "100")
    page.fill("input[name=line-1-specific]", "111")
    page.get_by_text(re.compile(re.escape(t["refused"]))).first.wait_for()
    page.get_by_role("button", name=t["post"], exact=True).click()
    page.wait_for_load_state()
    page.get_by_text(re.compile(re.escape(t["refused"]))).first.wait_for()
    shots(page, f"{language}-reporting-3-refused")
    assert JournalEntry.objects.filter(institution=world.a).count() == before
    assert not JournalEntry.objects.filter(doc_number=f"LOCK-{language}").exists()
