"""The accountant's round trip in the browser, once in Kazakh and once in Russian: log in, post
an entry through the form (live validation), find it in the trial balance, correct it through
the correction form, find the correction in the correction log. The texts asserted are
written out in each language, so a missing translation fails."""

import datetime as dt
import re

import pytest

from ledger.models import CorrectionLog, JournalEntry
from tests.factories import YEAR, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = dt.date(YEAR, 11, 20)
TEXT = {
    "kk": {
        "login_heading": "Esep жүйесіне кіру", "login_button": "Кіру", "new_entry": "Жаңа жазба",
        "ready": "Өткізуге дайын", "unbalanced": "Теңгерілмеген", "post": "Өткізу", "posted": "жазбасы өткізілді",
        "trial_balance": "Айналым-сальдо ведомосі", "show": "Көрсету", "turnover": "Айналымдар",
        "correct": "Түзету", "correction_heading": "Жазбаны түзету", "correct_submit": "Жазбаны түзету",
        "corrected": "жазбасы түзетілді", "correction_log": "Түзетулер журналы", "reason": "Сома қате енгізілген",
    },
    "ru": {
        "login_heading": "Вход в Esep", "login_button": "Войти", "new_entry": "Новая проводка",
        "ready": "Можно проводить", "unbalanced": "Не сбалансировано", "post": "Провести", "posted": "проведена",
        "trial_balance": "Оборотно-сальдовая ведомость", "show": "Показать", "turnover": "Обороты",
        "correct": "Исправить", "correction_heading": "Исправление проводки", "correct_submit": "Исправить проводку",
        "corrected": "исправлена", "correction_log": "Журнал исправлений", "reason": "Неверно введена сумма",
    },
}


def spaces(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_post_see_correct_and_find_the_correction(live_server, page, shots, language):
    world = build_world()
    t = TEXT[language]
    base = live_server.url

    # 1. log in, choosing the language on the login page
    page.goto(base + "/login/")
    page.locator(f"form.langs button[value={language}]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == t["login_heading"]
    page.fill("#id_username", world.chief_a.username)
    page.fill("#id_password", "correct-horse-battery")
    shots(page, f"{language}-1-login")
    page.get_by_role("button", name=t["login_button"], exact=True).click()
    page.wait_for_url(base + "/")

    # 2. post an entry through the form; the live check follows the typing
    page.locator("#sidenav").get_by_role("link", name=t["new_entry"], exact=True).click()
    assert page.locator("h1").inner_text() == t["new_entry"]
    page.fill("#id_date", DAY.isoformat())
    page.fill("#id_doc_number", f"BR-{language}")
    page.fill("#id_description", "Оплата услуг связи")
    page.fill("input[name=line-0-account]", "7060")
    page.fill("input[name=line-0-amount]", "12 345,67")
    page.fill("input[name=line-0-specific]", "111")
    page.fill("input[name=line-1-account]", "1010")
    page.fill("input[name=line-1-amount]", "12 000")
    page.fill("input[name=line-1-specific]", "111")
    page.locator("#entry-check").get_by_text(t["unbalanced"]).wait_for()
    assert "345,67" in spaces(page.locator("#entry-check").inner_text())  # the difference
    page.fill("input[name=line-1-amount]", "12345.67")
    page.locator("#entry-check").get_by_text(t["ready"]).wait_for()
    shots(page, f"{language}-2-entry-form")
    page.get_by_role("button", name=t["post"], exact=True).click()
    page.locator(".msg-success").wait_for()
    assert t["posted"] in page.locator(".msg-success").inner_text()
    entry = JournalEntry.objects.get(institution=world.a, doc_number=f"BR-{language}")
    assert page.url == f"{base}/entries/{entry.pk}/"
    shots(page, f"{language}-3-entry")

    # 3. the trial balance shows the turnover on 7060
    page.locator("#sidenav").get_by_role("link", name=t["trial_balance"], exact=True).click()
    assert page.locator("h1").inner_text() == t["trial_balance"]
    page.fill("#id_date_from", f"{YEAR}-01-01")
    page.fill("#id_date_to", f"{YEAR}-12-31")
    page.get_by_role("button", name=t["show"], exact=True).click()
    page.get_by_role("columnheader", name=t["turnover"]).wait_for()
    row = page.locator("table.report tbody tr", has=page.get_by_role("link", name="7060", exact=True))
    cells = [spaces(c) for c in row.locator("td").all_inner_texts()]
    assert cells[4] == "12 345,67", cells  # debit turnover
    shots(page, f"{language}-4-trial-balance")

    # 4. drill down to the account card, open the entry and correct it
    row.get_by_role("link", name="7060", exact=True).click()
    page.get_by_role("link", name=re.compile(f"BR-{language}")).click()
    page.get_by_role("link", name=t["correct"], exact=True).click()
    assert page.locator("h1").inner_text() == t["correction_heading"]
    page.fill("#id_reason", t["reason"])
    page.fill("#id_date", DAY.isoformat())
    page.fill("input[name=line-0-amount]", "12 000,00")
    page.fill("input[name=line-1-amount]", "12 000,00")
    page.locator("#entry-check").get_by_text(t["ready"]).wait_for()
    shots(page, f"{language}-5-correction-form")
    page.get_by_role("button", name=t["correct_submit"], exact=True).click()
    page.locator(".msg-success").wait_for()
    assert t["corrected"] in page.locator(".msg-success").inner_text()
    log = CorrectionLog.objects.get(original=entry)
    assert log.reason == t["reason"] and log.corrected is not None
    shots(page, f"{language}-6-correction")

    # 5. the correction log lists it, linked to the original
    page.locator("#sidenav").get_by_role("link", name=t["correction_log"], exact=True).click()
    assert page.locator("h1").inner_text() == t["correction_log"]
    listed = page.locator("table.grid tbody tr", has=page.get_by_text(t["reason"]))
    assert listed.count() == 1
    assert listed.get_by_role("link", name=re.compile(f"BR-{language}$")).get_attribute("href") == \
        f"/entries/{entry.pk}/"
    shots(page, f"{language}-7-correction-log")
