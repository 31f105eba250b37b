"""What is in force for an institution on a date: parameter values and switched-off rules.

Both tables are small (a few rows per institution and control) and read on every checked
operation, so the rows are held in a per-process snapshot, dropped when either table is
saved here (signals, and again at commit) and at most `TTL_SECONDS` old otherwise: another
process sees a change within that time. Resolved answers are memoised per
(institution, scope, date) inside the snapshot, so a posting pays a dict lookup.
"""

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models.signals import post_save

from . import engine
from .catalogue import Rule
from .models import RuleParameter, RuleSwitch

TTL_SECONDS = 30
# Resolved (institution, scope, date) answers kept per snapshot; a snapshot lives ≤ 30 s, and
# the bound keeps a long import over many dates from growing it without limit.
MEMO_MAX = 10_000

DEFAULT, DEPLOYMENT, INSTITUTION = "default", "deployment", "institution"


@dataclass(frozen=True)
class Effective:
    """One parameter's value on a date and where it comes from."""

    value: int
    source: str  # "default" | "deployment" | "institution"
    row: RuleParameter | None = None


@dataclass(frozen=True)
class SwitchState:
    enabled: bool
    source: str
    row: RuleSwitch | None = None


@dataclass
class Snapshot:
    # (rule code, name) -> rows, newest valid_from first, then newest id
    parameters: dict[tuple[str, str], list[RuleParameter]]
    # rule code -> rows, newest valid_from first, then newest id
    switches: dict[str, list[RuleSwitch]]
    memo: dict = field(default_factory=dict)


def _load() -> Snapshot:
    parameters: dict[tuple[str, str], list[RuleParameter]] = {}
    for row in RuleParameter.objects.order_by("-valid_from", "-id"):
        parameters.setdefault((row.rule_code, row.name), []).append(row)
    switches: dict[str, list[RuleSwitch]] = {}
    for row in RuleSwitch.objects.order_by("-valid_from", "-id"):
        switches.setdefault(row.rule_code, []).append(row)
    return Snapshot(parameters=parameters, switches=switches)


_lock = threading.Lock()
_cached: tuple[float, Snapshot] | None = None


def snapshot() -> Snapshot:
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is None or now - _cached[0] > TTL_SECONDS:
            _cached = (now, _load())
        return _cached[1]


def invalidate(**_kwargs) -> None:
    global _cached
    with _lock:
        _cached = None


def invalidate_now_and_at_commit() -> None:
    """After a write: drop the snapshot now (this transaction sees its row) and at commit
    (a snapshot loaded in between would miss other transactions' rows no longer)."""
    invalidate()
    transaction.on_commit(invalidate)


for _model in (RuleParameter, RuleSwitch):
    post_save.connect(invalidate, sender=_model, dispatch_uid=f"rules-{_model.__name__}-save")


def _as_int(value: Decimal) -> int:
    return int(value)  # set_parameter admits whole numbers only (every parameter type is an integer)


def parameter(rule: Rule, name: str, institution_id: int | None, on_date: dt.date,
              snap: Snapshot | None = None) -> Effective:
    snap = snap or snapshot()
    rows = snap.parameters.get((rule.code, name), ())
    for wanted, source in ((institution_id, INSTITUTION), (None, DEPLOYMENT)):
        if wanted is None and source == INSTITUTION:
            continue
        for row in rows:
            if row.institution_id == wanted and row.valid_from <= on_date \
                    and (row.valid_to is None or on_date <= row.valid_to):
                return Effective(_as_int(row.value), source, row)
    declared = rule.parameter(name)
    return Effective(declared.default, DEFAULT)


def switch(rule: Rule, institution_id: int | None, on_date: dt.date, snap: Snapshot | None = None) -> SwitchState:
    if not rule.switchable:
        return SwitchState(True, DEFAULT)
    snap = snap or snapshot()
    rows = snap.switches.get(rule.code, ())
    for wanted, source in ((institution_id, INSTITUTION), (None, DEPLOYMENT)):
        if wanted is None and source == INSTITUTION:
            continue
        for row in rows:
            if row.institution_id == wanted and row.valid_from <= on_date:
                return SwitchState(row.enabled, source, row)
    return SwitchState(rule.enabled_by_default, DEFAULT)


def effective(scope: str, institution_id: int, on_date: dt.date) -> tuple[dict, frozenset]:
    """({rule code: {parameter: value}}, disabled rule codes) for a check of `scope`."""
    snap = snapshot()
    key = (institution_id, scope, on_date)
    found = snap.memo.get(key)
    if found is not None:
        return found
    params: dict[str, dict[str, int]] = {}
    disabled = set()
    for rule in engine.default().catalogue.in_scope(scope):
        if not switch(rule, institution_id, on_date, snap).enabled:
            disabled.add(rule.code)
        for p in rule.parameters:
            value = parameter(rule, p.name, institution_id, on_date, snap).value
            if value != p.default:
                params.setdefault(rule.code, {})[p.name] = value
    found = (params, frozenset(disabled))
    if len(snap.memo) >= MEMO_MAX:
        snap.memo.clear()
    snap.memo[key] = found
    return found
