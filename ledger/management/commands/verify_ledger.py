import sys

from django.core.management.base import BaseCommand

from ledger.verification import verify_all


class Command(BaseCommand):
    help = ("Verify every entry's balance, the hash chains of entries and of the action journal, and "
            "turnovers against a full recompute. Exits 1 with a report on any breach.")

    def add_arguments(self, parser):
        parser.add_argument("--institution", type=int, action="append", help="limit to these institution ids")

    def handle(self, *args, institution=None, **options):
        breaches = verify_all(institution)
        if breaches:
            for breach in breaches:
                self.stderr.write(str(breach))
            self.stderr.write(self.style.ERROR(f"verify_ledger: {len(breaches)} breach(es)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("verify_ledger: entries balanced, chains intact, turnovers equal"))
