"""Financing plan imports: golden files in the three channels, the malformed corpus (each
answered with its rule and nothing written), certificates and versions, idempotency."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import translation

from esep.imports import ImportRefused
from financing import queries, services
from financing.imports import BYTES_MAX
from financing.models import Channel, PlanDocument, PlanLine
from ledger.models import BudgetProgramme

from .factories import REF_FROM
from .financing_support import FILES, as_json, as_xlsx, line, plan_doc

MALFORMED = json.loads((FILES / "malformed" / "expected.json").read_text(encoding="utf-8"))
D = Decimal


@pytest.fixture
def fin(world):
    BudgetProgramme.objects.create(administrator="261", functional_group="04", functional_subgroup="2",
                                   programme="003", subprogramme="011", name_ru="П", name_kk="Б", valid_from=REF_FROM)
    return world


def golden(name: str) -> bytes:
    return (FILES / "golden" / name).read_bytes()


def imp(world, data: bytes, fmt="json", actor=None):
    return services.import_plan(institution=world.a, actor=actor or world.accountant_a, data=data, fmt=fmt,
                                channel=Channel.XLSX if fmt == "xlsx" else Channel.JSON)


def nothing_written():
    return PlanDocument.objects.count() == 0 and PlanLine.objects.count() == 0


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_golden_plan_is_version_one_with_every_line(fin, fmt):
    doc, created = imp(fin, golden(f"plan.{fmt}"), fmt)
    assert created and doc.version == 1 and doc.kind == "plan" and doc.year == 2026
    assert doc.lines.count() == 6  # three lines in each of the two plans
    plan = queries.effective_plan(fin.a, 2026, on_date=dt.date(2026, 1, 5))
    assert plan[("payments", ("261", "003", "015", "141"))][:4] == [D("100.00"), D("100.00"), D("100.00"),
                                                                     D("50.50")]
    assert queries.payments_plan(fin.a, 2026, 1, "111", on_date=dt.date(2026, 2, 1)) == D("500000.00")
    assert queries.payments_plan(fin.a, 2026, 6, "414", on_date=dt.date(2026, 2, 1)) == D("250000.00")


def test_payments_plan_is_none_without_a_plan_in_force(fin):
    assert queries.payments_plan(fin.a, 2026, 1, "111") is None
    imp(fin, golden("plan.json"))
    assert queries.payments_plan(fin.a, 2026, 1, "111", on_date=dt.date(2026, 1, 4)) is None
    assert queries.payments_plan(fin.a, 2027, 1, "111", on_date=dt.date(2026, 6, 1)) is None
    assert queries.payments_plan(fin.a, 2026, 1, "999", on_date=dt.date(2026, 6, 1)) == D("0.00")
    assert queries.payments_plan(fin.b, 2026, 1, "111", on_date=dt.date(2026, 6, 1)) is None


def test_same_document_twice_by_any_channel_is_accepted_once(fin):
    first, created = imp(fin, golden("plan.json"))
    again, created_again = imp(fin, golden("plan.xlsx"), "xlsx")
    assert created and not created_again and again.pk == first.pk
    assert PlanDocument.objects.count() == 1 and PlanLine.objects.count() == 6


def test_same_id_with_other_content_is_refused(fin):
    imp(fin, golden("plan.json"))
    doc = json.loads(golden("plan.json"))
    doc["number"] = "ИПФ-2"
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_json(doc))
    assert [p.rule for p in refused.value.problems] == ["FIN-IMP-ID"]
    assert PlanDocument.objects.count() == 1


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_is_refused_with_its_rule_and_nothing_written(fin, name):
    data = (FILES / "malformed" / name).read_bytes()
    with pytest.raises(ImportRefused) as refused:
        imp(fin, data, "xlsx" if name.endswith(".xlsx") else "json")
    rules = {p.rule for p in refused.value.problems}
    assert set(MALFORMED[name]) <= rules, rules
    assert nothing_written()
    body = refused.value.as_dict()
    assert body["code"] == "import_refused" and all(e["message"] for e in body["errors"])


def test_corpus_has_at_least_twenty_files():
    assert len(MALFORMED) >= 20


def test_very_large_file_is_refused_before_it_is_parsed(fin):
    data = as_json(plan_doc(fin.a)) + b" " * (BYTES_MAX + 1)
    with pytest.raises(ImportRefused) as refused:
        imp(fin, data)
    assert [p.rule for p in refused.value.problems] == ["FIN-IMP-SIZE"]
    assert nothing_written()


def test_every_problem_is_reported_with_where_and_what(fin):
    doc = plan_doc(fin.a, lines=[line(("261", "003", "015", "999")), line(("261", "003", "015", "141"))])
    doc["payments"] = [line(("261", "003", "015", "999")), line(("261", "003", "015", "141"))]
    doc["obligations"][1]["months"][1] = "abc"
    doc["bin"] = "000000000000"
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_xlsx(doc), "xlsx")
    problems = refused.value.problems
    rules = [p.rule for p in problems]
    assert "FIN-IMP-BIN" in rules and rules.count("FIN-IMP-CODE") == 2 and "FIN-IMP-AMOUNT" in rules
    amount = next(p for p in problems if p.rule == "FIN-IMP-AMOUNT")
    assert (amount.sheet, amount.row, amount.column, amount.value) == ("Обязательства", 3, "F", "abc")


def test_problems_are_in_the_users_language(fin):
    data = (FILES / "malformed" / "bin_mismatch.json").read_bytes()
    for language, word in (("ru", "БИН"), ("kk", "БСН")):
        with translation.override(language), pytest.raises(ImportRefused) as refused:
            imp(fin, data)
        assert word in str(refused.value.problems[0].message)


# -- versions and certificates -----------------------------------------------------------------

def test_certificate_sequence_and_effective_plan_at_each_date(fin):
    imp(fin, golden("plan.json"))
    cert, created = imp(fin, golden("certificate.json"))
    assert created and cert.version == 2 and cert.kind == "certificate"
    key = ("payments", ("261", "003", "015", "141"))
    before = queries.effective_plan(fin.a, 2026, on_date=dt.date(2026, 3, 9))[key]
    after = queries.effective_plan(fin.a, 2026, on_date=dt.date(2026, 3, 10))[key]
    assert before[2:4] == [D("100.00"), D("50.50")] and after[2:4] == [D("150.00"), D("0.00")]
    refinement = plan_doc(fin.a, kind="refinement", doc_id="R-1", number="У-1", date="2026-04-01",
                          lines=[line(("261", "003", "015", "111"), ["0"] * 11 + ["-1000.00"])])
    adjustment = plan_doc(fin.a, kind="adjustment", doc_id="K-1", number="К-1", date="2026-04-02",
                          lines=[line(("261", "003", "015", "141"), ["0"] * 11 + ["10.00"])])
    current = plan_doc(fin.a, kind="current", doc_id="T-1", number="Т-1", date="2026-04-02",
                       lines=[line(("261", "003", "015", "414"), ["0"] * 6 + ["5.00"] + ["0"] * 5)])
    versions = [imp(fin, as_json(d))[0].version for d in (refinement, adjustment, current)]
    assert versions == [3, 4, 5]
    assert queries.payments_plan(fin.a, 2026, 12, "111", on_date=dt.date(2026, 4, 2)) == D("499000.00")
    assert queries.payments_plan(fin.a, 2026, 12, "111", on_date=dt.date(2026, 3, 31)) == D("500000.00")
    diff = queries.diff(fin.a, 2026, 1, 2)
    assert {(r.plan_type, r.key[3]) for r in diff} == {("obligations", "141"), ("payments", "141")}
    assert diff[0].change[2:4] == [D("50.00"), D("-50.50")] and diff[0].year_change == D("-0.50")


def test_certificate_without_a_plan_is_refused(fin):
    with pytest.raises(ImportRefused) as refused:
        imp(fin, golden("certificate.json"))
    assert [p.rule for p in refused.value.problems] == ["FIN-IMP-VERSION"]
    assert nothing_written()


def test_second_approved_plan_is_refused(fin):
    imp(fin, golden("plan.json"))
    doc = json.loads(golden("plan.json"))
    doc["document_id"] = "PLAN-AGAIN"
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_json(doc))
    assert "FIN-IMP-VERSION" in {p.rule for p in refused.value.problems}


def test_certificate_dated_before_the_last_version_is_refused(fin):
    imp(fin, golden("plan.json"))
    doc = json.loads(golden("certificate.json"))
    doc["date"] = "2026-01-04"
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_json(doc))
    assert "FIN-IMP-DATE" in {p.rule for p in refused.value.problems}
    assert PlanDocument.objects.count() == 1


def test_certificate_may_not_make_a_month_negative(fin):
    imp(fin, golden("plan.json"))
    doc = plan_doc(fin.a, kind="certificate", doc_id="C-neg", date="2026-02-01",
                   lines=[line(("261", "003", "015", "141"), ["-100.01"] + ["0"] * 11)])
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_json(doc))
    problems = refused.value.problems
    assert {p.rule for p in problems} == {"FIN-IMP-NEGATIVE"} and len(problems) == 2  # both plans
    assert PlanDocument.objects.count() == 1


def test_pilot_certificate_after_the_25th_is_refused_by_flc_fin_004(fin):
    fin.a.is_block_budget_pilot = True
    fin.a.save()
    imp(fin, golden("plan.json"))
    on_25 = plan_doc(fin.a, kind="certificate", doc_id="C-25", date="2026-03-25",
                     lines=[line(("261", "003", "015", "141"), ["0"] * 11 + ["1.00"])])
    on_26 = plan_doc(fin.a, kind="certificate", doc_id="C-26", date="2026-04-26",
                     lines=[line(("261", "003", "015", "141"), ["0"] * 11 + ["1.00"])])
    assert imp(fin, as_json(on_25))[0].version == 2
    with pytest.raises(ImportRefused) as refused:
        imp(fin, as_json(on_26))
    assert [p.rule for p in refused.value.problems] == ["FLC-FIN-004"]
    assert "25" in str(refused.value.problems[0].message)
    assert PlanDocument.objects.count() == 2
    fin.b.is_block_budget_pilot = False  # not a pilot: the 26th is fine
    doc = plan_doc(fin.a, doc_id="PLAN-B")
    doc["bin"] = fin.b.bin
    services.import_plan(institution=fin.b, actor=fin.accountant_b, data=as_json(doc))
    late = {**on_26, "bin": fin.b.bin, "document_id": "C-26-B"}
    assert services.import_plan(institution=fin.b, actor=fin.accountant_b, data=as_json(late))[0].version == 2


def test_auditor_may_not_import(fin):
    from access.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        imp(fin, golden("plan.json"), actor=fin.auditor_a)
    assert nothing_written()


def test_import_and_refusal_are_journaled(fin):
    from access.models import ActionLog

    imp(fin, golden("plan.json"))
    row = ActionLog.objects.filter(object_type="plan_document", outcome="success").get()
    assert row.user_id == fin.accountant_a.id and "v1 plan" in row.details
    from access.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        imp(fin, golden("plan.json"), actor=fin.auditor_a)
    assert ActionLog.objects.filter(object_type="plan_document", outcome="refused", user=fin.auditor_a).exists()


def test_golden_json_files_satisfy_the_published_schema():
    import jsonschema

    from financing.imports import schema

    for name in ("plan.json", "certificate.json"):
        jsonschema.Draft202012Validator(schema()).validate(json.loads(golden(name), parse_float=Decimal))
    bad = json.loads((FILES / "malformed" / "missing_months.json").read_bytes())
    assert list(jsonschema.Draft202012Validator(schema()).iter_errors(bad))
