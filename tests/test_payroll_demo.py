"""The payroll demo loads on top of the ledger demo, posts a 2026 month and is idempotent."""

import datetime as dt

import pytest

from ledger.demo import COLLEGE, SCHOOL, load_demo
from ledger.models import JournalEntry
from payroll import demo
from payroll.models import Employee, PayrollRun, RunStatus

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 4, 20)


def test_demo_posts_a_labelled_2026_month_once():
    load_demo(entries_per_month=2, today=TODAY)
    summary = demo.load_app_demo(today=TODAY)
    assert summary and "2026-03" in summary
    assert demo.load_app_demo(today=TODAY) is None
    for spec in (SCHOOL, COLLEGE):
        run = PayrollRun.objects.get(institution__bin=spec.bin, year=2026, month=3)
        assert run.status == RunStatus.POSTED and run.registers.count() == 1
        assert Employee.objects.filter(institution__bin=spec.bin).count() == demo.HEADCOUNT[spec.key]
        labelled = JournalEntry.objects.filter(pk__in=run.entry_ids, description__startswith="Esep payroll")
        assert labelled.count() == len(run.entry_ids) == 3
