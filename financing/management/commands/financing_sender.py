"""Register a system allowed to push financing plans and print its token (shown once).

    manage.py financing_sender plan-krg "Планирование Карагандинской области" 001240001481 970840003067
"""

from django.core.management.base import BaseCommand, CommandError

from access.models import Institution
from financing.services import issue_sending_system


class Command(BaseCommand):
    help = "Register a sending system for financing-plan pushes; prints its token once."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("name")
        parser.add_argument("bins", nargs="+", help="BINs of the institutions it may send plans for")

    def handle(self, code, name, bins, **options):
        institutions = list(Institution.objects.filter(bin__in=bins))
        missing = set(bins) - {i.bin for i in institutions}
        if missing:
            raise CommandError(f"unknown BIN(s): {', '.join(sorted(missing))}")
        _system, token = issue_sending_system(code=code, name=name, institutions=institutions)
        self.stdout.write(token)
