from django.core.management.base import BaseCommand

from ledger.demo import DEMO_PASSWORD, demo_exists, demo_logins


class Command(BaseCommand):
    help = "Print the demo logins (username, full name, role, institution) and the shared demo password."

    def handle(self, *args, **options):
        if not demo_exists():
            self.stdout.write("demo_logins: the demo is not loaded (manage.py load_demo)")
            return
        rows = demo_logins()
        header = {"username": "login", "full_name": "full name", "role": "role", "institution": "institution"}
        widths = {k: max(len(str(r[k])) for r in [header, *rows]) for k in header}
        line = "  ".join("{%s:<%d}" % (k, widths[k]) for k in header)  # noqa: UP031
        self.stdout.write(line.format(**header).rstrip())
        self.stdout.write("  ".join("-" * widths[k] for k in header))
        for row in rows:
            self.stdout.write(line.format(**row).rstrip())
        self.stdout.write(f"\npassword for every demo login: {DEMO_PASSWORD}")
