from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.backup import (
    BackupError,
    create_database,
    db_params,
    restore_database,
    restore_media,
    verify_backup,
)


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup`: checksums are verified first; the dump goes into "
            "--database (created if absent, default: the configured database) and media into MEDIA_ROOT.")

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="the backup directory (esep-<time>)")
        parser.add_argument("--database", help="target database name (default: the configured one)")
        parser.add_argument("--media-root", type=Path, help="where media files go (default MEDIA_ROOT)")
        parser.add_argument("--no-media", action="store_true", help="restore the database only")
        parser.add_argument("--yes", action="store_true",
                            help="confirm overwriting the configured database (it is cleaned first)")

    def handle(self, *args, backup, database=None, media_root=None, no_media=False, yes=False, **options):
        try:
            manifest = verify_backup(backup)
        except BackupError as error:
            raise CommandError(str(error)) from None
        params = db_params()
        target = {**params, "dbname": database or params["dbname"]}
        live = target["dbname"] == params["dbname"]
        if live and not yes:
            raise CommandError(f"restoring over the configured database {params['dbname']!r} replaces its data: "
                               "stop web, worker and beat, then repeat with --yes")
        if not live:
            import psycopg

            try:
                create_database(params, target["dbname"])
            except psycopg.errors.DuplicateDatabase:
                pass
        try:
            restore_database(backup, target, clean=live)
            files = 0 if no_media else restore_media(backup, media_root or settings.MEDIA_ROOT)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(
            f"restored {manifest['name']} into database {target['dbname']}, {files} media file(s)"))
