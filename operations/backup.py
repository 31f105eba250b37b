"""Backups (R14): database, media files and settings, checksummed, rotated, restorable, drilled.

Invariants:
- a backup directory is complete or absent: it is written as `<name>.partial` and renamed only
  after every file and its SHA-256 are on disk (manifest.json, SHA256SUMS last);
- the database dump and the fingerprint stored in the manifest come from ONE snapshot
  (pg_export_snapshot + pg_dump --snapshot), so a drill can demand exact equality;
- nothing is restored from a backup whose checksums do not match;
- no secret is written: settings are recorded with passwords and keys redacted;
- rotation keeps the newest ESEP_BACKUP_KEEP complete backups and never deletes the one just made.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection

DUMP = "database.dump"
MEDIA = "media.tar.gz"
SETTINGS = "settings.json"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PREFIX = "esep-"
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")


class BackupError(Exception):
    pass


def pg_bin(name: str) -> str:
    return str(Path(settings.ESEP_PG_BINDIR) / name)


def db_params(database: str | None = None) -> dict:
    db = connection.settings_dict
    return {"host": db.get("HOST") or "127.0.0.1", "port": str(db.get("PORT") or 5432),
            "user": db.get("USER") or "", "password": db.get("PASSWORD") or "",
            "dbname": database or db["NAME"]}


def db_url(params: dict) -> str:
    auth = quote(params["user"])
    if params["password"]:
        auth += ":" + quote(params["password"])
    return f"postgres://{auth}@{params['host']}:{params['port']}/{params['dbname']}"


def _pg_env(params: dict) -> dict:
    env = dict(os.environ)
    if params["password"]:
        env["PGPASSWORD"] = params["password"]  # never on the command line, where ps shows it
    return env


def _conn_args(params: dict) -> list[str]:
    return ["-h", params["host"], "-p", params["port"], "-U", params["user"]]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# The figures a restored database must reproduce exactly: every institution's entry chain head,
# the action journal's chain head, and the trial balance (turnovers per account and year).
FINGERPRINT_SQL = {
    "entry_chains": """
        SELECT institution_id, max(seq), (array_agg(hash ORDER BY seq DESC))[1], count(*)
          FROM ledger_entryseal GROUP BY institution_id ORDER BY institution_id""",
    "journal_chain": "SELECT seq, hash FROM access_chainhead WHERE chain = 'journal'",
    "trial_balances": """
        SELECT p.institution_id, a.code, extract(year FROM p.date)::int,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0)::text,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0)::text, count(*)
          FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "row_counts": """
        SELECT 'entries', count(*) FROM ledger_journalentry
        UNION ALL SELECT 'postings', count(*) FROM ledger_posting
        UNION ALL SELECT 'journal', count(*) FROM access_actionlog
        UNION ALL SELECT 'users', count(*) FROM access_user
        UNION ALL SELECT 'institutions', count(*) FROM access_institution""",
}


def fingerprint(cursor) -> dict:
    result = {}
    for name, sql in FINGERPRINT_SQL.items():
        cursor.execute(sql)
        result[name] = [[str(v) for v in row] for row in cursor.fetchall()]
    return result


def fingerprint_of(params: dict) -> dict:
    with psycopg.connect(db_url(params)) as conn, conn.cursor() as cursor:
        return fingerprint(cursor)


def settings_record() -> dict:
    """The deployment's settings as they matter for a restore, secrets redacted."""
    env = {k: ("<redacted>" if any(w in k.upper() for w in SECRET_WORDS) else v)
           for k, v in sorted(os.environ.items()) if k.startswith(("ESEP_", "AXES_"))}
    if "DATABASE_URL" in os.environ:
        env["DATABASE_URL"] = "<redacted>"
    return {
        "environment": env,
        "installed_apps": list(settings.INSTALLED_APPS),
        "language": settings.LANGUAGE_CODE, "time_zone": settings.TIME_ZONE,
        "training_gate": settings.ESEP_TRAINING_GATE, "session_seconds": settings.SESSION_COOKIE_AGE,
        "python": sys.version.split()[0],
    }


def _migrations(cursor) -> list[list[str]]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    return [list(r) for r in cursor.fetchall()]


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    removed: list[Path] = field(default_factory=list)


def create_backup(directory: Path | None = None, *, keep: int | None = None, now=None) -> BackupResult:
    directory = Path(directory or settings.ESEP_BACKUP_DIR)
    keep = settings.ESEP_BACKUP_KEEP if keep is None else keep
    directory.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    name = f"{PREFIX}{now:%Y%m%dT%H%M%S%fZ}"
    partial = directory / f"{name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    params = db_params()
    try:
        # One snapshot for the dump and the fingerprint: the connection holding it stays open
        # (REPEATABLE READ) until pg_dump has attached to it.
        with psycopg.connect(db_url(params)) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone()
                prints = fingerprint(cursor)
                migrations = _migrations(cursor)
                subprocess.run(
                    [pg_bin("pg_dump"), *_conn_args(params), "--format=custom", "--compress=6",
                     f"--snapshot={snapshot}", "--no-owner", "-f", str(partial / DUMP), params["dbname"]],
                    check=True, env=_pg_env(params), capture_output=True, text=True,
                )
            conn.rollback()
        media_root = Path(settings.MEDIA_ROOT)
        with tarfile.open(partial / MEDIA, "w:gz") as tar:
            if media_root.exists():
                tar.add(media_root, arcname="media")
        (partial / SETTINGS).write_text(json.dumps(settings_record(), ensure_ascii=False, indent=1))
        files = {f: {"sha256": sha256_of(partial / f), "bytes": (partial / f).stat().st_size}
                 for f in (DUMP, MEDIA, SETTINGS)}
        manifest = {
            "format": 1, "name": name, "created_at": now.isoformat(), "database": params["dbname"],
            "server_version": server_version, "files": files, "fingerprint": prints,
            "migrations": migrations,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        (partial / SUMS).write_text("".join(f"{sha256_of(partial / f)}  {f}\n" for f in (*files, MANIFEST)))
        final = directory / name
        partial.rename(final)
    except subprocess.CalledProcessError as failed:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError(f"pg_dump failed: {failed.stderr.strip()}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupResult(final, manifest, rotate(directory, keep, protect=final))


def list_backups(directory: Path | None = None) -> list[Path]:
    """Complete backups, oldest first (the name sorts by time)."""
    directory = Path(directory or settings.ESEP_BACKUP_DIR)
    if not directory.exists():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.is_dir() and p.name.startswith(PREFIX) and not p.name.endswith(".partial")
                  and (p / MANIFEST).exists())


def rotate(directory: Path, keep: int, *, protect: Path | None = None) -> list[Path]:
    keep = max(keep, 1)
    removed = []
    backups = list_backups(directory)
    for old in backups[:-keep]:
        if old != protect:
            shutil.rmtree(old)
            removed.append(old)
    return removed


def verify_backup(path: Path) -> dict:
    """Check every file against SHA256SUMS and the manifest; return the manifest."""
    path = Path(path)
    if not (path / MANIFEST).exists() or not (path / SUMS).exists():
        raise BackupError(f"{path}: not a complete backup (manifest or SHA256SUMS missing)")
    for line in (path / SUMS).read_text().splitlines():
        expected, _sep, name = line.partition("  ")
        target = path / name
        if not target.exists():
            raise BackupError(f"{path}: {name} is missing")
        if sha256_of(target) != expected:
            raise BackupError(f"{path}: {name} does not match its SHA-256 (damaged or altered)")
    manifest = json.loads((path / MANIFEST).read_text())
    for name, info in manifest["files"].items():
        if sha256_of(path / name) != info["sha256"]:
            raise BackupError(f"{path}: {name} does not match the manifest")
    return manifest


def create_database(params: dict, name: str) -> None:
    with psycopg.connect(db_url({**params, "dbname": "postgres"}), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(params: dict, name: str) -> None:
    with psycopg.connect(db_url({**params, "dbname": "postgres"}), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore_database(path: Path, target: dict, *, clean: bool = False) -> None:
    args = [pg_bin("pg_restore"), *_conn_args(target), "--no-owner", "--exit-on-error", "-d", target["dbname"]]
    if clean:
        args[1:1] = ["--clean", "--if-exists", "--single-transaction"]
    result = subprocess.run([*args, str(Path(path) / DUMP)], env=_pg_env(target), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[-2000:]}")


def restore_media(path: Path, media_root: Path) -> int:
    """Unpack the media archive into media_root; returns the number of files."""
    media_root = Path(media_root)
    count = 0
    with tarfile.open(Path(path) / MEDIA, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name == "media" or m.name.startswith("media/")]
        for member in members:
            member.name = member.name[len("media"):].lstrip("/") or "."
            count += member.isfile()
        media_root.mkdir(parents=True, exist_ok=True)
        tar.extractall(media_root, members=members, filter="data")
    return count


@dataclass
class DrillResult:
    backup: Path
    database: str
    differences: list[str]
    verify_output: str
    ok: bool


def compare_fingerprints(expected: dict, found: dict) -> list[str]:
    differences = []
    for name in FINGERPRINT_SQL:
        want = {tuple(r) for r in expected.get(name, [])}
        got = {tuple(r) for r in found.get(name, [])}
        for row in sorted(want - got)[:20]:
            differences.append(f"{name}: backup has {list(row)}, restored database does not")
        for row in sorted(got - want)[:20]:
            differences.append(f"{name}: restored database has {list(row)}, backup does not")
    return differences


def restore_drill(path: Path | None = None, *, keep_database: bool = False) -> DrillResult:
    """Restore a backup into a scratch database and prove it: its fingerprint equals the one
    taken from the source in the dump's snapshot, and `verify_ledger` (an independent recompute of
    every seal, the journal chain and the turnovers) finds no breach in it."""
    backups = [Path(path)] if path else list_backups()
    if not backups:
        raise BackupError("no backup to drill: run manage.py backup first")
    backup = backups[-1]
    manifest = verify_backup(backup)
    params = db_params()
    scratch = f"esep_drill_{os.getpid()}_{dt.datetime.now(dt.UTC):%H%M%S}"
    drop_database(params, scratch)
    create_database(params, scratch)
    target = {**params, "dbname": scratch}
    try:
        restore_database(backup, target)
        differences = compare_fingerprints(manifest["fingerprint"], fingerprint_of(target))
        env = {**os.environ, "DATABASE_URL": db_url(target)}
        check = subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "verify_ledger"],
                               env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
        output = (check.stdout + check.stderr).strip()
        if check.returncode != 0:
            differences.append(f"verify_ledger on the restored database: {output[-2000:]}")
        with tarfile.open(backup / MEDIA, "r:gz") as tar:
            tar.getmembers()  # reads the whole archive: a truncated one raises here
    finally:
        if not keep_database:
            drop_database(params, scratch)
    result = DrillResult(backup, scratch, differences, output, not differences)
    (backup / "drill.json").write_text(json.dumps({
        "at": dt.datetime.now(dt.UTC).isoformat(), "ok": result.ok, "differences": differences,
        "verify_ledger": output[-2000:],
    }, ensure_ascii=False, indent=1))
    return result
