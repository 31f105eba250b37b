"""The monthly run through a real Celery worker (a subprocess on the test database): the page
queues it, the worker calculates, the progress and the preview are read back."""

import pytest
from django.test import Client

from payroll import services
from payroll.models import PayrollLine, RunStatus
from tests.factories import build_world
from tests.payroll_support import YEAR, celery_worker, staff, wait_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_calculates_a_queued_run_and_the_page_shows_it(celery_worker):  # noqa: F811
    world_staff = staff(build_world())
    world = world_staff.world
    client = Client()
    client.force_login(world.clerk_a)
    response = client.post("/payroll/runs/start/", {"year": YEAR, "month": 3})
    assert response.status_code == 302
    run = services.PayrollRun.objects.get(institution=world.a, year=YEAR, month=3)
    run = wait_for(run)
    assert run.status == RunStatus.CALCULATED, run.error
    assert run.progress_done == run.progress_total == 2
    assert PayrollLine.objects.filter(run=run).count() == 2
    page = client.get(f"/payroll/runs/{run.pk}/")
    assert page.status_code == 200 and "250" in page.content.decode()
    assert client.get(f"/payroll/runs/{run.pk}/progress/").content.decode() == "calculated 2/2"
    response = client.post(f"/payroll/runs/{run.pk}/post/")
    run.refresh_from_db()
    assert run.status == RunStatus.POSTED and len(run.entry_ids) == 3
