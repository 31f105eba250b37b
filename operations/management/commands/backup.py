from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from access.models import Action, Outcome
from access.services import log_action
from operations.backup import BackupError, create_backup


class Command(BaseCommand):
    help = ("Back up the database (pg_dump custom format), media files and settings into "
            "ESEP_BACKUP_DIR/esep-<UTC time>/ with SHA-256 checksums; keep the newest ESEP_BACKUP_KEEP.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, help="backup directory (default ESEP_BACKUP_DIR)")
        parser.add_argument("--keep", type=int, help="how many backups to keep (default ESEP_BACKUP_KEEP)")

    def handle(self, *args, dir=None, keep=None, **options):
        try:
            result = create_backup(dir, keep=keep)
        except BackupError as error:
            log_action(actor=None, username="system", action=Action.EXPORT, outcome=Outcome.FAILED,
                       object_type="backup", details=str(error))
            raise CommandError(str(error)) from None
        size = sum(f["bytes"] for f in result.manifest["files"].values())
        log_action(actor=None, username="system", action=Action.EXPORT, object_type="backup",
                   object_id=result.path.name, details=f"{size} bytes, {len(result.removed)} old backup(s) removed")
        self.stdout.write(self.style.SUCCESS(f"backup: {result.path} ({size} bytes)"))
        for old in result.removed:
            self.stdout.write(f"removed {old}")
