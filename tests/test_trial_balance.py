"""Trial balance (оборотно-сальдовая ведомость), account card, general ledger and search on a
small ledger whose every figure is worked out by hand below."""

import datetime as dt
from decimal import Decimal

import pytest

from ledger.queries import account_card, general_ledger, search_entries, trial_balance, trial_balance_by_scan
from ledger.services import post_entry

from .factories import draft, line, make_counterparty, run_commit_checks

D = Decimal
d = dt.date


@pytest.fixture
def books(world):
    """Institution A's 2026 (specific / funding source in brackets):

    Jan 15  1010 D 1000 / 6010 C 1000   (111, budget_local)  financing received
    Feb 10  7060 D  300 / 1010 C  300   (141, budget_local)  communication services
    Feb 20  7010 D  200 / 3241 C  200   (111, grant)         wages accrued
    Mar  5  3241 D  200 / 1010 C  200   (111, grant)         wages paid
    Mar 25  1310 D   50 / 3210 C   50   (414, budget_local)  stock from a supplier (counterparty)

    Institution B: Feb 10  1010 D 999 / 6010 C 999 — must never show up in A's figures.
    """
    supplier = make_counterparty(world.a, "ТОО Альфа-Сервис", "5")

    def post(date, *lines, institution=None, **kw):
        institution = institution or world.a
        actor = world.accountant_a if institution.id == world.a.id else world.accountant_b
        return post_entry(institution=institution, actor=actor, draft=draft(date, *lines, **kw))

    entries = {
        "financing": post(d(2026, 1, 15), line("1010", "D", "1000"), line("6010", "C", "1000"),
                          doc_number="ПП-12345", description="Поступление финансирования"),
        "services": post(d(2026, 2, 10), line("7060", "D", "300", "141", description="услуги связи за январь"),
                         line("1010", "C", "300", "141"), doc_number="АКТ-77", description="Оплата услуг связи"),
        "accrual": post(d(2026, 2, 20), line("7010", "D", "200", funding="grant"),
                        line("3241", "C", "200", funding="grant"), doc_number="ВЕД-2",
                        description="Начисление заработной платы"),
        "payment": post(d(2026, 3, 5), line("3241", "D", "200", funding="grant"),
                        line("1010", "C", "200", funding="grant"), doc_number="ПП-200",
                        description="Выплата заработной платы"),
        "stock": post(d(2026, 3, 25), line("1310", "D", "50", "414", description="картриджи для принтера"),
                      line("3210", "C", "50", "414", counterparty_id=supplier.id), doc_number="НКЛ-9",
                      description="Поступление запасов"),
    }
    post(d(2026, 2, 10), line("1010", "D", "999"), line("6010", "C", "999"), institution=world.b,
         doc_number="Б-ЧУЖОЙ-1", description="Чужое финансирование картриджи")
    entries["supplier"] = supplier
    run_commit_checks()  # entries are searchable once sealed, at commit
    return entries


def figures(tb) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]:
    """account code → (opening, debit, credit, closing), balances signed debit-positive."""
    return {r.code: (r.opening, r.debit, r.credit, r.closing) for r in tb.rows}


def both(world, date_from, date_to, **filters):
    """The trial balance from turnovers; without filters it must equal the full scan."""
    tb = trial_balance(world.a.id, date_from, date_to, **filters)
    if not filters:
        assert figures(tb) == figures(trial_balance_by_scan(world.a.id, date_from, date_to))
    return figures(tb)


def test_whole_month(world, books):
    assert both(world, d(2026, 2, 1), d(2026, 2, 28)) == {
        "1010": (D(1000), 0, D(300), D(700)),
        "3241": (0, 0, D(200), D(-200)),
        "6010": (D(-1000), 0, 0, D(-1000)),
        "7010": (0, D(200), 0, D(200)),
        "7060": (0, D(300), 0, D(300)),
    }


def test_partial_months_at_both_edges(world, books):
    # opening at Feb 15: 1010 1000 − 300; within: Feb 20 and Mar 5; Mar 25 falls after the range
    assert both(world, d(2026, 2, 15), d(2026, 3, 10)) == {
        "1010": (D(700), 0, D(200), D(500)),
        "3241": (0, D(200), D(200), 0),
        "6010": (D(-1000), 0, 0, D(-1000)),
        "7010": (0, D(200), 0, D(200)),
        "7060": (D(300), 0, 0, D(300)),
    }


def test_range_inside_one_month_without_postings(world, books):
    assert both(world, d(2026, 1, 16), d(2026, 1, 31)) == {
        "1010": (D(1000), 0, 0, D(1000)),
        "6010": (D(-1000), 0, 0, D(-1000)),
    }


def test_single_day_and_day_before_a_posting(world, books):
    assert both(world, d(2026, 3, 25), d(2026, 3, 25))["1310"] == (0, D(50), 0, D(50))
    assert "1310" not in both(world, d(2026, 3, 24), d(2026, 3, 24))
    assert both(world, d(2026, 3, 26), d(2026, 3, 26))["3210"] == (D(-50), 0, 0, D(-50))


def test_range_spanning_years_and_whole_months(world, books):
    year = both(world, d(2025, 12, 1), d(2026, 12, 31))
    assert year == {
        "1010": (0, D(1000), D(500), D(500)),
        "1310": (0, D(50), 0, D(50)),
        "3210": (0, 0, D(50), D(-50)),
        "3241": (0, D(200), D(200), 0),
        "6010": (0, 0, D(1000), D(-1000)),
        "7010": (0, D(200), 0, D(200)),
        "7060": (0, D(300), 0, D(300)),
    }
    assert sum(closing for *_, closing in year.values()) == 0


def test_totals_balance(world, books):
    totals = trial_balance(world.a.id, d(2026, 2, 15), d(2026, 3, 31)).totals()
    # opening at Feb 15: debit 1010 700 + 7060 300; credit 6010 1000
    assert (totals["opening_debit"], totals["opening_credit"]) == (D(1000), D(1000))
    # Feb 20 200, Mar 5 200, Mar 25 50
    assert (totals["debit"], totals["credit"]) == (D(450), D(450))
    # closing debit: 1010 500 + 1310 50 + 7010 200 + 7060 300; credit: 3210 50 + 6010 1000
    assert (totals["closing_debit"], totals["closing_credit"]) == (D(1050), D(1050))


def test_filter_by_specific(world, books):
    assert both(world, d(2026, 2, 15), d(2026, 3, 10), specific="141") == {
        "1010": (D(-300), 0, 0, D(-300)),
        "7060": (D(300), 0, 0, D(300)),
    }
    assert both(world, d(2026, 3, 1), d(2026, 3, 31), specific="414") == {
        "1310": (0, D(50), 0, D(50)),
        "3210": (0, 0, D(50), D(-50)),
    }


def test_filter_by_funding_source(world, books):
    grant = world.funding["grant"].id
    assert both(world, d(2026, 3, 1), d(2026, 3, 31), funding_source_id=grant) == {
        "1010": (0, 0, D(200), D(-200)),
        "3241": (D(-200), D(200), 0, 0),
        "7010": (D(200), 0, 0, D(200)),
    }
    assert both(world, d(2026, 2, 21), d(2026, 3, 4), funding_source_id=grant) == {
        "3241": (D(-200), 0, 0, D(-200)),
        "7010": (D(200), 0, 0, D(200)),
    }


def test_other_institutions_figures_stay_out(world, books):
    assert both(world, d(2026, 2, 1), d(2026, 2, 28))["1010"][1] == 0
    b = figures(trial_balance(world.b.id, d(2026, 1, 1), d(2026, 12, 31)))
    assert b == {"1010": (0, D(999), 0, D(999)), "6010": (0, 0, D(999), D(-999))}


def test_account_card_running_balance(world, books):
    opening, lines, truncated = account_card(world.a.id, world.accounts["1010"], d(2026, 2, 1), d(2026, 3, 31))
    assert opening == D(1000)
    assert [(cl.posting.date, cl.posting.side, cl.posting.amount, cl.balance) for cl in lines] == [
        (d(2026, 2, 10), "C", D(300), D(700)),
        (d(2026, 3, 5), "C", D(200), D(500)),
    ]
    assert not truncated
    _, lines, truncated = account_card(world.a.id, world.accounts["1010"], d(2026, 1, 1), d(2026, 3, 31), limit=2)
    assert [cl.balance for cl in lines] == [D(1000), D(700)] and truncated


def test_general_ledger_by_month(world, books):
    rows = {(r["account"], r["month"]): (r["debit"], r["credit"]) for r in general_ledger(world.a.id, 2026)}
    assert rows[("1010", 1)] == (D(1000), 0)
    assert rows[("1010", 2)] == (0, D(300))
    assert rows[("1010", 3)] == (0, D(200))
    assert rows[("3241", 3)] == (D(200), 0)
    assert len(rows) == 10  # two accounts for each of the five entries, no two sharing a month


@pytest.mark.parametrize("query, expected", [
    ("2345", {"financing"}),  # fragment of a document number
    ("пп-", {"financing", "payment"}),  # case-insensitive fragment
    ("связи", {"services"}),  # a word of the description
    ("заработн", {"accrual", "payment"}),  # word prefix
    ("картридж", {"stock"}),  # a posting's description
    ("Альфа", {"stock"}),  # counterparty name
    ("финансирования", {"financing"}),
])
def test_search_finds_entries_of_this_institution_only(world, books, query, expected):
    found = {e.id for e in search_entries(world.a.id, query)}
    assert found == {books[name].id for name in expected}


def test_search_by_counterparty_identifier(world, books):
    assert [e.id for e in search_entries(world.a.id, books["supplier"].iin_bin)] == [books["stock"].id]


def test_search_finds_nothing_of_another_institution(world, books):
    assert list(search_entries(world.a.id, "Б-ЧУЖОЙ")) == []
    assert list(search_entries(world.a.id, "Чужое")) == []
    assert [e.institution_id for e in search_entries(world.b.id, "картриджи")] == [world.b.id]
    assert list(search_entries(world.a.id, "   ")) == []
