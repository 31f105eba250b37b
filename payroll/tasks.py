"""The monthly run in Celery: the page queues it and shows the progress the task writes to
the run row."""

import os

from celery import shared_task

# Tests start their own worker on a queue of their own, so a developer's worker on the same
# Redis never takes a test's task (and the other way round).
QUEUE = os.environ.get("ESEP_PAYROLL_QUEUE", "celery")


@shared_task(name="payroll.calculate_run")
def calculate_run_task(run_id: int) -> dict:
    from access.errors import ControlError

    from .services import calculate_run

    try:
        run = calculate_run(run_id)
    except ControlError as error:
        return {"run": run_id, "status": "failed", "error": str(error.message)}
    return {"run": run.pk, "status": run.status, "employees": run.progress_total}


def queue_calculation(run_id: int) -> None:
    calculate_run_task.apply_async(args=[run_id], queue=os.environ.get("ESEP_PAYROLL_QUEUE", QUEUE))
