"""Large reports run in a real Celery worker (a subprocess on the test database, its own
queue on the real Redis) and report progress to the page."""

import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from reporting import services
from reporting.models import JobStatus, ReportJob, StatementKind

from .reporting_support import EXPECTED, make_group, two_months

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def worker(tmp_path, settings):
    """A Celery worker on a queue of its own, reading the test database."""
    queue = f"reporting-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "ESEP_MEDIA_ROOT": str(tmp_path), "ESEP_DB_CONN_MAX_AGE": "0"}
    settings.MEDIA_ROOT = tmp_path
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "esep", "worker", "-P", "solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning",
         "--hostname", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(job: ReportJob, seconds: float = 90) -> ReportJob:
    deadline = time.monotonic() + seconds
    seen = set()
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.add(job.progress)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            job.seen = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} still {job.status} at {job.progress} % after {seconds} s")


@pytest.mark.django_db(transaction=True)
def test_consolidation_in_the_worker_with_progress_on_the_page(client, world, worker):
    two_months(world)
    admin, chief = make_group(world)
    job = services.queue_job(institution=admin, actor=chief, kind="consolidated", queue=worker,
                             params={"period_start": "2026-01-01", "period_end": "2026-02-28"})
    client.force_login(chief)
    page = client.get(reverse("report_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in page  # the page polls while the job runs
    job = wait_for(job)
    assert job.status == JobStatus.DONE, job.error
    assert job.progress == 100 and job.statement.kind == StatementKind.CONSOLIDATED
    data = job.statement.data
    assert all(c["ok"] for c in data["checks"])
    fo1 = {r["code"]: r for r in data["forms"]["FO-1"]["lines"]}
    assert fo1["300"]["values"]["closing"] == str(EXPECTED["assets"])
    page = client.get(reverse("report_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in page and reverse("statement_detail", args=[job.statement_id]) in page


@pytest.mark.django_db(transaction=True)
def test_account_card_xlsx_in_the_worker(client, world, worker):
    two_months(world)
    job = services.queue_job(institution=world.a, actor=world.chief_a, kind="account_card", queue=worker,
                             params={"account": "1010", "date_from": "2026-01-01", "date_to": "2026-02-28"})
    job = wait_for(job)
    assert job.status == JobStatus.DONE, job.error
    client.force_login(world.chief_a)
    response = client.get(reverse("report_job_download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    last = [r for r in sheet.iter_rows(min_row=4, values_only=True)][-1]
    assert last[6] == float(EXPECTED["cash"])
    # another tenant cannot fetch it
    client.force_login(world.accountant_b)
    assert client.get(reverse("report_job_download", args=[job.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_failed_job_is_shown_as_failed(world, worker):
    job = services.queue_job(institution=world.a, actor=world.chief_a, kind="account_card", queue=worker,
                             params={"account": "9999", "date_from": "2026-01-01", "date_to": "2026-02-28"})
    job = wait_for(job)
    assert job.status == JobStatus.FAILED and job.error
