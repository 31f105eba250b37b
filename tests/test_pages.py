"""The web pages (Django test client, real PostgreSQL): every page renders, roles decide what a
user may see and do, another institution's objects are 404, the entry and correction forms
go through the services, messages come in the user's language."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from access.middleware import SESSION_KEY
from access.models import ActionLog
from access.roles import Role
from access.services import grant_role
from ledger import services
from ledger.models import CorrectionLog, JournalEntry, Period, PeriodStatus
from ledger.templatetags.esep_ui import money

from .factories import YEAR, ledger_state, make_counterparty, pair

DAY = dt.date(YEAR, 11, 20)
PROGRAMME = "261.003.015"


def entry_form(**overrides) -> dict:
    data = {
        "date": DAY.isoformat(), "doc_type": "Мемориальный ордер", "doc_number": "UI-1", "memorial_order": "6",
        "description": "Оплата поставщику", "basis": "Договор № 5", "programme": PROGRAMME,
        "funding_source": "budget_local",
        "line-0-account": "7060", "line-0-side": "D", "line-0-amount": "1 500,00", "line-0-specific": "111",
        "line-0-programme": "", "line-0-funding_source": "", "line-0-counterparty": "", "line-0-description": "",
        "line-3-account": "1010", "line-3-side": "C", "line-3-amount": "1500.00", "line-3-specific": "111",
        "line-3-programme": "", "line-3-funding_source": "", "line-3-counterparty": "", "line-3-description": "",
    }
    data.update(overrides)
    return data


def login(client, user, language: str | None = None):
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def posted(world):
    """Two entries of A (one of them corrected) and one corrected entry of B."""
    first = services.post_entry(institution=world.a, actor=world.chief_a, draft=pair(DAY, "1000.00",
                                                                                        doc_number="A-1"))
    second = services.post_entry(institution=world.a, actor=world.chief_a, draft=pair(DAY, "250.50",
                                                                                         doc_number="A-2"))
    log = services.correct_entry(entry=first, actor=world.chief_a, reason="Ошибка в сумме",
                                 lines=services.lines_of(second), date=DAY)
    b_entry = services.post_entry(institution=world.b, actor=world.accountant_b, draft=pair(DAY, "77.00",
                                                                                           doc_number="B-1"))
    b_other = services.post_entry(institution=world.b, actor=world.accountant_b, draft=pair(DAY, "78.00",
                                                                                           doc_number="B-2"))
    b_log = services.correct_entry(entry=b_entry, actor=world.accountant_b, reason="Ошибка", date=DAY)
    return {"first": first, "second": second, "log": log, "b_entry": b_entry, "b_other": b_other, "b_log": b_log}


# -- every page renders ---------------------------------------------------------------------

def test_every_page_renders_for_the_chief_accountant(client, world, posted):
    login(client, world.chief_a)
    pages = [
        reverse("home"),
        reverse("journal"),
        reverse("journal") + "?date_from=2026-01-01&date_to=2026-12-31&account=7060&kind=regular&doc_number=A",
        reverse("journal") + "?q=A-2",
        reverse("entry_detail", args=[posted["first"].pk]),
        reverse("entry_detail", args=[posted["log"].reversal_id]),
        reverse("entry_new"),
        reverse("entry_correct", args=[posted["second"].pk]),
        reverse("correction_log"),
        reverse("correction_detail", args=[posted["log"].pk]),
        reverse("trial_balance"),
        reverse("trial_balance") + "?date_from=2026-11-01&date_to=2026-11-30&specific=111",
        reverse("account_card"),
        reverse("account_card") + "?account=7060&date_from=2026-01-01&date_to=2026-12-31",
        reverse("general_ledger"),
        reverse("general_ledger") + f"?year={YEAR}",
        reverse("periods"),
        reverse("action_journal"),
        reverse("action_journal") + "?action=post&outcome=success&full_name=Главбух",
        reverse("search") + "?q=A-1",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Esep" in response.content


def test_journal_filters_and_htmx_partial(client, world, posted):
    login(client, world.chief_a)
    response = client.get(reverse("journal") + "?doc_number=A-2", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # only the results are swapped in
    assert "A-2" in html and "A-1-С" not in html
    assert ActionLog.objects.filter(action="view", object_type="journal", user=world.chief_a).exists()


def test_amounts_are_grouped_in_the_users_language():
    with translation.override("ru"):
        assert money(Decimal("1234567.8")) == "1\xa0234\xa0567,80"
    with translation.override("kk"):
        assert money(Decimal("-1234.5")) == "-1\xa0234,50"
        assert money(Decimal("0"), "blank") == ""
    with translation.override("en"):
        assert money(Decimal("1234567.891")) == "1,234,567.89"


def test_reports_show_turnovers_and_are_journaled(client, world, posted):
    login(client, world.chief_a, "ru")
    response = client.get(reverse("trial_balance") + f"?date_from={YEAR}-01-01&date_to={YEAR}-12-31")
    html = response.content.decode()
    # 7060 debit: 1000 + 250.50 − 1000 (reversal) + 250.50 (corrected) = 501.00
    assert "501,00" in html
    assert f"?account=7060&amp;date_from={YEAR}-01-01&amp;date_to={YEAR}-12-31" in html
    card = client.get(reverse("account_card") + f"?account=7060&date_from={YEAR}-01-01&date_to={YEAR}-12-31")
    assert "A-1" in card.content.decode() and "501,00" in card.content.decode()
    gl = client.get(reverse("general_ledger") + f"?year={YEAR}")
    assert "501,00" in gl.content.decode()
    kinds = set(ActionLog.objects.filter(action="view", user=world.chief_a).values_list("object_type", flat=True))
    assert {"trial_balance", "account_card", "general_ledger"} <= kinds


def test_anonymous_is_sent_to_login_and_can_choose_a_language(client, world):
    response = client.get(reverse("journal"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(reverse("set_language"), {"language": "kk", "next": reverse("login")})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"
    page = client.get(reverse("login")).content.decode()
    with translation.override("kk"):
        heading = gettext("Log in to Esep")
    assert heading != "Log in to Esep" and heading in page


def test_login_failure_is_journaled_and_shown(client, world):
    response = client.post(reverse("login"), {"username": "chief_a", "password": "wrong"},
                           headers={"Accept-Language": "ru"})
    assert response.status_code == 200
    with translation.override("ru"):
        assert gettext("Wrong login or password. Both are case-sensitive.") in response.content.decode()
    row = ActionLog.objects.get(action="login_failed")
    assert row.username == "chief_a" and row.outcome == "failed"
    response = client.post(reverse("login"), {"username": "chief_a", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert ActionLog.objects.filter(action="login", user=world.chief_a).exists()


def test_logout_is_a_post(client, world):
    login(client, world.chief_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert ActionLog.objects.filter(action="logout", user=world.chief_a).exists()
    assert client.get(reverse("home")).status_code == 302


# -- roles ----------------------------------------------------------------------------------

def test_auditor_reads_but_gets_no_write_buttons(client, world, posted):
    login(client, world.auditor_a)
    entry = posted["second"]
    detail = client.get(reverse("entry_detail", args=[entry.pk]))
    assert detail.status_code == 200
    assert reverse("entry_correct", args=[entry.pk]) not in detail.content.decode()
    periods = client.get(reverse("periods")).content.decode()
    assert "/close/" not in periods and "/approve/" not in periods and "/reopen/" not in periods
    home = client.get(reverse("home")).content.decode()
    assert reverse("entry_new") not in home
    assert client.get(reverse("action_journal")).status_code == 200
    assert client.get(reverse("trial_balance")).status_code == 200


def test_auditor_writes_are_refused_and_nothing_is_written(client, world, posted):
    login(client, world.auditor_a)
    before = ledger_state()
    period = world.period(world.a, 11)
    refusals = [
        client.get(reverse("entry_new")),
        client.post(reverse("entry_new"), entry_form()),
        client.post(reverse("entry_validate"), entry_form()),
        client.post(reverse("entry_correct", args=[posted["second"].pk]), {"reason": "x", "date": DAY.isoformat(),
                                                                           "cancel_only": "on"}),
        client.post(reverse("period_close", args=[period.pk])),
        client.post(reverse("period_approve", args=[period.pk])),
        client.post(reverse("period_reopen", args=[period.pk]), {"reason": "x"}),
        client.post(reverse("periods_open_year"), {"year": YEAR + 1}),
    ]
    assert [r.status_code for r in refusals] == [403] * len(refusals)
    assert ledger_state() == before
    assert ActionLog.objects.filter(user=world.auditor_a, outcome="refused").count() >= len(refusals)


def test_payroll_clerk_sees_no_accounting(client, world):
    login(client, world.clerk_a)
    home = client.get(reverse("home")).content.decode()
    assert reverse("journal") not in home
    assert client.get(reverse("journal")).status_code == 403
    assert client.get(reverse("action_journal")).status_code == 403


# -- tenant isolation -----------------------------------------------------------------------

def test_another_institutions_objects_are_404(client, world, posted):
    login(client, world.chief_a)
    b_before = ledger_state([world.b.id])
    b_period = world.period(world.b, 11)
    b_entry, b_other, b_log = posted["b_entry"], posted["b_other"], posted["b_log"]
    responses = [
        client.get(reverse("entry_detail", args=[b_entry.pk])),
        client.get(reverse("entry_detail", args=[b_log.reversal_id])),
        client.get(reverse("entry_correct", args=[b_other.pk])),
        client.post(reverse("entry_correct", args=[b_other.pk]), {"reason": "x", "date": DAY.isoformat(),
                                                                   "cancel_only": "on"}),
        client.post(reverse("entry_correct_validate", args=[b_other.pk]), {"reason": "x"}),
        client.get(reverse("correction_detail", args=[b_log.pk])),
        client.post(reverse("period_close", args=[b_period.pk])),
        client.post(reverse("period_approve", args=[b_period.pk])),
        client.post(reverse("period_reopen", args=[b_period.pk]), {"reason": "x"}),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert ledger_state([world.b.id]) == b_before
    # B's rows appear in none of A's lists
    journal = client.get(reverse("journal")).content.decode()
    assert "B-1" not in journal and "B-2" not in journal
    assert "B-1" not in client.get(reverse("correction_log")).content.decode()
    found = client.get(reverse("search") + "?q=B-2").content.decode()
    assert reverse("entry_detail", args=[b_other.pk]) not in found


def test_switching_institution_checks_membership_and_is_journaled(client, world):
    grant_role(actor=None, user=world.chief_a, institution=world.b, role=Role.AUDITOR)
    login(client, world.chief_a)
    response = client.post(reverse("switch_institution"), {"institution": world.b.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == world.b.pk
    assert ActionLog.objects.filter(action="switch", user=world.chief_a, institution=world.b,
                                    outcome="success").exists()
    # as B's auditor: no entry form
    assert client.get(reverse("entry_new")).status_code == 403

    login(client, world.accountant_b)
    response = client.post(reverse("switch_institution"), {"institution": world.a.pk})
    assert response.status_code == 403
    assert ActionLog.objects.filter(action="switch", user=world.accountant_b, outcome="refused").exists()


# -- the entry form -------------------------------------------------------------------------

def test_entry_form_posts_an_entry(client, world):
    login(client, world.accountant_a)
    counterparty = make_counterparty(world.a, "ТОО Поставщик", "77")
    response = client.post(reverse("entry_new"), entry_form(**{"line-3-counterparty": counterparty.iin_bin,
                                                              "line-0-description": "услуги"}))
    assert response.status_code == 302
    entry = JournalEntry.objects.get(institution=world.a, doc_number="UI-1")
    assert response["Location"] == reverse("entry_detail", args=[entry.pk])
    lines = list(entry.postings.order_by("line_no").values_list("account__code", "side", "amount", "counterparty_id",
                                                                "programme", "funding_source__code"))
    assert lines == [("7060", "D", Decimal("1500.00"), None, "003", "budget_local"),
                     ("1010", "C", Decimal("1500.00"), counterparty.id, "003", "budget_local")]
    assert entry.memorial_order == 6 and entry.author == world.accountant_a
    page = client.get(response["Location"]).content.decode()
    assert "UI-1" in page and "1" in page


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_entry_form_refuses_an_unbalanced_entry_in_the_users_language(client, world, language):
    login(client, world.accountant_a)
    before = ledger_state()
    response = client.post(reverse("entry_new"), entry_form(**{"line-3-amount": "1400"}),
                           headers={"Accept-Language": language})
    assert response.status_code == 422
    html = response.content.decode()
    # the ФЛК control's message (FLC-LED-001), in the user's language, with both totals
    expected = {"ru": "запись не сбалансирована", "kk": "жазба теңгерілмеген"}[language]
    with translation.override(language):
        heading = gettext("New entry")
    assert heading != "New entry" and heading in html
    assert expected in html
    assert "1\xa0500,00" in html and "1\xa0400,00" in html
    assert ledger_state() == before


def test_entry_form_shows_each_error_next_to_its_field(client, world):
    login(client, world.accountant_a)
    before = ledger_state()
    response = client.post(reverse("entry_new"), entry_form(**{
        "doc_number": "", "line-3-specific": "999", "line-0-account": "0000",
        "line-5-account": "7060", "line-5-side": "D", "line-5-amount": "abc", "line-5-specific": "111",
    }), headers={"Accept-Language": "ru"})
    html = response.content.decode()
    with translation.override("ru"):
        assert re.search(r'id="err-doc_number"[^>]*><div>' + re.escape(gettext("Document number is required.")), html)
        assert re.search(r'id="err-line-0-account"[^>]*><div>[^<]*0000', html)
        assert re.search(r'id="err-line-3-specific"[^>]*><div>[^<]*999', html)
        assert re.search(r'id="err-line-5-amount"[^>]*><div>' + re.escape(gettext("Amount must be a number.")), html)
    assert ledger_state() == before


def test_entry_form_refuses_a_closed_period(client, world):
    services.close_period(period=world.period(world.a, 11), actor=world.chief_a)
    login(client, world.accountant_a)
    before = ledger_state()
    response = client.post(reverse("entry_new"), entry_form(), headers={"Accept-Language": "ru"})
    assert response.status_code == 422
    assert re.search(r'id="err-date"[^>]*><div>[^<]*2026-11', response.content.decode())
    assert ledger_state() == before


def test_live_validation_writes_nothing_and_reports_totals(client, world):
    login(client, world.accountant_a)
    before = ledger_state()
    actions_before = ActionLog.objects.count()
    response = client.post(reverse("entry_validate"), entry_form(**{"line-3-amount": "1 000", "line-3-specific": "9"}),
                           headers={"HX-Request": "true", "Accept-Language": "ru"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1\xa0500,00" in html and "1\xa0000,00" in html and "500,00" in html  # debit, credit, difference
    assert 'id="err-line-3-specific" hx-swap-oob="true"><div>' in html
    assert 'id="err-line-0-account" hx-swap-oob="true"></div>' in html  # clears what is right now
    assert ledger_state() == before
    assert ActionLog.objects.count() == actions_before

    ok = client.post(reverse("entry_validate"), entry_form(), headers={"HX-Request": "true", "Accept-Language": "ru"})
    with translation.override("ru"):
        assert gettext("Ready to post") in ok.content.decode()


# -- corrections and periods ----------------------------------------------------------------

def test_correction_form_corrects_through_the_service(client, world, posted):
    login(client, world.accountant_a, "kk")
    entry = posted["second"]
    form = client.get(reverse("entry_correct", args=[entry.pk])).content.decode()
    assert 'name="line-0-amount" value="250.50"' in form

    before = ledger_state()
    refused = client.post(reverse("entry_correct", args=[entry.pk]), {
        "reason": "", "date": DAY.isoformat(), "description": "", "programme": PROGRAMME,
        "funding_source": "budget_local", **{k: v for k, v in entry_form().items() if k.startswith("line-")},
    })
    assert refused.status_code == 422
    with translation.override("kk"):
        assert gettext("A correction needs a reason.") in refused.content.decode()
    assert ledger_state() == before

    response = client.post(reverse("entry_correct", args=[entry.pk]), {
        "reason": "Сома қате", "date": DAY.isoformat(), "description": "Түзетілген", "programme": PROGRAMME,
        "funding_source": "budget_local", **{k: v for k, v in entry_form().items() if k.startswith("line-")},
    })
    assert response.status_code == 302
    log = CorrectionLog.objects.get(original=entry)
    assert response["Location"] == reverse("correction_detail", args=[log.pk])
    assert log.reason == "Сома қате" and log.corrected.description == "Түзетілген"
    assert sorted(log.corrected.postings.values_list("amount", flat=True)) == [Decimal("1500.00")] * 2
    detail = client.get(response["Location"]).content.decode()
    assert "Сома қате" in detail and "250,50" in detail  # the original's data as it was
    listing = client.get(reverse("correction_log")).content.decode()
    assert reverse("entry_detail", args=[entry.pk]) in listing
    # corrected once: the button is gone and a second correction is refused
    assert reverse("entry_correct", args=[entry.pk]) not in client.get(
        reverse("entry_detail", args=[entry.pk])).content.decode()
    again = client.post(reverse("entry_correct", args=[entry.pk]), {"reason": "x", "date": DAY.isoformat(),
                                                                     "cancel_only": "on"})
    assert again.status_code == 302 and CorrectionLog.objects.filter(original=entry).count() == 1


def test_cancel_only_posts_a_reversal_without_corrected_entry(client, world, posted):
    login(client, world.chief_a)
    entry = posted["second"]
    response = client.post(reverse("entry_correct", args=[entry.pk]), {
        "reason": "Дубликат", "date": DAY.isoformat(), "cancel_only": "on",
    })
    assert response.status_code == 302
    log = CorrectionLog.objects.get(original=entry)
    assert log.corrected is None and log.reversal.kind == "reversal"


def test_periods_close_reopen_approve(client, world):
    login(client, world.chief_a, "ru")
    period = world.period(world.a, 3)
    url = reverse("periods") + f"?year={YEAR}"
    assert client.post(reverse("period_close", args=[period.pk])).status_code == 302
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.CLOSED
    response = client.post(reverse("period_reopen", args=[period.pk]), {"reason": ""}, follow=True)
    with translation.override("ru"):
        assert gettext("Reopening a period needs a reason.") in response.content.decode()
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.CLOSED
    client.post(reverse("period_reopen", args=[period.pk]), {"reason": "Исправление"})
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.OPEN
    client.post(reverse("period_close", args=[period.pk]))
    client.post(reverse("period_approve", args=[period.pk]))
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.APPROVED
    response = client.post(reverse("period_reopen", args=[period.pk]), {"reason": "Нужно"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.APPROVED
    page = client.get(url).content.decode()
    assert "Исправление" in page  # the history shows the reason


def test_accountant_cannot_close_periods(client, world):
    login(client, world.accountant_a)
    period = world.period(world.a, 4)
    assert reverse("period_close", args=[period.pk]) not in client.get(reverse("periods")).content.decode()
    assert client.post(reverse("period_close", args=[period.pk])).status_code == 403
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.OPEN


def test_action_journal_filters(client, world, posted):
    Client().post(reverse("login"), {"username": "acc_a", "password": "nope"})  # a failed login of A's person
    login(client, world.auditor_a)
    html = client.get(reverse("action_journal") + "?action=correct").content.decode()
    assert "Главбухова" in html and "journal_entry" in html
    failed = client.get(reverse("action_journal") + "?action=login_failed").content.decode()
    assert "acc_a" in failed
    by_iin = client.get(reverse("action_journal") + f"?iin={world.accountant_b.iin}").content.decode()
    assert "Бухгалтерова" not in by_iin  # B's people are not in A's journal


def test_overlong_fields_are_refused_in_kazakh_not_by_the_database(client, world):
    login(client, world.accountant_a, "kk")
    before = ledger_state()
    response = client.post(reverse("entry_new"), entry_form(doc_number="N" * 61))
    assert response.status_code == 422
    assert re.search(r'id="err-doc_number"[^>]*><div>60 таңбадан аспауы тиіс', response.content.decode())
    assert ledger_state() == before


@pytest.mark.parametrize("page,query", [
    ("trial_balance", f"?date_from={YEAR}-01-01&date_to={YEAR}-12-31"),
    ("account_card", f"?account=7060&date_from={YEAR}-01-01&date_to={YEAR}-12-31"),
    ("general_ledger", f"?year={YEAR}"),
])
def test_register_pages_link_downloads_that_hold_the_figures(client, world, posted, page, query):
    import io

    from openpyxl import load_workbook

    login(client, world.accountant_a)
    html = client.get(reverse(page) + query).content.decode()
    links = re.findall(r'<p class="downloads"><a href="([^"]+)">XLSX</a> · <a href="([^"]+)">PDF</a>', html)
    assert links, "no download links on the page"
    xlsx, pdf = (link.replace("&amp;", "&") for link in links[0])
    response = client.get(xlsx)
    assert response.status_code == 200
    cells = [c for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
             for c in row if c is not None]
    # 7060's debit turnover of the year (the account card: the first posting of 1,000.00) is in
    # the workbook as a number, not as text.
    from ledger.queries import trial_balance

    tb = trial_balance(world.a.id, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    expected = Decimal("1000.00") if page == "account_card" else next(r.debit for r in tb.rows if r.code == "7060")
    assert any(isinstance(c, (int, float, Decimal)) and Decimal(str(c)) == expected for c in cells)
    response = client.get(pdf)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
