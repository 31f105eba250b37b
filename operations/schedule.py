"""Beat entries of operations (merged by esep/settings.py). Plain dicts: no Django imports."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # R14: a backup every night at 02:30 (Asia/Almaty), before the working day.
    "backup-nightly": {"task": "operations.tasks.backup_task", "schedule": crontab(hour=2, minute=30)},
    # R14: periodic restore tests: every Sunday at 04:00 the newest backup is restored and proven.
    "restore-drill-weekly": {"task": "operations.tasks.restore_drill_task",
                             "schedule": crontab(hour=4, minute=0, day_of_week=0)},
}
