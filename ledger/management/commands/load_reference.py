from django.core.management.base import BaseCommand, CommandError

from ledger.loading import DEFAULT_PATH, ReferenceLoadError, load_reference
from ledger.schemes import load_schemes


class Command(BaseCommand):
    help = ("Load the chart of accounts, the budget classification, funding sources and the account–specific "
            "correspondence from the CSV files (ledger/data/README.md). All-or-nothing and idempotent: a second "
            "run changes nothing; a changed row is updated (and recorded by django-auditlog); nothing is deleted.")

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(DEFAULT_PATH), help="folder holding the CSV files")

    def handle(self, *args, path, **options):
        try:
            report = load_reference(path)
        except ReferenceLoadError as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(f"load_reference: {len(exc.errors)} error(s); nothing was written") from None
        try:
            schemes = load_schemes()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"posting scheme lines created: {schemes}")
        for name, counts in report.counts.items():
            self.stdout.write(f"{name}: {counts}")
        self.stdout.write(self.style.SUCCESS("load_reference: done" if report.changed
                                             else "load_reference: already up to date"))
