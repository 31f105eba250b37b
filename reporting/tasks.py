"""Large reports built by a Celery worker: consolidation over many institutions, a year's
account card or general ledger as XLSX. The job row carries progress for the page; each
update is its own short transaction so the page sees it at once."""

import datetime as dt
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.utils import timezone, translation

from .models import JobStatus, ReportJob

REPORT_DIR = "reports"


def _update(job_id: int, **fields) -> None:
    ReportJob.objects.filter(pk=job_id).update(**fields)


@shared_task(acks_late=True)
def run_report_job(job_id: int) -> str:
    job = ReportJob.objects.select_related("institution", "requested_by").get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return job.status  # redelivered after it finished
    _update(job_id, status=JobStatus.RUNNING, progress=5, stage="started")
    try:
        with translation.override(job.language):
            if job.kind == "consolidated":
                _consolidated(job)
            else:
                _register_file(job)
    except Exception as error:  # the page shows the failure; the worker log has the traceback
        _update(job_id, status=JobStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now())
        raise
    return JobStatus.DONE


def _consolidated(job: ReportJob) -> None:
    from . import services
    from .statements import compute, load_source

    p = job.params
    start, end = dt.date.fromisoformat(p["period_start"]), dt.date.fromisoformat(p["period_end"])
    start, end = services.validate_range(start, end)
    ids = job.institution.subtree_ids()
    _update(job.pk, progress=20, stage=f"reading turnovers of {len(ids)} institutions")
    source = load_source(ids, start, end, eliminate=True)
    _update(job.pk, progress=60, stage="computing forms and checks")
    data = compute(source)
    data["institutions"] = ids
    _update(job.pk, progress=85, stage="saving")
    statement = services.prepare_statement(institution=job.institution, actor=job.requested_by, period_start=start,
                                           period_end=end, consolidated=True, data=data)
    _update(job.pk, status=JobStatus.DONE, progress=100, stage="done", statement=statement,
            finished_at=timezone.now())


def _register_file(job: ReportJob) -> None:
    from . import exports
    from .render import to_xlsx

    p = job.params
    if job.kind == "general_ledger":
        tables = [exports.general_ledger_table(job.institution, int(p["year"]))]
    else:
        def progress(n, total):
            _update(job.pk, progress=10 + int(70 * n / max(total, 1)), stage=f"{n} / {total}")

        tables = [exports.account_card_table(job.institution, p["account"], dt.date.fromisoformat(p["date_from"]),
                                             dt.date.fromisoformat(p["date_to"]), progress=progress)]
    _update(job.pk, progress=85, stage="writing XLSX")
    directory = Path(settings.MEDIA_ROOT) / REPORT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{job.kind}-{job.institution_id}-{job.pk}.xlsx"
    (directory / name).write_bytes(to_xlsx(tables))
    _update(job.pk, status=JobStatus.DONE, progress=100, stage="done", result_file=f"{REPORT_DIR}/{name}",
            finished_at=timezone.now())
