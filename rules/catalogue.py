"""The ФЛК catalogue: one JSON file per control in rules/catalogue/, loaded and validated
whole at start.

Guarantees (`load` raises ImproperlyConfigured naming the file and the fault otherwise):
- every file parses, has every field, a known scope and severity, titles, descriptions and
  messages in kk, ru and en
- every rule of a file's ruleset is a durable-rules rule over one fact (alias `m`) whose
  condition first fixes the fact's kind (`head` or a declared collection such as `lines`),
  and names only facts the file declares for that kind and the file's parameters, each
  compared with a value of its type
- every message placeholder names a declared fact, a parameter, `i` or `line_no`; `:tenge`
  only formats an amount in tiyn
- durable-rules accepts the ruleset, and the file's examples (facts in, rules that fire out)
  hold when run through durable-rules: a misspelt fact name cannot make a control silently
  never fire
- codes are unique, and no scope has two rules that read a parameter of the same name
  (parameters travel inside the facts)
The system does not start with a half-loaded catalogue: one bad file refuses them all.
"""

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured

DIRECTORY = Path(__file__).resolve().parent / "catalogue"

SCOPES = (
    "posting", "payroll_accrual", "advance", "salary_payment", "obligation", "payment", "plan_certificate",
    "period", "inventory",
)
SEVERITIES = ("block", "warn")
LANGUAGES = ("kk", "ru", "en")
FACT_TYPES = ("string", "boolean", "integer", "tiyn")
PARAMETER_TYPES = ("integer", "tiyn", "percent", "day")
HEAD = "head"
# Integers in facts and parameters stay below 2**53: exact in JSON for any client, and a
# product of an amount and a percentage (≤ 100) stays inside durable-rules' 64-bit integers.
# 2**53 tiyn is about 90 trillion tenge, above any budget line.
INTEGER_MAX = 2**53 - 1
# Names the engine itself puts into the facts or the message context.
RESERVED = frozenset({"kind", "sid", "id", "i", "line_no"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CODE = re.compile(r"^FLC-[A-Z]{3}-[0-9]{3}$")
COMPARISONS = ("$neq", "$lt", "$lte", "$gt", "$gte")
ARITHMETIC = ("$add", "$sub", "$mul", "$div")
NUMERIC = ("integer", "tiyn")
REQUIRED_FIELDS = ("code", "title", "description", "message", "severity", "scope", "field", "parameters", "facts",
                   "ruleset", "examples")
OPTIONAL_FIELDS = ("requirement", "enabled_by_default", "switchable", "source")
RULE_KEYS = ("all", "pri", "message", "field")  # message and field: Esep's per-rule overrides


@dataclass(frozen=True)
class Parameter:
    """A threshold the rule reads, dated per institution in the database (rules.models)."""

    name: str
    type: str
    default: int
    min: int
    max: int
    description: MappingProxyType

    def valid(self, value) -> bool:
        return type(value) is int and self.min <= value <= self.max


@dataclass(frozen=True)
class Fact:
    """A value the calling service must supply. `of` is "head" or a collection (e.g. "lines")."""

    name: str
    type: str
    of: str
    description: str
    values: tuple[str, ...] = ()

    def accepts(self, value) -> bool:
        kind = type(value)
        if kind is int:
            return self.type in ("integer", "tiyn") and -INTEGER_MAX <= value <= INTEGER_MAX
        if kind is bool:
            return self.type == "boolean"
        if kind is str:
            return self.type == "string" and (not self.values or value in self.values)
        return False


@dataclass(frozen=True)
class Condition:
    """One rule of a control's ruleset: the durable-rules definition and what it reports."""

    name: str
    kind: str  # "head" or the collection it matches, e.g. "lines"
    definition: MappingProxyType  # durable-rules JSON ({"all": [{"m": ...}]}), without Esep's keys
    message: MappingProxyType  # {kk, ru, en} templates
    field: str  # template, may use {i}


@dataclass(frozen=True)
class Rule:
    """One control of the catalogue (one JSON file)."""

    code: str
    title: MappingProxyType
    description: MappingProxyType
    severity: str
    scope: str
    parameters: tuple[Parameter, ...]
    facts: tuple[Fact, ...]
    conditions: tuple[Condition, ...]
    examples: tuple
    requirement: str = ""
    enabled_by_default: bool = True
    # False for a control that gives the user's message for an invariant the database also
    # enforces (closed periods, balance): switching it off would turn a clear 422 into the
    # trigger's error, so it cannot be switched off
    switchable: bool = True
    source: str = ""  # the act or requirement the control implements
    path: str = ""  # the file it was loaded from

    @property
    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.parameters}

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def facts_of(self, kind: str) -> dict[str, Fact]:
        return {f.name: f for f in self.facts if f.of == kind}

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({c.kind for c in self.conditions}))


@dataclass(frozen=True)
class Catalogue:
    rules: tuple[Rule, ...]
    directory: str = ""
    by_code: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        object.__setattr__(self, "by_code", MappingProxyType({r.code: r for r in self.rules}))

    def in_scope(self, scope: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.scope == scope)

    def get(self, code: str) -> Rule | None:
        return self.by_code.get(code)


class CatalogueFault(Exception):
    """A fault of one file; `load` turns it into ImproperlyConfigured naming the file."""


def _freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value):
    """A plain (mutable, JSON-serialisable) copy of a frozen definition."""
    if isinstance(value, MappingProxyType | dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def _texts(data, what: str) -> MappingProxyType:
    if not isinstance(data, dict):
        raise CatalogueFault(f"{what} must be an object with kk, ru and en")
    for language in LANGUAGES:
        text = data.get(language)
        if not isinstance(text, str) or not text.strip():
            raise CatalogueFault(f"{what} lacks its {language} text")
    extra = set(data) - set(LANGUAGES)
    if extra:
        raise CatalogueFault(f"{what} has unknown languages {sorted(extra)}")
    return MappingProxyType({k: data[k] for k in LANGUAGES})


def _name(value, what: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise CatalogueFault(f"{what} {value!r} is not a name (lower case letters, digits, _)")
    if value in RESERVED:
        raise CatalogueFault(f"{what} {value!r} is reserved by the engine")
    return value


def _integer(value, what: str) -> int:
    if type(value) is not int or abs(value) > INTEGER_MAX:
        raise CatalogueFault(f"{what} must be an integer (no floats; |n| < 2**53), not {value!r}")
    return value


def _parameters(data) -> tuple[Parameter, ...]:
    if not isinstance(data, list):
        raise CatalogueFault("parameters must be a list")
    result = []
    for n, item in enumerate(data):
        where = f"parameters[{n}]"
        if not isinstance(item, dict):
            raise CatalogueFault(f"{where} must be an object")
        missing = {"name", "type", "default", "min", "max", "description"} - set(item)
        if missing:
            raise CatalogueFault(f"{where} lacks {sorted(missing)}")
        name = _name(item["name"], f"{where}.name")
        if item["type"] not in PARAMETER_TYPES:
            raise CatalogueFault(f"{where}.type {item['type']!r} is not one of {PARAMETER_TYPES}")
        low, high = _integer(item["min"], f"{where}.min"), _integer(item["max"], f"{where}.max")
        default = _integer(item["default"], f"{where}.default")
        if not low <= default <= high:
            raise CatalogueFault(f"{where}.default {default} is outside [{low}, {high}]")
        result.append(Parameter(name=name, type=item["type"], default=default, min=low, max=high,
                                description=_texts(item["description"], f"{where}.description")))
    names = [p.name for p in result]
    if len(set(names)) != len(names):
        raise CatalogueFault("parameters declare a name twice")
    return tuple(result)


def _facts(data, parameters: tuple[Parameter, ...]) -> tuple[Fact, ...]:
    if not isinstance(data, list) or not data:
        raise CatalogueFault("facts must be a non-empty list")
    result = []
    for n, item in enumerate(data):
        where = f"facts[{n}]"
        if not isinstance(item, dict):
            raise CatalogueFault(f"{where} must be an object")
        missing = {"name", "type", "description"} - set(item)
        if missing:
            raise CatalogueFault(f"{where} lacks {sorted(missing)}")
        name = _name(item["name"], f"{where}.name")
        if item["type"] not in FACT_TYPES:
            raise CatalogueFault(f"{where}.type {item['type']!r} is not one of {FACT_TYPES}")
        of = item.get("of", HEAD)
        if of != HEAD:
            _name(of, f"{where}.of")
        values = item.get("values", [])
        if values and (item["type"] != "string" or not all(isinstance(v, str) for v in values)):
            raise CatalogueFault(f"{where}.values: only a string fact lists its values, as strings")
        if not isinstance(item["description"], str) or not item["description"].strip():
            raise CatalogueFault(f"{where}.description must be a text")
        result.append(Fact(name=name, type=item["type"], of=of, description=item["description"],
                           values=tuple(values)))
    keys = [(f.of, f.name) for f in result]
    if len(set(keys)) != len(keys):
        raise CatalogueFault("facts declare a name twice for the same kind")
    kinds = {f.of for f in result}
    clash = {f.name for f in result} & kinds
    if clash:
        raise CatalogueFault(f"fact names {sorted(clash)} are also collection names")
    clash = {f.name for f in result} & {p.name for p in parameters}
    if clash:
        raise CatalogueFault(f"names {sorted(clash)} are both a fact and a parameter")
    return tuple(result)


class _ConditionCheck:
    """Walks one durable-rules condition and checks every name and value against the file."""

    def __init__(self, kind: str, facts: dict[str, Fact], parameters: dict[str, Parameter], where: str):
        self.kind = kind
        self.facts = facts
        self.parameters = parameters
        self.where = where

    def type_of(self, name) -> str:
        if not isinstance(name, str):
            raise CatalogueFault(f"{self.where}: {name!r} is not a fact name")
        if name in self.facts:
            return self.facts[name].type
        if name in self.parameters:
            return "tiyn" if self.parameters[name].type == "tiyn" else "integer"
        raise CatalogueFault(f"{self.where}: {name!r} is neither a declared fact of this kind nor a parameter")

    def literal_for(self, name: str, value) -> None:
        kind = self.type_of(name)
        if kind == "boolean":
            ok = type(value) is bool
        elif kind == "string":
            values = self.facts[name].values if name in self.facts else ()
            ok = type(value) is str and (not values or value in values)
        else:
            ok = type(value) is int and abs(value) <= INTEGER_MAX
        if not ok:
            raise CatalogueFault(f"{self.where}: {name!r} ({kind}) is compared with {value!r}")

    def numeric(self, value) -> None:
        """A right-hand side of an order comparison: an integer, a numeric fact, or arithmetic."""
        if type(value) is int:
            _integer(value, self.where)
            return
        if not isinstance(value, dict) or len(value) != 1:
            raise CatalogueFault(f"{self.where}: {value!r} is not a number, {{'$m': fact}} or arithmetic")
        (op, arg), = value.items()
        if op == "$m":
            if self.type_of(arg) not in NUMERIC:
                raise CatalogueFault(f"{self.where}: arithmetic on non-numeric {arg!r}")
            return
        if op not in ARITHMETIC or not isinstance(arg, dict) or set(arg) != {"$l", "$r"}:
            raise CatalogueFault(f"{self.where}: {op!r} is not an operator Esep's catalogue admits "
                                 f"({', '.join(ARITHMETIC)} with $l and $r, or $m)")
        self.numeric(arg["$l"])
        self.numeric(arg["$r"])

    def condition(self, cond) -> None:
        if not isinstance(cond, dict) or len(cond) != 1:
            raise CatalogueFault(f"{self.where}: a condition is an object with one key, not {cond!r}")
        (key, arg), = cond.items()
        if key in ("$and", "$or"):
            if not isinstance(arg, list) or not arg:
                raise CatalogueFault(f"{self.where}: {key} takes a non-empty list")
            for sub in arg:
                self.condition(sub)
        elif key in COMPARISONS:
            if not isinstance(arg, dict) or len(arg) != 1:
                raise CatalogueFault(f"{self.where}: {key} takes {{fact: value}}")
            (name, right), = arg.items()
            kind = self.type_of(name)
            if key == "$neq" and not isinstance(right, dict):
                self.literal_for(name, right)
            elif key == "$neq" and set(right) == {"$m"}:
                if self.type_of(right["$m"]) != kind and {kind, self.type_of(right["$m"])} - set(NUMERIC):
                    raise CatalogueFault(f"{self.where}: {name!r} and {right['$m']!r} differ in type")
            else:
                if kind not in NUMERIC:
                    raise CatalogueFault(f"{self.where}: {key} on non-numeric {name!r}")
                self.numeric(right)
        elif key in ("$ex", "$nex"):
            if not isinstance(arg, dict) or len(arg) != 1 or list(arg.values()) != [1]:
                raise CatalogueFault(f"{self.where}: {key} takes {{fact: 1}}")
            self.type_of(next(iter(arg)))
        elif key.startswith("$"):
            raise CatalogueFault(f"{self.where}: operator {key!r} is not admitted in Esep's catalogue")
        elif key == "kind":
            if arg != self.kind:
                raise CatalogueFault(f"{self.where}: a rule matches one kind of fact ({self.kind!r}), not {arg!r}")
        else:
            if isinstance(arg, dict | list) or arg is None:
                raise CatalogueFault(f"{self.where}: {key!r} must equal a literal, not {arg!r}")
            self.literal_for(key, arg)


def _kind_of(cond, kinds: set[str], where: str) -> str:
    """The kind a condition fixes first: {"kind": K} or {"$and": [{"kind": K}, …]}."""
    first = cond
    if isinstance(cond, dict) and set(cond) == {"$and"} and isinstance(cond["$and"], list) and cond["$and"]:
        first = cond["$and"][0]
    if not (isinstance(first, dict) and set(first) == {"kind"} and isinstance(first["kind"], str)):
        raise CatalogueFault(f"{where}: the condition must start with {{\"kind\": \"head\"}} or a collection "
                             f"({', '.join(sorted(kinds))})")
    if first["kind"] not in kinds:
        raise CatalogueFault(f"{where}: kind {first['kind']!r} has no declared facts "
                             f"(known: {', '.join(sorted(kinds))})")
    return first["kind"]


def _placeholders(template: str, known: dict[str, str], where: str) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CatalogueFault(f"{where}: {exc}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in known:
            raise CatalogueFault(f"{where}: placeholder {{{name}}} is not a fact, a parameter, i or line_no")
        if conversion:
            raise CatalogueFault(f"{where}: placeholder {{{name}!{conversion}}}: conversions are not admitted")
        if spec not in ("", "tenge"):
            raise CatalogueFault(f"{where}: placeholder {{{name}:{spec}}}: the only format is :tenge")
        if spec == "tenge" and known[name] != "tiyn":
            raise CatalogueFault(f"{where}: {{{name}:tenge}} formats an amount in tiyn; {name} is {known[name]}")


def _conditions(data, facts: tuple[Fact, ...], parameters: tuple[Parameter, ...], message, field_template,
                ) -> tuple[Condition, ...]:
    if not isinstance(data, dict) or not data:
        raise CatalogueFault("ruleset must be an object of named rules")
    kinds = {f.of for f in facts}
    params = {p.name: p for p in parameters}
    result = []
    for name, rule in data.items():
        where = f"ruleset.{name}"
        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]{0,40}$", name):
            raise CatalogueFault(f"{where}: a rule name is lower case letters, digits and _")
        if not isinstance(rule, dict):
            raise CatalogueFault(f"{where} must be an object")
        extra = set(rule) - set(RULE_KEYS)
        if extra:
            raise CatalogueFault(f"{where} has keys {sorted(extra)} (admitted: {', '.join(RULE_KEYS)})")
        clauses = rule.get("all")
        if not (isinstance(clauses, list) and len(clauses) == 1 and isinstance(clauses[0], dict)
                and set(clauses[0]) == {"m"}):
            raise CatalogueFault(f"{where}: each rule matches one fact: {{\"all\": [{{\"m\": condition}}]}}")
        if "pri" in rule and type(rule["pri"]) is not int:
            raise CatalogueFault(f"{where}.pri must be an integer")
        cond = clauses[0]["m"]
        kind = _kind_of(cond, kinds, where)
        own = {f.name: f for f in facts if f.of == kind}
        check = _ConditionCheck(kind, own, params, where)
        check.condition(cond)
        rule_message = _texts(rule["message"], f"{where}.message") if "message" in rule else message
        rule_field = rule.get("field", field_template)
        if not isinstance(rule_field, str):
            raise CatalogueFault(f"{where}.field must be a text")
        known = {f.name: f.type for f in facts if f.of == HEAD}
        known.update({f.name: f.type for f in own.values()})
        known.update({p.name: ("tiyn" if p.type == "tiyn" else "integer") for p in parameters})
        if kind != HEAD:
            known.update({"i": "integer", "line_no": "integer"})
        for language in LANGUAGES:
            _placeholders(rule_message[language], known, f"{where}.message.{language}")
        _placeholders(rule_field, {"i": "integer"} if kind != HEAD else {}, f"{where}.field")
        definition = {k: v for k, v in rule.items() if k in ("all", "pri")}
        result.append(Condition(name=name, kind=kind, definition=_freeze(definition), message=rule_message,
                                field=rule_field))
    return tuple(result)


def _examples(data, rule_names: set[str]) -> tuple:
    if not isinstance(data, list) or len(data) < 2:
        raise CatalogueFault("examples must list at least one case that fires and one that passes")
    for n, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("facts"), dict) \
                or not isinstance(item.get("fires"), list):
            raise CatalogueFault(f"examples[{n}] must be {{\"facts\": {{…}}, \"fires\": [rule names]}}")
        unknown = set(item["fires"]) - rule_names
        if unknown:
            raise CatalogueFault(f"examples[{n}].fires names unknown rules {sorted(unknown)}")
        if "params" in item and not isinstance(item["params"], dict):
            raise CatalogueFault(f"examples[{n}].params must be an object")
    if not any(item["fires"] for item in data) or not any(not item["fires"] for item in data):
        raise CatalogueFault("examples must include a case that fires and a case that passes")
    return _freeze(data)


def parse(data, path: str = "") -> Rule:
    """One file's content → Rule, or CatalogueFault. Does not run durable-rules (see `load`)."""
    if not isinstance(data, dict):
        raise CatalogueFault("the file must hold one JSON object")
    missing = [k for k in REQUIRED_FIELDS if k not in data]
    if missing:
        raise CatalogueFault(f"missing fields: {', '.join(missing)}")
    extra = set(data) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS) - {"$comment"}
    if extra:
        raise CatalogueFault(f"unknown fields: {', '.join(sorted(extra))}")
    code = data["code"]
    if not isinstance(code, str) or not CODE.match(code):
        raise CatalogueFault(f"code {code!r} is not of the form FLC-XXX-000")
    if data["severity"] not in SEVERITIES:
        raise CatalogueFault(f"severity {data['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if data["scope"] not in SCOPES:
        raise CatalogueFault(f"scope {data['scope']!r} is not one of {', '.join(SCOPES)}")
    if not isinstance(data["field"], str):
        raise CatalogueFault("field must be a text (the form field the message points at)")
    for key in ("requirement", "source"):
        if key in data and not isinstance(data[key], str):
            raise CatalogueFault(f"{key} must be a text")
    for key in ("enabled_by_default", "switchable"):
        if type(data.get(key, True)) is not bool:
            raise CatalogueFault(f"{key} must be true or false")
    if not data.get("switchable", True) and not data.get("enabled_by_default", True):
        raise CatalogueFault("a control that cannot be switched must be enabled by default")
    title = _texts(data["title"], "title")
    description = _texts(data["description"], "description")
    message = _texts(data["message"], "message")
    parameters = _parameters(data["parameters"])
    facts = _facts(data["facts"], parameters)
    conditions = _conditions(data["ruleset"], facts, parameters, message, data["field"])
    used = {c.kind for c in conditions}
    unused = {f.of for f in facts} - used - {HEAD}  # head facts may only feed the messages
    if unused:
        raise CatalogueFault(f"facts of collection {sorted(unused)} are declared but no rule matches that kind")
    examples = _examples(data["examples"], {c.name for c in conditions})
    return Rule(
        code=code, title=title, description=description, severity=data["severity"], scope=data["scope"],
        parameters=parameters, facts=facts, conditions=conditions, examples=examples,
        requirement=data.get("requirement", ""), enabled_by_default=data.get("enabled_by_default", True),
        switchable=data.get("switchable", True), source=data.get("source", ""), path=path,
    )


def _check_scopes(rules: list[Rule]) -> None:
    codes: dict[str, str] = {}
    for rule in rules:
        if rule.code in codes:
            raise ImproperlyConfigured(f"ФЛК catalogue: {rule.path}: code {rule.code} is also in {codes[rule.code]}")
        codes[rule.code] = rule.path
    for scope in SCOPES:
        seen: dict[str, str] = {}
        facts: dict[tuple[str, str], tuple[str, str]] = {}
        for rule in (r for r in rules if r.scope == scope):
            for p in rule.parameters:
                if p.name in seen:
                    raise ImproperlyConfigured(
                        f"ФЛК catalogue: {rule.path}: parameter {p.name!r} is also read by {seen[p.name]} in scope "
                        f"{scope}; parameters travel in the facts, so give it another name")
                seen[p.name] = rule.code
            for f in rule.facts:
                other = facts.get((f.of, f.name))
                if other and other != (f.type, ",".join(f.values)):
                    raise ImproperlyConfigured(
                        f"ФЛК catalogue: {rule.path}: fact {f.name!r} is declared with another type by another rule "
                        f"of scope {scope}")
                facts[(f.of, f.name)] = (f.type, ",".join(f.values))
            clash = set(seen) & {name for _of, name in facts}
            if clash:
                raise ImproperlyConfigured(
                    f"ФЛК catalogue: {rule.path}: {sorted(clash)} are a parameter of one rule and a fact of another "
                    f"in scope {scope}")


def load(directory: str | Path | None = None) -> Catalogue:
    """Read, validate and try out every *.json in `directory` (default rules/catalogue/)."""
    from . import engine  # the engine validates rulesets through durable-rules itself

    directory = Path(directory or DIRECTORY)
    if not directory.is_dir():
        raise ImproperlyConfigured(f"ФЛК catalogue: {directory} is not a directory")
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ImproperlyConfigured(f"ФЛК catalogue: {directory} holds no *.json file")
    rules = []
    for path in paths:
        try:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CatalogueFault(f"does not parse as JSON: {exc}") from None
            rule = parse(data, str(path))
            if path.stem != rule.code:
                raise CatalogueFault(f"the file of {rule.code} must be named {rule.code}.json")
            engine.try_rule(rule)
        except CatalogueFault as exc:
            raise ImproperlyConfigured(f"ФЛК catalogue: {path}: {exc}") from None
        rules.append(rule)
    _check_scopes(rules)
    return Catalogue(rules=tuple(rules), directory=str(directory))
