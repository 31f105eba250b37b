import datetime as dt
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from ledger.demo import SEED, load_demo


class Command(BaseCommand):
    help = ("Create the demo once: reference data, an education administrator (АБП 261) with a school and a "
            "college, users for every role, suppliers, and entries from January 2025 to this month posted "
            "through the ledger services (about 20,000). Does nothing, silently, if the demo is already there.")

    def add_arguments(self, parser):
        parser.add_argument("--entries-per-month", type=int, default=None,
                            help="about this many entries per institution and month (default: ~20,000 in all)")
        parser.add_argument("--seed", type=int, default=SEED, help="random seed (default %(default)s)")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="generate up to this date (YYYY-MM-DD) instead of today")

    def handle(self, *args, entries_per_month=None, seed=SEED, today=None, verbosity=1, **options):
        if entries_per_month is not None and entries_per_month < 1:
            raise CommandError("--entries-per-month must be at least 1")
        report = load_demo(entries_per_month=entries_per_month, seed=seed, today=today,
                           progress=(lambda m: self.stdout.write(f"load_demo: {m}")) if verbosity > 1 else None)
        if report is not None:  # None: already loaded, `make run` calls this on every start
            self.stdout.write(self.style.SUCCESS(f"load_demo: {report}"))
        # Each sub-ledger app adds its own demo on top (payroll, financing, inventory…):
        # `<app>/demo.py` defines `load_app_demo(progress)`, idempotent, returning a summary
        # string or None when it had nothing to do. Called in INSTALLED_APPS order.
        # access goes last: it trains every demo user, including those other demos create.
        configs = sorted(apps.get_app_configs(), key=lambda c: c.name == "access")
        for config in configs:
            if config.name == "ledger" or find_spec(f"{config.name}.demo") is None:
                continue
            module = import_module(f"{config.name}.demo")
            if hasattr(module, "load_app_demo"):
                summary = module.load_app_demo(
                    progress=(lambda m, n=config.label: self.stdout.write(f"load_demo[{n}]: {m}"))
                    if verbosity > 1 else None)
                if summary:
                    self.stdout.write(self.style.SUCCESS(f"load_demo[{config.label}]: {summary}"))
        if report is None:
            return
        self.stdout.write("load_demo: `manage.py demo_logins` lists the logins")
