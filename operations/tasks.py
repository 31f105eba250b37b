"""Periodic operations run by the Celery worker (scheduled in operations/schedule.py)."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="operations.tasks.backup_task")
def backup_task():
    call_command("backup")


@shared_task(name="operations.tasks.restore_drill_task")
def restore_drill_task():
    call_command("restore_drill")
