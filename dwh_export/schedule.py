"""Periodic export work (merged into CELERY_BEAT_SCHEDULE by esep/settings.py)."""

import os

BEAT_SCHEDULE = {
    "dwh-export-deliver": {
        "task": "dwh_export.tasks.deliver",
        "schedule": float(os.environ.get("DWH_EXPORT_INTERVAL", "60")),  # float ok: seconds
        # a run that waits longer than one interval is superseded by the next one
        "options": {"expires": float(os.environ.get("DWH_EXPORT_INTERVAL", "60"))},  # float ok: seconds
    },
    "dwh-export-reconcile": {
        "task": "dwh_export.tasks.reconcile",
        "schedule": 24 * 3600.0,
    },
}
