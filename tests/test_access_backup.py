"""Backups (R14) against the real PostgreSQL and the real pg_dump/pg_restore: a backup is complete
and checksummed, rotation keeps the newest, a damaged backup is refused, a restore drill into a
scratch database reproduces the source's hash chains and trial balances, and notices when it
does not. Transactional tests: pg_dump reads committed data only."""

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from access.models import ActionLog
from ledger.services import post_entry
from operations import backup as ops

from .factories import pair

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger_world(world, tmp_path):
    for day, amount in ((5, "1500.25"), (6, "20.00"), (9, "7.10")):
        post_entry(institution=world.a, actor=world.chief_a, draft=pair(dt.date(2026, 3, day), amount))
    post_entry(institution=world.b, actor=world.accountant_b, draft=pair(dt.date(2026, 4, 1), "99.99"))
    media = tmp_path / "media"
    (media / "scans").mkdir(parents=True)
    (media / "scans" / "act-1.pdf").write_bytes(b"%PDF-1.4 scanned act")
    with override_settings(MEDIA_ROOT=media, ESEP_BACKUP_DIR=tmp_path / "backups"):
        yield world


def test_backup_is_complete_checksummed_and_secret_free(ledger_world, tmp_path):
    result = ops.create_backup()
    names = {p.name for p in result.path.iterdir()}
    assert names == {"database.dump", "media.tar.gz", "settings.json", "manifest.json", "SHA256SUMS"}
    manifest = ops.verify_backup(result.path)
    prints = manifest["fingerprint"]
    assert len(prints["entry_chains"]) == 2  # both institutions' chains
    assert ["postings", "8"] in prints["row_counts"]
    settings_text = (result.path / "settings.json").read_text()
    assert "dev-only-not-secret" not in settings_text and "SECRET_KEY" not in settings_text
    assert result.path.parent == tmp_path / "backups" and not list(result.path.parent.glob("*.partial"))


def test_rotation_keeps_the_newest(ledger_world, tmp_path):
    made = [ops.create_backup(keep=2, now=dt.datetime(2026, 11, day, tzinfo=dt.UTC)).path for day in (1, 2, 3)]
    assert ops.list_backups() == made[1:]


def test_damaged_backup_is_refused(ledger_world):
    path = ops.create_backup().path
    with open(path / "database.dump", "r+b") as dump:
        dump.seek(200)
        byte = dump.read(1)
        dump.seek(200)
        dump.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ops.BackupError, match="database.dump"):
        ops.verify_backup(path)
    with pytest.raises(ops.BackupError):
        ops.restore_drill(path)


def test_restore_drill_equals_the_source_and_journals(ledger_world, capsys):
    call_command("backup")
    out = capsys.readouterr().out
    assert "backup:" in out
    call_command("restore_drill")
    assert "verify_ledger clean" in capsys.readouterr().out
    drill = json.loads((ops.list_backups()[-1] / "drill.json").read_text())
    assert drill["ok"] and drill["differences"] == []
    assert ActionLog.objects.filter(object_type="restore_drill", outcome="success").exists()
    assert ActionLog.objects.filter(object_type="backup", outcome="success").exists()
    # the scratch database is gone
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'esep_drill_%%'")
        assert cursor.fetchone()[0] == 0


def test_restore_drill_notices_a_difference(ledger_world):
    path = ops.create_backup().path
    manifest = json.loads((path / "manifest.json").read_text())
    # pretend the source had another amount on account 7060 in 2026: the restored data disagree
    row = next(r for r in manifest["fingerprint"]["trial_balances"] if r[1] == "7060")
    row[3] = "1527.36"
    (path / "manifest.json").write_text(json.dumps(manifest))
    sums = (path / "SHA256SUMS").read_text().splitlines()
    sums = [f"{ops.sha256_of(path / 'manifest.json')}  manifest.json" if s.endswith("manifest.json") else s
            for s in sums]
    (path / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    result = ops.restore_drill(path)
    assert not result.ok
    assert any("trial_balances" in d and "1527.36" in d for d in result.differences)


def test_restore_into_another_database_with_media(ledger_world, tmp_path):
    path = ops.create_backup().path
    target_db = f"{connection.settings_dict['NAME']}_restored"
    media = tmp_path / "restored-media"
    try:
        call_command("restore", str(path), database=target_db, media_root=media)
        params = ops.db_params()
        assert ops.fingerprint_of({**params, "dbname": target_db}) == ops.fingerprint_of(params)
        assert (media / "scans" / "act-1.pdf").read_bytes() == b"%PDF-1.4 scanned act"
    finally:
        ops.drop_database(ops.db_params(), target_db)


def test_restore_over_the_live_database_needs_confirmation(ledger_world):
    from django.core.management.base import CommandError

    path = ops.create_backup().path
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(path))


def test_backup_is_scheduled_by_beat():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"operations.tasks.backup_task", "operations.tasks.restore_drill_task"} <= tasks


def test_pg_tools_exist():
    assert Path(ops.pg_bin("pg_dump")).exists() and Path(ops.pg_bin("pg_restore")).exists()
    assert psycopg  # the drill talks to the scratch database directly
