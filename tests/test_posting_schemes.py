"""Posting schemes: a sub-ledger's operation becomes an ordinary entry through dated data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from access.errors import ControlError, PermissionRefused
from access.roles import Capability
from ledger.models import JournalEntry, Posting, SchemeLine
from ledger.schemes import Classification, SchemeAmount, entry_from_scheme, load_schemes, scheme_for
from ledger.services import post_entries

from .factories import PROGRAMME, REF_FROM

DAY = dt.date(2026, 3, 31)
CLS = Classification(specific="111", administrator=PROGRAMME[0], programme=PROGRAMME[1],
                     subprogramme=PROGRAMME[2], funding_source="budget_local")


def scheme_line(operation="payroll.accrual", key="gross", debit="7010", credit="3241", *, valid_from=REF_FROM,
                valid_to=None, institution=None, specific=""):
    return SchemeLine.objects.create(operation=operation, amount_key=key, debit_account=debit, credit_account=credit,
                                     valid_from=valid_from, valid_to=valid_to, institution=institution,
                                     specific=specific, description_ru="Начислена зарплата",
                                     description_kk="Жалақы есептелді")


def test_the_line_in_force_on_the_date_is_used(world):
    scheme_line(valid_to=dt.date(2026, 1, 31), credit="3210")
    scheme_line(valid_from=dt.date(2026, 2, 1))
    assert scheme_for(world.a, "payroll.accrual", dt.date(2026, 1, 15))["gross"].credit_account == "3210"
    assert scheme_for(world.a, "payroll.accrual", DAY)["gross"].credit_account == "3241"
    assert scheme_for(world.a, "payroll.accrual", dt.date(2023, 12, 31)) == {}


def test_an_institutions_own_line_overrides_the_deployments(world):
    scheme_line()
    scheme_line(institution=world.a, debit="7060", valid_from=dt.date(2025, 1, 1))
    assert scheme_for(world.a, "payroll.accrual", DAY)["gross"].debit_account == "7060"
    assert scheme_for(world.b, "payroll.accrual", DAY)["gross"].debit_account == "7010"


def test_an_entry_from_the_scheme_balances_and_posts_under_the_sub_ledgers_capability(world):
    scheme_line()
    scheme_line(key="employer", debit="7060", credit="3210", specific="141")
    draft = entry_from_scheme(
        institution=world.a, operation="payroll.accrual", date=DAY, doc_type="payroll", doc_number="2026-03",
        description="Зарплата за март",
        amounts=[SchemeAmount("gross", Decimal("300000.00"), CLS), SchemeAmount("employer", Decimal("12345.67"), CLS),
                 SchemeAmount("gross", Decimal("0"), CLS)])
    assert [(ln.account, ln.side, ln.amount, ln.specific) for ln in draft.lines] == [
        ("7010", "D", Decimal("300000.00"), "111"), ("3241", "C", Decimal("300000.00"), "111"),
        ("7060", "D", Decimal("12345.67"), "141"), ("3210", "C", Decimal("12345.67"), "141"),
    ]
    # A payroll clerk may not post arbitrary entries, but posts what the payroll run produced.
    with pytest.raises(PermissionRefused):
        post_entries(institution=world.a, actor=world.clerk_a, drafts=[draft])
    (entry,) = post_entries(institution=world.a, actor=world.clerk_a, drafts=[draft], source="payroll 2026-03",
                            capability=Capability.EDIT_PAYROLL)
    postings = Posting.objects.filter(entry_id=entry.id)
    assert sum(p.amount for p in postings if p.side == "D") == sum(p.amount for p in postings if p.side == "C")
    assert postings.count() == 4


def test_an_amount_without_a_scheme_line_is_refused_naming_operation_and_key(world):
    scheme_line()
    with pytest.raises(ControlError) as refused:
        entry_from_scheme(institution=world.a, operation="payroll.accrual", date=DAY, doc_type="payroll",
                          doc_number="1", description="x",
                          amounts=[SchemeAmount("gross", Decimal("1"), CLS), SchemeAmount("opv", Decimal("2"), CLS)])
    assert refused.value.code == "scheme_missing"
    assert refused.value.field == "amounts[1].opv"
    assert "payroll.accrual" in str(refused.value.message) and "opv" in str(refused.value.message)
    assert JournalEntry.objects.count() == 0


@pytest.mark.parametrize("debit,credit", [("7010", "7010"), ("70", "3241"), ("7010", "abcd")])
def test_the_database_refuses_a_malformed_line(world, debit, credit):
    with pytest.raises(IntegrityError), transaction.atomic():
        scheme_line(debit=debit, credit=credit)


def test_the_same_line_twice_is_refused_by_the_database_even_for_the_deployment(world):
    scheme_line()
    with pytest.raises(IntegrityError), transaction.atomic():
        scheme_line()


HEADER = ("operation,amount_key,debit_account,credit_account,specific,valid_from,valid_to,description_ru,"
          "description_kk,source,status\n")


def test_loading_default_schemes_is_idempotent_and_all_or_nothing(world, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "payroll.accrual,gross,7010,3241,,2024-01-01,,Начислено,Есептелді,test,unverified\n"
                    "payroll.accrual,opv,3241,3210,,2024-01-01,,ОПВ,МЗЖ,test,unverified\n", encoding="utf-8")
    assert load_schemes([good]) == 2
    assert load_schemes([good]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "inventory.receipt,cost,2350,3210,,2024-01-01,,Поступление,Кіріс,test,unverified\n"
                   "inventory.receipt,vat,2350,3210,,not-a-date,,НДС,ҚҚС,test,unverified\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv:3"):
        load_schemes([bad])
    assert not SchemeLine.objects.filter(operation="inventory.receipt").exists()
    wrong_header = tmp_path / "header.csv"
    wrong_header.write_text("operation,key\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_schemes([wrong_header])
