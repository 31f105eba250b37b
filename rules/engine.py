"""The ФЛК engine: facts in, a verdict out. Pure: no Django model, no database, no clock.

    verdict = check("posting", {"period_status": "open", "debit_tiyn": 500, ..., "lines": [...]})
    verdict.outcome  # "pass" | "warn" | "block"
    verdict.hits     # (RuleHit(code, severity, message={kk, ru, en}, field, fact), ...)

Guarantees:
- the facts are checked against the catalogue's declarations before anything runs: every
  fact an enabled rule of the scope reads is present with its type (amounts are integer
  tiyn; a float, a Decimal or None is refused), no undeclared fact slips in. A service
  that forgets a fact gets FactsError, never a control that silently does not fire
- one durable-rules host per process (rebuilt in a forked child), one ruleset per scope,
  used under one lock; each check runs in a session of its own (unique sid) whose state is
  deleted before the lock is released, so state never accumulates: durable-rules keeps at
  most 1,024 live sessions per ruleset in fixed-size tables (measured: the 1,025th check
  without deletion fails) and its memory would grow with each
- every ruleset has a catch-all rule whose first fact pattern matches every fact, so
  durable-rules never raises MessageNotHandledException; its second pattern never
  matches, so it costs no action. A session rule fires once per check on the head fact
  (a durable-rules 2.0.28 bug otherwise lets delete_state free uninitialised pointers)
- the result depends only on the facts, the parameters and the disabled set: checks from
  many threads give the same verdicts as the same checks in sequence

Facts go to durable-rules as one fact for the head (kind "head": the scalar facts) and one
fact per item of each collection (kind "lines", …), each carrying the rule parameters. A
rule matches one fact; it fires once per matching fact, so a bad line is reported as
`lines[2]` with its own field.

durable-rules' Host is used to create and hold the rulesets. The check itself calls the
same C functions Host.assert_facts drives (assert_facts, start_action_for_state,
complete_and_start_action, delete_state) but reads the matches instead of running Python
actions: no Closure, no state round-trip per action, ~3× cheaper per fired rule. The host's
background dispatch threads are not started: nothing here is queued for later, and a
second thread inside the C engine would race the lock.
"""

import itertools
import json
import os
import string
import threading
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType

import durable_rules_engine as _dre
from durable import engine as _durable

from .catalogue import HEAD, INTEGER_MAX, LANGUAGES, SCOPES, Catalogue, CatalogueFault, Fact, Rule, thaw

PASS, WARN, BLOCK = "pass", "warn", "block"
CATCH_ALL = "$catch_all"
# The catch-all: its first pattern matches every fact we assert (each has a kind), so no
# fact is "not handled"; its second pattern never matches, so it never fires an action.
CATCH_ALL_RULE = {"all": [{"m": {"$ex": {"kind": 1}}}, {"never": {"kind": "$never"}}]}
# The session rule fires once per check, on the head fact. durable-rules 2.0.28 leaves two
# pointers of a new session (its action context) uninitialised until an action starts, and
# delete_state frees them: a check in which no rule fired could free garbage and crash the
# process (seen under valgrind and as "free(): invalid pointer"; state.c createStateNode).
# One action per check initialises and clears them, so deleting the state is always safe.
SESSION = "$session"
SESSION_RULE = {"all": [{"m": {"kind": "head"}}]}
_SESSION_PREFIX = '{"' + SESSION + '"'


class FactsError(Exception):
    """Programmer error: the facts a service built do not match the catalogue's declarations."""


class EngineFault(Exception):
    """durable-rules refused a check it should have accepted. The host is rebuilt."""


def tiyn(amount) -> int:
    """Decimal or int tenge → integer tiyn. Floats are refused: money is never binary."""
    if isinstance(amount, bool) or isinstance(amount, float):
        raise TypeError(f"amount {amount!r}: money is Decimal or int tenge, never float or bool")
    if isinstance(amount, int):
        value = amount * 100
    elif isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ValueError(f"amount {amount!r} is not finite")
        scaled = amount.scaleb(2)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"amount {amount} has more than two decimals (tiyn)")
        value = int(scaled)
    else:
        raise TypeError(f"amount {amount!r}: money is Decimal or int tenge")
    if abs(value) > INTEGER_MAX:
        raise ValueError(f"amount {amount} is beyond the engine's range")
    return value


def format_tenge(amount_tiyn: int, language: str) -> str:
    """12345678 → '123 456,78' (kk, ru: no-break space groups, decimal comma), '123,456.78' (en)."""
    sign = "-" if amount_tiyn < 0 else ""
    whole, cents = divmod(abs(amount_tiyn), 100)
    if language == "en":
        return f"{sign}{whole:,}.{cents:02d}"
    return f"{sign}{whole:,}".replace(",", "\u00a0") + f",{cents:02d}"


class _Formatter(string.Formatter):
    def __init__(self, language: str):
        self.language = language

    def format_field(self, value, format_spec):
        if format_spec == "tenge":
            return format_tenge(value, self.language)
        return super().format_field(value, format_spec)


_FORMATTERS = {language: _Formatter(language) for language in LANGUAGES}


@dataclass(frozen=True)
class RuleHit:
    """One fired rule: which control, how bad, what to tell the user, where, on which fact."""

    code: str
    severity: str
    message: MappingProxyType  # {kk, ru, en}, placeholders filled
    field: str  # form field, e.g. "lines[2].specific"
    fact: str  # "head" or the item, e.g. "lines[2]"
    condition: str = ""  # the rule's name inside the control's ruleset

    def text(self, language: str | None) -> str:
        language = (language or "ru")[:2]
        return self.message.get(language) or self.message["ru"]


@dataclass(frozen=True)
class Verdict:
    outcome: str
    hits: tuple[RuleHit, ...] = field(default=())

    @property
    def blocked(self) -> bool:
        return self.outcome == BLOCK

    @property
    def blocks(self) -> tuple[RuleHit, ...]:
        return tuple(h for h in self.hits if h.severity == BLOCK)

    @property
    def warnings(self) -> tuple[RuleHit, ...]:
        return tuple(h for h in self.hits if h.severity == WARN)


PASSED = Verdict(PASS)


_PYTHON_TYPES = {"string": str, "boolean": bool, "integer": int, "tiyn": int}


class _Host(_durable.Host):
    """durable-rules' host without its dispatch threads; rules carry no Python action."""

    def _run(self):
        pass

    def get_action(self, action_name):
        return _no_action


def _no_action(c):  # pragma: no cover - never called: the engine reads matches itself
    pass


@dataclass(frozen=True)
class _Required:
    """The facts the enabled rules of a scope read."""

    head_names: frozenset
    collection_names: dict  # kind -> frozenset of names

    @property
    def collections(self):
        return self.collection_names


class _ScopePlan:
    """The rules of one scope compiled into one durable-rules ruleset."""

    def __init__(self, scope: str, rules: tuple[Rule, ...]):
        self.scope = scope
        self.rules = rules
        self.order = {rule.code: n for n, rule in enumerate(rules)}
        self.by_name = {}
        definition = {}
        for rule in rules:
            for condition in rule.conditions:
                name = f"{rule.code}/{condition.name}"
                self.by_name[name] = (rule, condition)
                definition[name] = dict(thaw(condition.definition), run="rule")
        definition[CATCH_ALL] = dict(thaw(CATCH_ALL_RULE), run="rule")
        definition[SESSION] = dict(thaw(SESSION_RULE), run="rule")
        self.definition_json = json.dumps(definition, ensure_ascii=False, sort_keys=True)
        self.head: dict[str, Fact] = {}
        self.collections: dict[str, dict[str, Fact]] = {}
        for rule in rules:
            for fact in rule.facts:
                target = self.head if fact.of == HEAD else self.collections.setdefault(fact.of, {})
                target[fact.name] = fact
        # name -> (Python type, admitted values or None), per kind: the facts' fast check
        self._specs = {kind: {name: (_PYTHON_TYPES[f.type], frozenset(f.values) or None) for name, f in facts.items()}
                       for kind, facts in [(HEAD, self.head), *self.collections.items()]}
        self.parameters = {p.name: (rule, p) for rule in rules for p in rule.parameters}
        self.defaults = {p.name: p.default for rule in rules for p in rule.parameters}
        self.required = lru_cache(maxsize=64)(self._required)

    def _required(self, disabled: frozenset) -> _Required:
        head: set[str] = set()
        collections: dict[str, set[str]] = {}
        for rule in self.rules:
            if rule.code in disabled:
                continue
            for fact in rule.facts:
                (head if fact.of == HEAD else collections.setdefault(fact.of, set())).add(fact.name)
        return _Required(head_names=frozenset(head),
                         collection_names={kind: frozenset(names) for kind, names in collections.items()})

    def parameter_values(self, params) -> dict[str, int]:
        values = dict(self.defaults)
        for code, given in (params or {}).items():
            for name, value in given.items():
                owner = self.parameters.get(name)
                if owner is None or owner[0].code != code:
                    # another scope's rule, or no such parameter: ignored only if the rule is not here
                    if code in self.order:
                        raise FactsError(f"{code} has no parameter {name!r}")
                    continue
                if not owner[1].valid(value):
                    raise FactsError(f"{code}.{name} = {value!r} is not an integer in "
                                     f"[{owner[1].min}, {owner[1].max}]")
                values[name] = value
        return values

    def _fact_error(self, where: str, value, fact: Fact | None) -> FactsError:
        if fact is None:
            return FactsError(f"{self.scope}: fact {where} is not declared by any rule of this scope")
        hint = " (amounts are integer tiyn: use rules.tiyn())" if fact.type == "tiyn" else ""
        values = f" in {list(fact.values)}" if fact.values else ""
        return FactsError(f"{self.scope}: fact {where} = {value!r} is not a {fact.type}{values}{hint}")

    def prepare(self, facts, params, disabled: frozenset) -> tuple[list[dict], dict, dict, dict]:
        """Validated facts → (durable facts without sid, head, collections, parameter values).

        The hot path of every check: each value is checked against its declaration through
        `_specs` (Python type, admitted values), and error texts are built only on error."""
        if type(facts) is not dict:
            raise FactsError(f"{self.scope}: facts must be a dict, not {type(facts).__name__}")
        required = self.required(disabled)
        head: dict = {}
        collections: dict[str, list] = {}
        specs = self._specs[HEAD]
        for name, value in facts.items():
            spec = specs.get(name)
            if spec is None:
                if name in self.collections:
                    if type(value) not in (list, tuple):
                        raise FactsError(f"{self.scope}: fact {name!r} must be a list of dicts")
                    collections[name] = value
                    continue
                raise self._fact_error(repr(name), value, None)
            kind_of_value = type(value)
            if kind_of_value is not spec[0] or (kind_of_value is int and not -INTEGER_MAX <= value <= INTEGER_MAX) \
                    or (spec[1] is not None and value not in spec[1]):
                raise self._fact_error(repr(name), value, self.head[name])
            head[name] = value
        if not required.head_names <= facts.keys():
            raise FactsError(f"{self.scope}: facts {sorted(required.head_names - facts.keys())} are missing")
        for kind in required.collections:
            if kind not in collections:
                raise FactsError(f"{self.scope}: collection {kind!r} is missing")
        values = self.parameter_values(params) if params else self.defaults
        durable_facts = [{**head, **values, "kind": HEAD, "id": HEAD}]
        for kind, items in collections.items():
            specs = self._specs[kind]
            needed = required.collection_names.get(kind, frozenset())
            for i, item in enumerate(items):
                if type(item) is not dict:
                    raise FactsError(f"{self.scope}: {kind}[{i}] must be a dict")
                if not needed <= item.keys():
                    raise FactsError(f"{self.scope}: facts {kind}[{i}].{sorted(needed - item.keys())} are missing")
                for name, value in item.items():
                    spec = specs.get(name)
                    if spec is None:
                        raise self._fact_error(f"{kind}[{i}].{name}", value, None)
                    kind_of_value = type(value)
                    if kind_of_value is not spec[0] \
                            or (kind_of_value is int and not -INTEGER_MAX <= value <= INTEGER_MAX) \
                            or (spec[1] is not None and value not in spec[1]):
                        raise self._fact_error(f"{kind}[{i}].{name}", value, self.collections[kind][name])
                durable_facts.append({**item, **values, "kind": kind, "id": f"{kind}[{i}]"})
        return durable_facts, head, collections, values


class Engine:
    """A catalogue compiled for durable-rules, with its host, lock and session counter."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._plans: dict[str, _ScopePlan] = {}
        for scope in sorted({r.scope for r in catalogue.rules}):
            self._plans[scope] = _ScopePlan(scope, catalogue.in_scope(scope))
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self._host: _Host | None = None
        self._handles: dict[str, int] = {}
        self._pid = None
        self._closed = False
        _ENGINES.add(self)
        with self._lock:
            self._open()  # a ruleset durable-rules refuses fails here, at start

    # -- host -------------------------------------------------------------------------
    def _open(self) -> None:
        """Create the host and one ruleset per scope (caller holds the lock)."""
        definitions = {f"esep_{scope}": json.loads(plan.definition_json) for scope, plan in self._plans.items()}
        host = _Host()
        try:
            host.register_rulesets(definitions)
        except _dre.error as exc:
            raise CatalogueFault(f"durable-rules refuses the ruleset: {exc}") from None
        self._host = host
        self._handles = {scope: host.get_ruleset(f"esep_{scope}")._handle for scope in self._plans}
        self._pid = os.getpid()

    def _drop(self) -> None:
        """Free the C rulesets (caller holds the lock)."""
        for handle in self._handles.values():
            try:
                _dre.delete_ruleset(handle)
            except _dre.error:  # pragma: no cover - already gone
                pass
        self._handles = {}
        self._host = None

    def _after_fork(self) -> None:
        # The child's copy of the lock may be held by a thread that does not exist there;
        # the C tables are a copy too. Start afresh on first use.
        self._lock = threading.Lock()
        self._handles = {}
        self._host = None
        self._pid = None

    def close(self) -> None:
        with self._lock:
            self._drop()
            self._closed = True
        _ENGINES.discard(self)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self._plans)

    # -- checks -----------------------------------------------------------------------
    def check(self, scope: str, facts: dict, *, params: dict | None = None,
              disabled: frozenset | set | tuple = frozenset()) -> Verdict:
        """Run the enabled rules of `scope` over `facts`.

        params: {rule code: {parameter: int}} over the catalogue defaults.
        disabled: rule codes switched off (their facts need not be supplied)."""
        plan = self._plans.get(scope)
        if plan is None:
            if scope not in SCOPES:
                raise FactsError(f"unknown scope {scope!r}")
            return PASSED
        disabled = frozenset(disabled)
        if all(rule.code in disabled for rule in plan.rules):
            return PASSED
        durable_facts, head, collections, values = plan.prepare(facts, params, disabled)
        sid = str(next(self._sids))  # itertools.count is atomic under the GIL
        for fact in durable_facts:
            fact["sid"] = sid
        payload = json.dumps(durable_facts, ensure_ascii=False)
        fired = self._run(scope, sid, payload)
        if not fired:
            return PASSED
        return self._verdict(plan, fired, head, collections, values, disabled)

    def _run(self, scope: str, sid: str, payload: str) -> list[str]:
        with self._lock:
            if self._closed:
                raise EngineFault("the engine is closed")
            if self._host is None:  # first use, after a fork, or after a fault
                self._drop()
                self._open()
            handle = self._handles[scope]
            fired: list[str] = []
            try:
                code, state = _dre.assert_facts(handle, payload)
                if code != 0:
                    raise EngineFault(f"durable-rules answered {code} to a check of {scope}")
                started = _dre.start_action_for_state(handle, state)
                if not started:
                    # the session rule always fires: without it the state is unsafe to delete
                    raise EngineFault(f"durable-rules fired no session rule in a check of {scope}")
                message = started[1]
                while message:
                    if not message.startswith(_SESSION_PREFIX):
                        fired.append(message)
                    message = _dre.complete_and_start_action(handle, state)
                _dre.delete_state(handle, sid)
            except BaseException as exc:
                # The session may be half-built; deleting it can crash the C engine. Drop
                # every ruleset instead and build them again on the next check.
                self._drop()
                if isinstance(exc, EngineFault):
                    raise
                raise EngineFault(f"durable-rules failed a check of {scope}: {exc}") from exc
            return fired

    def _verdict(self, plan: _ScopePlan, fired: list[str], head: dict, collections: dict, values: dict,
                 disabled: frozenset) -> Verdict:
        hits = []
        for message in fired:
            (name, match), = json.loads(message).items()
            rule, condition = plan.by_name[name]
            if rule.code in disabled:
                continue
            fact_id = match["m"]["id"]
            context = {**head, **values}
            index = -1
            if fact_id != HEAD:
                kind = condition.kind
                index = int(fact_id[len(kind) + 1:-1])
                context.update(collections[kind][index])
                context["i"] = index
                context["line_no"] = index + 1
            text = MappingProxyType({
                language: _FORMATTERS[language].vformat(condition.message[language], (), context)
                for language in LANGUAGES
            })
            hits.append((plan.order[rule.code], index, condition.name, RuleHit(
                code=rule.code, severity=rule.severity, message=text,
                field=condition.field.format(i=index) if index >= 0 else condition.field,
                fact=fact_id, condition=condition.name,
            )))
        if not hits:
            return PASSED
        hits.sort(key=lambda h: h[:3])
        ordered = tuple(h[3] for h in hits)
        outcome = BLOCK if any(h.severity == BLOCK for h in ordered) else WARN
        return Verdict(outcome, ordered)


_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for engine in list(_ENGINES):
        engine._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def try_rule(rule: Rule) -> None:
    """Compile one control alone and run its examples (catalogue.load calls this per file)."""
    engine = Engine(Catalogue(rules=(rule,)))
    try:
        for n, example in enumerate(rule.examples):
            facts = thaw(example["facts"])
            params = {rule.code: thaw(example.get("params", {}))}
            try:
                verdict = engine.check(rule.scope, facts, params=params)
            except FactsError as exc:
                raise CatalogueFault(f"examples[{n}]: {exc}") from None
            fired = sorted({h.condition for h in verdict.hits})
            expected = sorted(set(example["fires"]))
            if fired != expected:
                raise CatalogueFault(f"examples[{n}]: expected {expected or 'no rule'} to fire, "
                                     f"durable-rules fired {fired or 'none'}")
            for hit in verdict.hits:  # every message formats with these facts
                hit.text("ru")
    finally:
        engine.close()


# -- the process's engine ----------------------------------------------------------------
_default: Engine | None = None
_default_lock = threading.Lock()


def install(catalogue: Catalogue) -> Engine:
    """Make `catalogue` the one `check` uses (AppConfig.ready calls this at start)."""
    global _default
    engine = Engine(catalogue)
    with _default_lock:
        previous, _default = _default, engine
    if previous is not None:
        previous.close()
    return engine


def default() -> Engine:
    """The installed engine; outside Django, the catalogue of rules/catalogue/ loaded on first use."""
    global _default
    if _default is None:
        from . import catalogue

        with _default_lock:
            if _default is None:
                _default = Engine(catalogue.load())
    return _default


def check(scope: str, facts: dict, *, params: dict | None = None, disabled=frozenset()) -> Verdict:
    """The one public entry point: rules.check(scope, facts) → Verdict."""
    return default().check(scope, facts, params=params, disabled=disabled)
