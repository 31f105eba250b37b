"""The one door for ФЛК: enforce a scope's controls on facts, tune and switch controls.

`enforce` is what every other app's service calls after it has locked what it reads and
built the facts:

    verdict = enforce("posting", facts, institution=institution, actor=actor, on_date=draft.date)

It resolves the institution's parameters and switches for the date, asks the engine, and
- pass: returns the verdict, writes nothing;
- warn: records each warning as a Violation in the caller's transaction (it stands or
  falls with the operation) and returns the verdict so the caller can show it;
- block: records every hit (warnings too) as Violations committed on a connection of its
  own, then raises ControlError (one block) or ControlErrors (several), code = rule code,
  message in the active language, field from the catalogue. The caller's transaction rolls
  back; the record of the refused attempt does not.

Why a second connection and not "record after the rollback": the refusal is raised deep
inside the caller's transaction.atomic(); Django has no on-rollback hook, and every caller
(views, the API, Celery tasks, imports) would have to remember to record it. The autonomous
insert touches only rules_violation, which has no foreign key or unique key a caller's
transaction could hold a lock on, so it cannot wait on the transaction it outlives (the
action journal could: its chain head is locked by the caller's own journal rows, which is
why the refused attempt is not also written there from the second connection). The
connection is opened per blocked check and closed at once: refusals are rare, and a kept
connection would outlive test databases and forks.
"""

import datetime as dt
import logging
import uuid
from decimal import Decimal, InvalidOperation

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from access.errors import ControlError, ControlErrors, PermissionRefused
from access.models import Action, Institution
from access.roles import Capability
from access.services import log_action, require

from . import engine, parameters
from .engine import PASS, Verdict
from .models import RuleParameter, RuleSwitch, Violation, ViolationOutcome
from .texts import language, message

logger = logging.getLogger(__name__)

_COLUMNS = ("attempt", "rule_code", "condition", "severity", "outcome", "scope", "institution_id", "user_id",
            "user_full_name", "at", "on_date", "field", "fact", "facts", "parameters", "message")
# Connection settings Django passes to psycopg that are Python objects, not libpq options.
_DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold")


def preview(scope: str, facts: dict, *, institution: Institution, on_date: dt.date) -> Verdict:
    """The verdict with the institution's parameters and switches, recording nothing (live
    form checks: the user has not attempted anything yet)."""
    params, disabled = parameters.effective(scope, institution.id, on_date)
    return engine.check(scope, facts, params=params, disabled=disabled)


def enforce(scope: str, facts: dict, *, institution: Institution, actor, on_date: dt.date,
            request=None) -> Verdict:
    """Check `facts` against the enabled controls of `scope`; journal what fires; raise on block."""
    params, disabled = parameters.effective(scope, institution.id, on_date)
    verdict = engine.check(scope, facts, params=params, disabled=disabled)
    if verdict.outcome == PASS:
        return verdict
    rows = _violations(verdict, scope, facts, params, institution, actor, on_date)
    if verdict.blocked:
        _record_autonomously(rows)
        current = language()
        errors = [ControlError(hit.code, hit.text(current), field=hit.field or None) for hit in verdict.blocks]
        raise errors[0] if len(errors) == 1 else ControlErrors(errors)
    Violation.objects.bulk_create(rows)
    return verdict


def _violations(verdict: Verdict, scope: str, facts: dict, params: dict, institution: Institution, actor,
                on_date: dt.date) -> list[Violation]:
    attempt = uuid.uuid4()
    now = timezone.now()
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    outcome = ViolationOutcome.BLOCKED if verdict.blocked else ViolationOutcome.WARNED
    catalogue = engine.default().catalogue
    rows = []
    for hit in verdict.hits:
        rule = catalogue.get(hit.code)
        used = {p.name: params.get(hit.code, {}).get(p.name, p.default) for p in rule.parameters}
        rows.append(Violation(
            attempt=attempt, rule_code=hit.code, condition=hit.condition, severity=hit.severity, outcome=outcome,
            scope=scope, institution_id=institution.id, user_id=user.pk if user else None,
            user_full_name=user.full_name if user else "", at=now, on_date=on_date, field=hit.field[:100],
            fact=hit.fact[:100], facts=facts, parameters=used, message=dict(hit.message),
        ))
    return rows


def _connection_params() -> dict:
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    for key in _DJANGO_ONLY:
        params.pop(key, None)
    return params


def _record_autonomously(rows: list[Violation]) -> None:
    """Insert and commit on a connection of its own, so the rows outlive the caller's rollback.
    A failure to record is logged with the rows and does not change the refusal."""
    table = Violation._meta.db_table
    sql = (f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})")
    values = [
        (row.attempt, row.rule_code, row.condition, row.severity, row.outcome, row.scope, row.institution_id,
         row.user_id, row.user_full_name, row.at, row.on_date, row.field, row.fact, Jsonb(row.facts),
         Jsonb(row.parameters), Jsonb(row.message))
        for row in rows
    ]
    try:
        with psycopg.connect(**_connection_params(), autocommit=True, connect_timeout=10) as conn:
            with conn.cursor() as cursor:
                cursor.executemany(sql, values)
    except psycopg.Error:
        logger.exception("ФЛК: a blocked attempt could not be recorded: %s",
                         [(r.rule_code, r.institution_id, r.user_id, str(r.at), r.facts) for r in rows])


# -- management --------------------------------------------------------------------------

def _rule(code: str):
    rule = engine.default().catalogue.get(code)
    if rule is None:
        raise ControlError("rule_unknown", message("rule_unknown", code=code), field="rule")
    return rule


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ControlError("reason_required", message("reason_required"), field="reason")
    return reason


def _may_manage(actor, institution: Institution | None, request, object_type: str) -> None:
    if institution is None:
        if not getattr(actor, "is_superuser", False):
            log_action(actor=actor, action=Action.EDIT, outcome="refused", request=request, object_type=object_type,
                       details="deployment-wide value needs a superuser")
            raise PermissionRefused("permission_refused", message("deployment_only_superuser"))
        return
    require(actor, institution, Capability.EDIT_REFERENCE, request=request, action=Action.EDIT,
            object_type=object_type)


def set_parameter(*, actor, institution: Institution | None, rule_code: str, name: str, value, valid_from: dt.date,
                  reason: str, valid_to: dt.date | None = None, request=None) -> RuleParameter:
    """Set a control's parameter for an institution (or, institution None, the deployment:
    superuser only) from `valid_from`. Adds a row; history is kept and journaled."""
    _may_manage(actor, institution, request, "rule_parameter")
    reason = _reason(reason)
    rule = _rule(rule_code)
    declared = rule.parameter(name)
    if declared is None:
        raise ControlError("parameter_unknown", message("parameter_unknown", code=rule_code, name=name),
                           field="name")
    try:
        amount = Decimal(str(value)) if not isinstance(value, float | bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.to_integral_value() \
            or not declared.min <= amount <= declared.max:
        raise ControlError("parameter_invalid", message("parameter_invalid", name=name, low=declared.min,
                                                        high=declared.max), field="value")
    if valid_to is not None and valid_to < valid_from:
        raise ControlError("dates_invalid", message("dates_invalid"), field="valid_to")
    with transaction.atomic():
        row = RuleParameter.objects.create(
            institution=institution, rule_code=rule.code, name=name, value=amount, valid_from=valid_from,
            valid_to=valid_to, set_by=actor, set_at=timezone.now(), reason=reason,
        )
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution,
                   object_type="rule_parameter", object_id=row.pk,
                   details=f"{rule.code}.{name} = {int(amount)} from {valid_from.isoformat()}"
                           + (f" to {valid_to.isoformat()}" if valid_to else "") + f": {reason}")
        parameters.invalidate_now_and_at_commit()
    return row


def switch_rule(*, actor, institution: Institution | None, rule_code: str, enabled: bool, reason: str,
                valid_from: dt.date | None = None, request=None) -> RuleSwitch:
    """Enable or disable a control for an institution (None: the deployment, superuser only)
    from `valid_from` (default today), with the reason in the action journal."""
    _may_manage(actor, institution, request, "rule_switch")
    reason = _reason(reason)
    rule = _rule(rule_code)
    if not rule.switchable and not enabled:
        raise ControlError("rule_not_switchable", message("rule_not_switchable", code=rule.code), field="rule")
    valid_from = valid_from or timezone.localdate()
    with transaction.atomic():
        row = RuleSwitch.objects.create(institution=institution, rule_code=rule.code, enabled=bool(enabled),
                                        valid_from=valid_from, reason=reason, actor=actor, at=timezone.now())
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution,
                   object_type="rule_switch", object_id=row.pk,
                   details=f"{rule.code} {'enabled' if enabled else 'disabled'} from {valid_from.isoformat()}: "
                           f"{reason}")
        parameters.invalidate_now_and_at_commit()
    return row
