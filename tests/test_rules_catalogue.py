"""Loading the ФЛК catalogue: the shipped files load whole; a file that does not parse, lacks
a field, names an unknown scope or severity, a condition durable-rules refuses, a misspelt
fact, a message placeholder it cannot fill or an example that does not hold stops the start
with ImproperlyConfigured naming the file and the fault, and nothing is half-loaded."""

import copy
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from rules import catalogue
from rules import engine as rules_engine
from rules.catalogue import DIRECTORY, SCOPES, Catalogue, CatalogueFault, load, parse

SHIPPED = {
    "FLC-PER-001", "FLC-LED-001", "FLC-LED-002", "FLC-LED-003", "FLC-LED-004", "FLC-PAY-001", "FLC-PAY-002",
    "FLC-PAY-003", "FLC-FIN-001", "FLC-FIN-002", "FLC-FIN-003", "FLC-FIN-004", "FLC-FIN-005",
}


def shipped(code: str) -> dict:
    return json.loads((DIRECTORY / f"{code}.json").read_text(encoding="utf-8"))


def write(directory: Path, data, name: str | None = None) -> Path:
    path = directory / (name or f"{data['code']}.json")
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def refused(directory: Path, *fragments: str) -> str:
    with pytest.raises(ImproperlyConfigured) as info:
        load(directory)
    text = str(info.value)
    for fragment in fragments:
        assert re.search(fragment, text), text
    return text


def test_the_shipped_catalogue_loads_whole():
    loaded = load()
    assert {r.code for r in loaded.rules} == SHIPPED
    assert all(r.scope in SCOPES and r.severity in ("block", "warn") for r in loaded.rules)
    assert loaded.get("FLC-FIN-005").severity == "warn"
    assert loaded.get("FLC-PAY-002").parameter("advance_share_pct").default == 50
    assert loaded.get("FLC-FIN-004").parameter("last_day").default == 25
    assert loaded.get("FLC-PAY-001").parameter("tolerance_tiyn").default == 0
    assert not loaded.get("FLC-PER-001").switchable and loaded.get("FLC-PAY-002").switchable
    assert {r.requirement for r in loaded.rules} >= {"R3", "R7", "R8", "R9", "R10", "R22"}


def test_the_app_installed_the_shipped_catalogue_at_start():
    assert {r.code for r in rules_engine.default().catalogue.rules} == SHIPPED


def test_good_files_in_another_directory_load(tmp_path):
    for code in ("FLC-PAY-002", "FLC-LED-002"):
        write(tmp_path, shipped(code))
    assert {r.code for r in load(tmp_path).rules} == {"FLC-PAY-002", "FLC-LED-002"}


# -- one bad file refuses the start, naming the file and the fault ----------------------------------

def _bad(mutate):
    data = shipped("FLC-PAY-002")
    mutate(data)
    return data


CASES = {
    "missing field": (lambda d: d.pop("severity"), "missing fields: severity"),
    "unknown scope": (lambda d: d.update(scope="payroll"), "scope 'payroll' is not one of"),
    "unknown severity": (lambda d: d.update(severity="error"), "severity 'error' is not one of"),
    "bad code": (lambda d: d.update(code="PAY-2"), "not of the form"),
    "no Kazakh title": (lambda d: d["title"].pop("kk"), "title lacks its kk text"),
    "empty Russian message": (lambda d: d["message"].update(ru=" "), "message lacks its ru text"),
    "unknown field": (lambda d: d.update(colour="red"), "unknown fields: colour"),
    "operator durable-rules lacks": (
        lambda d: d["ruleset"]["over_share"]["all"][0]["m"]["$and"].append({"$between": {"this_tiyn": 1}}),
        r"operator '\$between' is not admitted"),
    "misspelt fact": (
        lambda d: d["ruleset"]["over_share"]["all"][0]["m"]["$and"].append({"$gt": {"this_tiyn_": 0}}),
        "'this_tiyn_' is neither a declared fact"),
    "a float threshold": (
        lambda d: d["ruleset"]["over_share"]["all"][0]["m"]["$and"].append({"$gt": {"this_tiyn": 0.5}}),
        "0.5"),
    "boolean compared with a number": (
        lambda d: (d["facts"].append({"name": "on_leave", "type": "boolean", "description": "x"}),
                   d["ruleset"]["over_share"]["all"][0]["m"]["$and"].append({"on_leave": 1})),
        r"'on_leave' \(boolean\) is compared with 1"),
    "no kind first": (lambda d: d["ruleset"]["over_share"]["all"][0]["m"]["$and"].pop(0),
                      "must start with"),
    "a join of two facts": (lambda d: d["ruleset"]["over_share"]["all"].append({"n": {"kind": "head"}}),
                            "each rule matches one fact"),
    "unknown placeholder": (lambda d: d["message"].update(kk="{salary} асады"),
                            r"placeholder \{salary\} is not a fact"),
    "tenge on a non-amount": (lambda d: d["message"].update(en="{month:tenge}"), "formats an amount in tiyn"),
    "example that does not hold": (lambda d: d["examples"][0].update(fires=["over_share"]),
                                   r"examples\[0\]: expected \['over_share'\] to fire, durable-rules fired none"),
    "example with a float amount": (lambda d: d["examples"][0]["facts"].update(this_tiyn=150000.0),
                                    r"examples\[0\].*tiyn"),
    "only passing examples": (lambda d: d.update(examples=[d["examples"][0], d["examples"][0]]),
                              "a case that fires and a case that passes"),
    "default outside its range": (lambda d: d["parameters"][0].update(default=150), "outside"),
    "parameter named like a fact": (lambda d: d["parameters"][0].update(name="this_tiyn"),
                                    "both a fact and a parameter"),
    "reserved name": (lambda d: d["facts"][0].update(name="kind"), "reserved"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_file_stops_the_start_naming_file_and_fault(tmp_path, case):
    mutate, fault = CASES[case]
    write(tmp_path, shipped("FLC-PAY-001"))  # a good neighbour is not loaded either
    path = write(tmp_path, _bad(mutate))
    text = refused(tmp_path, re.escape(str(path)), fault)
    assert text.startswith("ФЛК catalogue:")


def test_a_file_that_does_not_parse(tmp_path):
    path = write(tmp_path, '{"code": "FLC-PAY-002", "title": {', name="FLC-PAY-002.json")
    refused(tmp_path, re.escape(str(path)), "does not parse as JSON")


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "FLC-PAY-002.json"
    path.write_bytes(json.dumps(shipped("FLC-PAY-002"), ensure_ascii=False).encode("cp1251", errors="replace"))
    refused(tmp_path, re.escape(str(path)), "does not parse")


def test_a_file_named_after_another_code(tmp_path):
    path = write(tmp_path, shipped("FLC-PAY-002"), name="FLC-PAY-009.json")
    refused(tmp_path, re.escape(str(path)), "must be named FLC-PAY-002.json")


def test_two_rules_of_a_scope_may_not_share_a_parameter_name(tmp_path):
    other = shipped("FLC-PAY-002")
    other["code"] = "FLC-PAY-099"
    write(tmp_path, shipped("FLC-PAY-002"))
    write(tmp_path, other)
    refused(tmp_path, "FLC-PAY-099.json", "parameter 'advance_share_pct' is also read by FLC-PAY-002")


def test_a_fact_declared_twice_in_a_scope_with_different_types(tmp_path):
    other = shipped("FLC-PAY-002")
    other["code"] = "FLC-PAY-098"
    other["parameters"] = []
    other["message"] = {"kk": "Ай {month}", "ru": "Месяц {month}", "en": "Month {month}"}
    other["facts"][0]["type"] = "integer"  # month, a string in FLC-PAY-002
    other["ruleset"] = {"always": {"all": [{"m": {"$and": [{"kind": "head"}, {"$gt": {"month": 0}}]}}]}}
    other["examples"] = [{"facts": {**other["examples"][0]["facts"], "month": 1}, "fires": ["always"]},
                         {"facts": {**other["examples"][0]["facts"], "month": 0}, "fires": []}]
    write(tmp_path, shipped("FLC-PAY-002"))
    write(tmp_path, other)
    refused(tmp_path, "fact 'month' is declared with another type")


def test_an_empty_or_missing_directory(tmp_path):
    refused(tmp_path, "holds no \\*.json file")
    refused(tmp_path / "nowhere", "is not a directory")


def test_a_ruleset_durable_rules_refuses_is_reported():
    """Esep's own checks catch malformed conditions first; durable-rules' refusal is the last
    word and is reported too."""
    rule = parse(shipped("FLC-PAY-002"), "FLC-PAY-002.json")
    condition = rule.conditions[0]
    broken = type(condition)(name=condition.name, kind=condition.kind,
                             definition=catalogue._freeze({"all": {"m": {"kind": "head"}}}),
                             message=condition.message, field=condition.field)
    bad = type(rule)(**{**rule.__dict__, "conditions": (broken,)})
    with pytest.raises(CatalogueFault, match="durable-rules refuses the ruleset"):
        rules_engine.try_rule(bad)


def test_a_failed_load_leaves_the_installed_catalogue_alone(tmp_path, monkeypatch):
    before = rules_engine.default()
    write(tmp_path, _bad(lambda d: d.update(scope="payroll")))
    monkeypatch.setattr(catalogue, "DIRECTORY", tmp_path)
    with pytest.raises(ImproperlyConfigured, match="FLC-PAY-002.json"):
        apps.get_app_config("rules").ready()
    assert rules_engine.default() is before
    assert rules_engine.check("advance", {"month": "2026-03", "employee": "1", "monthly_salary_tiyn": 100,
                                          "advances_paid_tiyn": 0, "this_tiyn": 51}).blocked


def test_an_engine_for_a_tmp_catalogue_is_independent(tmp_path):
    data = shipped("FLC-PAY-002")
    data["parameters"][0]["default"] = 40
    for example in data["examples"]:
        example["fires"] = []
        example["facts"]["this_tiyn"] = 1
    data["examples"][0]["facts"]["this_tiyn"] = 12_000_001
    data["examples"][0]["fires"] = ["over_share"]
    write(tmp_path, data)
    engine = rules_engine.Engine(load(tmp_path))
    try:
        facts = {"month": "2026-03", "employee": "1", "monthly_salary_tiyn": 100, "advances_paid_tiyn": 0,
                 "this_tiyn": 41}
        assert engine.check("advance", facts).blocked
        assert not rules_engine.check("advance", facts).blocked  # the installed one still says 50%
    finally:
        engine.close()


def test_catalogue_copies_are_frozen():
    rule = load().get("FLC-PAY-002")
    with pytest.raises(TypeError):
        rule.title["kk"] = "x"
    with pytest.raises(TypeError):
        rule.conditions[0].definition["all"] = []
    plain = catalogue.thaw(rule.conditions[0].definition)
    plain["all"] = []  # a thawed copy is the caller's to change
    assert rule.conditions[0].definition["all"]
    assert isinstance(load(), Catalogue)
    assert copy.deepcopy(catalogue.thaw(rule.examples))[0]["fires"] == []
