"""Celery tasks of the export, run by beat (dwh_export/schedule.py)."""

from celery import shared_task

from . import services


@shared_task(name="dwh_export.tasks.deliver")
def deliver() -> dict:
    """Send pending batches of every institution; a failed batch waits for its backoff."""
    return services.deliver_all()


@shared_task(name="dwh_export.tasks.reconcile")
def reconcile() -> dict:
    """Daily: compare the ledger's control totals with the receiver's (R13)."""
    return services.reconcile_all()
