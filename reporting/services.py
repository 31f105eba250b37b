"""The one door for writes of the reporting app: prepare, check, sign and approve statements,
edit the explanatory notes, queue background report jobs.

Approval is the chief accountant's act after the head has signed: in one transaction it
re-computes the statements (the figures must be those that were checked), approves every
closed month of the range through `ledger.services.approve_period` (R3: the database then
refuses any entry dated in them, forever) and sends `esep.events.statement_approved` for each
form, so what listeners write commits or rolls back with the approval.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors
from access.models import Action, Institution
from access.roles import Capability
from access.services import log_action, require
from esep.events import statement_approved
from ledger import services as ledger_services
from ledger.models import Period, PeriodStatus

from .models import Form, JobStatus, ReportJob, Statement, StatementKind, StatementStatus
from .statements import CHECKS, month_end, statement_data

FORMS = (Form.FO1, Form.FO2, Form.FO3, Form.FO4, Form.FO5)


def validate_range(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """Statements cover whole months: from the first day of a month to the last of a month."""
    errors = []
    if start is None:
        errors.append(ControlError("required", _("Give the first month of the statements."), field="period_start"))
    if end is None:
        errors.append(ControlError("required", _("Give the last month of the statements."), field="period_end"))
    if errors:
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]
    start, end = start.replace(day=1), month_end(end)
    if end < start:
        raise ControlError("range_reversed", _("The last month comes before the first month."), field="period_end")
    if (end.year - start.year) * 12 + end.month - start.month >= 12:
        raise ControlError("range_too_long", _("Statements cover at most twelve months."), field="period_end")
    return start, end


def _months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    months, day = [], start
    while day <= end:
        months.append((day.year, day.month))
        day = month_end(day) + dt.timedelta(days=1)
    return months


def check_failure(check: dict) -> ControlError:
    name = CHECKS.get(check["code"], check["code"])
    return ControlError(
        check["code"],
        _("Check %(code)s failed: %(name)s (%(left)s ≠ %(right)s).")
        % {"code": check["code"], "name": name, "left": check["left"], "right": check["right"]},
    )


def prepare_statement(*, institution: Institution, actor, period_start, period_end, consolidated: bool = False,
                      request=None, data: dict | None = None) -> Statement:
    """Compute FO-1…FO-5 now and freeze them as a new version (status prepared)."""
    roles = require(actor, institution, Capability.PREPARE_STATEMENTS, request=request, action=Action.CREATE,
                    object_type="statement")
    start, end = validate_range(period_start, period_end)
    kind = StatementKind.CONSOLIDATED if consolidated else StatementKind.SINGLE
    if consolidated and not institution.subordinates.exists():
        raise ControlError("no_subordinates", _("This institution has no subordinate institutions to consolidate."))
    if Statement.objects.filter(institution=institution, kind=kind, period_start=start, period_end=end,
                                status=StatementStatus.APPROVED).exists():
        raise ControlError("statement_approved", _("The statements of this range are approved and never change; a "
                                                   "correction found later goes into the current period."))
    if data is None:
        data = statement_data(institution, start, end, consolidated=consolidated)
    with transaction.atomic():
        last = (Statement.objects.select_for_update().filter(institution=institution, kind=kind, period_start=start,
                                                             period_end=end).order_by("-version").first())
        statement = Statement.objects.create(
            institution=institution, kind=kind, period_start=start, period_end=end,
            version=(last.version + 1) if last else 1, data=data, checks=data["checks"],
            prepared_at=timezone.now(), prepared_by=actor,
        )
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution, roles=roles,
                   object_type="statement", object_id=statement.pk,
                   details=f"{kind} {start}..{end} v{statement.version}")
    return statement


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().get(pk=statement.pk)


def check_statement(*, statement: Statement, actor, request=None) -> Statement:
    """prepared → checked, only when every cross-form check passed; else every failed check
    is named."""
    roles = require(actor, statement.institution, Capability.PREPARE_STATEMENTS, request=request,
                    action=Action.EDIT, object_type="statement")
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.PREPARED:
            raise ControlError("statement_status", _("Only prepared statements can be checked."))
        failed = locked.failed_checks
        if failed:
            errors = [check_failure(c) for c in failed]
            raise ControlErrors(errors) if len(errors) > 1 else errors[0]
        locked.status = StatementStatus.CHECKED
        locked.checked_at, locked.checked_by = timezone.now(), actor
        locked.save(update_fields=["status", "checked_at", "checked_by"])
        log_action(actor=actor, action=Action.EDIT, request=request, institution=locked.institution, roles=roles,
                   object_type="statement", object_id=locked.pk, details="checked")
    return locked


def sign_as_head(*, statement: Statement, actor, request=None) -> Statement:
    """The head of the institution signs checked statements (order No. 230)."""
    roles = require(actor, statement.institution, Capability.SIGN_AS_HEAD, request=request, action=Action.APPROVE,
                    object_type="statement")
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.CHECKED:
            raise ControlError("statement_status", _("Only checked statements can be signed."))
        if locked.head_signed_by_id:
            raise ControlError("already_signed", _("The head has already signed these statements."))
        locked.head_signed_at, locked.head_signed_by = timezone.now(), actor
        locked.save(update_fields=["head_signed_at", "head_signed_by"])
        log_action(actor=actor, action=Action.APPROVE, request=request, institution=locked.institution, roles=roles,
                   object_type="statement", object_id=locked.pk, details="signed by the head")
    return locked


def approve_statement(*, statement: Statement, actor, request=None) -> Statement:
    """checked + signed by the head → approved by the chief accountant; the months are locked
    for good (R3) and statement_approved is sent for each form inside this transaction."""
    institution = statement.institution
    roles = require(actor, institution, Capability.APPROVE_PERIOD, request=request, action=Action.APPROVE,
                    object_type="statement")
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.CHECKED:
            raise ControlError("statement_status", _("Only checked statements can be approved."))
        if not locked.head_signed_by_id:
            raise ControlError("head_signature_missing", _("The head of the institution has not signed yet."))
        consolidated = locked.kind == StatementKind.CONSOLIDATED
        ids = institution.subtree_ids() if consolidated else [institution.id]
        months = _months(locked.period_start, locked.period_end)
        periods = list(Period.objects.select_for_update().filter(institution_id__in=ids).filter(
            year__gte=locked.period_start.year, year__lte=locked.period_end.year).order_by("institution_id", "year",
                                                                                         "month"))
        periods = [p for p in periods if (p.year, p.month) in months]
        if not consolidated and len(periods) < len(months):
            raise ControlError("period_missing", _("Some months of the range have no period in the books."))
        still_open = [p for p in periods if p.status == PeriodStatus.OPEN]
        if still_open:
            raise ControlError("period_open", _("Close these months first: %(months)s.")
                               % {"months": ", ".join(sorted({str(p) for p in still_open}))})
        fresh = statement_data(institution, locked.period_start, locked.period_end, consolidated=consolidated)
        failed = [c for c in fresh["checks"] if not c["ok"]]
        if failed:
            errors = [check_failure(c) for c in failed]
            raise ControlErrors(errors) if len(errors) > 1 else errors[0]
        if fresh["forms"] != locked.data["forms"]:
            raise ControlError("figures_changed", _("The ledger changed after these statements were prepared; "
                                                    "prepare them again."))
        if not consolidated:
            for period in periods:
                if period.status == PeriodStatus.CLOSED:
                    ledger_services.approve_period(period=period, actor=actor, request=request)
        locked.status = StatementStatus.APPROVED
        locked.approved_at, locked.approved_by = timezone.now(), actor
        locked.save(update_fields=["status", "approved_at", "approved_by"])
        log_action(actor=actor, action=Action.APPROVE, request=request, institution=institution, roles=roles,
                   object_type="statement", object_id=locked.pk,
                   details=f"approved {locked.period_start}..{locked.period_end} v{locked.version}")
        for form in FORMS:
            statement_approved.send(
                sender=Statement, institution=institution, form=str(form) if not consolidated else f"K{form}",
                period_start=locked.period_start, period_end=locked.period_end, version=locked.version,
                payload=locked.data["forms"][form],
            )
    return locked


def edit_notes(*, statement: Statement, actor, notes: str, request=None) -> Statement:
    """The explanatory note's text (FO-5), while the statements are not approved."""
    roles = require(actor, statement.institution, Capability.PREPARE_STATEMENTS, request=request,
                    action=Action.EDIT, object_type="statement")
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status == StatementStatus.APPROVED:
            raise ControlError("statement_approved", _("Approved statements never change."))
        locked.notes = notes.strip()
        locked.save(update_fields=["notes"])
        log_action(actor=actor, action=Action.EDIT, request=request, institution=locked.institution, roles=roles,
                   object_type="statement", object_id=locked.pk, details="explanatory notes")
    return locked


JOB_KINDS = {
    "consolidated": Capability.PREPARE_STATEMENTS,
    "general_ledger": Capability.VIEW_LEDGER,
    "account_card": Capability.VIEW_LEDGER,
}


def queue_job(*, institution: Institution, actor, kind: str, params: dict, language: str = "ru", request=None,
              queue: str | None = None) -> ReportJob:
    """Queue a large report for a Celery worker; the page follows its progress."""
    if kind not in JOB_KINDS:
        raise ControlError("unknown_report", _("Unknown report."), field="kind")
    roles = require(actor, institution, JOB_KINDS[kind], request=request, action=Action.CREATE,
                    object_type="report_job")
    if kind == "consolidated":
        validate_range(dt.date.fromisoformat(params["period_start"]), dt.date.fromisoformat(params["period_end"]))
    with transaction.atomic():
        job = ReportJob.objects.create(institution=institution, kind=kind, params=params, requested_by=actor,
                                       language=language[:5], status=JobStatus.QUEUED)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution, roles=roles,
                   object_type="report_job", object_id=job.pk, details=kind)
        from .tasks import run_report_job

        options = {"queue": queue} if queue else {}
        transaction.on_commit(lambda: run_report_job.apply_async((job.pk,), **options))
    return job
