import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from access.models import Action, Outcome
from access.services import log_action
from operations.backup import BackupError, restore_drill


class Command(BaseCommand):
    help = ("Restore the newest backup (or the one named) into a scratch database, verify hash chains and "
            "trial balances equal the source's, drop the scratch database. Exits 1 on any difference.")

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, nargs="?", help="backup directory (default: the newest)")
        parser.add_argument("--keep-database", action="store_true", help="leave the scratch database")

    def handle(self, *args, backup=None, keep_database=False, **options):
        try:
            result = restore_drill(backup, keep_database=keep_database)
        except BackupError as error:
            log_action(actor=None, username="system", action=Action.VIEW, outcome=Outcome.FAILED,
                       object_type="restore_drill", details=str(error))
            raise CommandError(str(error)) from None
        log_action(actor=None, username="system", action=Action.VIEW,
                   outcome=Outcome.SUCCESS if result.ok else Outcome.FAILED, object_type="restore_drill",
                   object_id=result.backup.name, details="; ".join(result.differences)[:4000] or "equal")
        if not result.ok:
            for line in result.differences:
                self.stderr.write(line)
            self.stderr.write(self.style.ERROR(f"restore_drill: {result.backup.name}: "
                                               f"{len(result.differences)} difference(s)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(
            f"restore_drill: {result.backup.name} restored into {result.database}: chains, trial balances "
            "and row counts equal the source's; verify_ledger clean"))
