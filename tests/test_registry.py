"""Counterparties from a legal-entities registry extract (R19): ledger/registry.py.

Real PostgreSQL, inside the test transaction (`db`). Input is the sample extract shipped in
ledger/data, or a copy of it changed in the test.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from auditlog.models import LogEntry

from access import services as access_services
from access.errors import ControlError, ControlErrors, PermissionRefused
from access.identifiers import has_valid_check_digit
from access.models import ActionLog, BudgetLevel
from access.roles import Role
from ledger.demo import make_bin, make_iin
from ledger.models import Counterparty
from ledger.registry import (
    ExtractFileSource,
    RecordsSource,
    RegistryFormatError,
    RegistryRecord,
    RegistrySource,
    import_counterparties,
)

SAMPLE = Path(__file__).resolve().parent.parent / "ledger" / "data" / "registry_extract_sample.xml"
SAMPLE_ACTIVE = 7  # of 8 entities, one is liquidated
THIRD_BIN = "110540019823"  # record 3 of the sample


@pytest.fixture
def school(db):
    institution = access_services.create_institution(
        actor=None, bin=make_bin("0101", 777), name_kk="№ 1 мектеп", name_ru="Школа № 1",
        budget_level=BudgetLevel.DISTRICT, region="Карагандинская область", administrator_code="261",
    )
    accountant = access_services.create_user(
        actor=None, username="acc", password="x" * 12, last_name="Оспанова", first_name="Әйгерім",
        patronymic="Болатқызы", iin=make_iin(dt.date(1991, 7, 2), False, 42),
    )
    access_services.grant_role(actor=None, user=accountant, institution=institution, role=Role.ACCOUNTANT)
    clerk = access_services.create_user(
        actor=None, username="clerk", password="x" * 12, last_name="Нұрпейісова", first_name="Сәуле",
        iin=make_iin(dt.date(1984, 11, 20), False, 43),
    )
    access_services.grant_role(actor=None, user=clerk, institution=institution, role=Role.PAYROLL_CLERK)
    return institution, accountant, clerk


def extract_with(tmp_path, old: str, new: str) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "extract.xml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def snapshot(institution):
    return sorted(Counterparty.objects.filter(institution=institution).values_list(
        "id", "iin_bin", "name", "address", "source"))


def test_sample_extract_is_valid_and_documented():
    records = ExtractFileSource(SAMPLE).records()
    assert len(records) == 8
    assert all(has_valid_check_digit(r.iin_bin) for r in records)
    assert [r.row for r in records] == list(range(1, 9))
    assert {r.status for r in records} == {"active", "suspended", "liquidated"}
    assert records[0].registered_on == dt.date(2004, 1, 21)


def test_good_extract_loads_and_is_journalled(school):
    institution, accountant, _clerk = school
    source = ExtractFileSource(SAMPLE)
    assert isinstance(source, RegistrySource)

    report = import_counterparties(institution, source, accountant)

    assert (report.created, report.updated, report.unchanged, report.skipped_liquidated) == (SAMPLE_ACTIVE, 0, 0, 1)
    rows = Counterparty.objects.filter(institution=institution)
    assert rows.count() == SAMPLE_ACTIVE
    first = rows.get(iin_bin="040140002313")
    assert first.name == "ТОО «Карагандинская теплосетевая компания»"
    assert first.address == "г. Караганда, ул. Ерубаева, 35"
    assert first.source == "registry:registry_extract_sample.xml"
    assert rows.filter(iin_bin="780315402452").exists()  # an entrepreneur with an IIN
    assert not rows.filter(iin_bin="020640009157").exists()  # liquidated: not added
    log = ActionLog.objects.get(object_type="counterparty")
    assert (log.action, log.outcome, log.institution_id, log.user_id) == ("create", "success", institution.id,
                                                                         accountant.id)
    assert "7 created" in log.details
    assert LogEntry.objects.get_for_model(Counterparty).count() == SAMPLE_ACTIVE  # auditlog saw each


def test_one_bad_bin_writes_nothing_and_names_the_row(school, tmp_path):
    institution, accountant, _clerk = school
    bad = THIRD_BIN[:-1] + str((int(THIRD_BIN[-1]) + 1) % 10)
    path = extract_with(tmp_path, f"<bin>{THIRD_BIN}</bin>", f"<bin>{bad}</bin>")
    journal_before = ActionLog.objects.count()

    with pytest.raises(ControlError) as caught:
        import_counterparties(institution, ExtractFileSource(path), accountant)

    error = caught.value
    assert not isinstance(error, ControlErrors)
    assert error.code == "bin_check_digit"
    assert error.field == "records[3].bin"
    assert error.params["row"] == 3
    assert "record 3 (line" in str(error.message) and bad in str(error.message)
    assert Counterparty.objects.count() == 0
    assert ActionLog.objects.count() == journal_before


def test_every_bad_record_is_reported_at_once(school, tmp_path):
    institution, accountant, _clerk = school
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("<bin>040140002313</bin>", "<bin>04014000231</bin>")  # record 1: 11 digits
    text = text.replace("<registered>2011-05-03</registered>", "<registered>03.05.2011</registered>")  # record 3
    text = text.replace("<status>suspended</status>", "<status>unknown</status>")  # record 7
    text = text.replace("<iin>780315402452</iin>", "<bin>980940014575</bin>")  # record 6 repeats record 2
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ControlErrors) as caught:
        import_counterparties(institution, ExtractFileSource(path), accountant)

    found = {(e.field, e.code) for e in caught.value.errors}
    assert found == {("records[1].bin", "bin_format"), ("records[3].registered", "date"),
                     ("records[7].status", "choice"), ("records[6].bin", "registry_duplicate")}
    assert Counterparty.objects.count() == 0


def test_second_import_is_idempotent(school):
    institution, accountant, _clerk = school
    import_counterparties(institution, ExtractFileSource(SAMPLE), accountant)
    before, audit_before = snapshot(institution), LogEntry.objects.count()

    report = import_counterparties(institution, ExtractFileSource(SAMPLE), accountant)

    assert (report.created, report.updated, report.unchanged) == (0, 0, SAMPLE_ACTIVE)
    assert snapshot(institution) == before
    assert LogEntry.objects.count() == audit_before


def test_changed_name_updates_the_row_and_auditlog_records_it(school, tmp_path):
    institution, accountant, _clerk = school
    import_counterparties(institution, ExtractFileSource(SAMPLE), accountant)
    path = extract_with(tmp_path, "ТОО «Сарыарка Канцтовары»", "ТОО «Сарыарқа Кеңсе»")

    report = import_counterparties(institution, ExtractFileSource(path), accountant)

    assert (report.created, report.updated, report.unchanged) == (0, 1, SAMPLE_ACTIVE - 1)
    row = Counterparty.objects.get(institution=institution, iin_bin=THIRD_BIN)
    assert row.name == "ТОО «Сарыарқа Кеңсе»"
    change = LogEntry.objects.get_for_object(row).order_by("-timestamp").first()
    assert change.changes_dict["name"] == ["ТОО «Сарыарка Канцтовары»", "ТОО «Сарыарқа Кеңсе»"]


def test_liquidated_entity_is_added_only_when_asked(school):
    institution, accountant, _clerk = school
    report = import_counterparties(institution, ExtractFileSource(SAMPLE), accountant, include_liquidated=True)
    assert report.created == SAMPLE_ACTIVE + 1


def test_a_role_without_the_right_is_refused_and_journalled(school):
    institution, _accountant, clerk = school
    with pytest.raises(PermissionRefused):
        import_counterparties(institution, ExtractFileSource(SAMPLE), clerk)
    assert Counterparty.objects.count() == 0
    assert ActionLog.objects.filter(object_type="counterparty", outcome="refused", user=clerk).exists()


def test_lookup_and_an_in_memory_source_share_the_interface(school):
    institution, accountant, _clerk = school
    file_source = ExtractFileSource(SAMPLE)
    assert file_source.lookup(THIRD_BIN).name_kk == "«Сарыарқа Кеңсе тауарлары» ЖШС"
    assert file_source.lookup("000000000000") is None
    record = RegistryRecord(iin_bin=make_bin("2001", 5), name_ru="ТОО «Тест»", name_kk="«Тест» ЖШС")
    memory = RecordsSource([record], label="registry:live")
    assert isinstance(memory, RegistrySource)
    assert memory.lookup(record.iin_bin) is record
    report = import_counterparties(institution, memory, accountant)
    assert report.created == 1
    assert Counterparty.objects.get(iin_bin=record.iin_bin).source == "registry:live"


@pytest.mark.parametrize("text, code", [
    ('<?xml version="1.0"?><!DOCTYPE extract [<!ENTITY a "aaaa">]><extract format="esep-legal-entities/1">'
     "<entity><bin>&a;</bin></entity></extract>", "registry_doctype"),
    ('<?xml version="1.0"?><entities format="esep-legal-entities/1"/>', "registry_format"),
    ('<?xml version="1.0"?><extract format="other/2"/>', "registry_format"),
    ('<?xml version="1.0"?><extract format="esep-legal-entities/1"><entity>', "registry_xml"),
])
def test_unreadable_extract_is_refused_with_its_code(school, tmp_path, text, code):
    institution, accountant, _clerk = school
    path = tmp_path / "x.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryFormatError) as caught:
        import_counterparties(institution, ExtractFileSource(path), accountant)
    assert caught.value.code == code
    assert Counterparty.objects.count() == 0


def test_the_documented_layout_matches_the_sample(tmp_path):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "exchange" / "legal-entities-registry.md").read_text()
    for element in ("extract", "entity", "bin", "iin", "name_ru", "name_kk", "address", "registered", "status"):
        assert f"`{element}`" in doc
    shutil.copy(SAMPLE, tmp_path / "copy.xml")
    assert len(ExtractFileSource(tmp_path / "copy.xml").records()) == 8
