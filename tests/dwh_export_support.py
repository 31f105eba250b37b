"""Fixtures of the export tests: a signing key, the reference receiver and a Celery worker,
each a real subprocess (the receiver over HTTP with its own PostgreSQL database; the worker on
Redis, against this test process's database)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from dwh_export.signing import Ed25519Signer

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("DATABASE_URL", "postgres://esep@127.0.0.1:54329/esep")
SERVER = ADMIN_URL.rpartition("/")[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ReceiverProcess:
    """`python -m dwh_export.receiver` on a free port with its own database."""

    def __init__(self, database: str, public_key: Path, log_dir: Path):
        self.database = database
        self.url_db = f"{SERVER}/{database}"
        self.public_key = public_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None

    def start(self, *extra: str) -> "ReceiverProcess":
        log = open(self.log_dir / f"receiver-{self.port}.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "dwh_export.receiver", "--port", str(self.port), "--database-url", self.url_db,
             "--public-key", f"esep-test={self.public_key}", *extra],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._healthy, what="receiver start")
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"receiver exited with {self.proc.returncode}")
        try:
            return requests.get(f"{self.url}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, *extra: str) -> "ReceiverProcess":
        self.stop()
        return self.start(*extra)

    def query(self, sql: str, params=()):
        with psycopg.connect(self.url_db) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params=()) -> None:
        with psycopg.connect(self.url_db) as conn:
            conn.execute(sql, params)

    def reset(self) -> None:
        with psycopg.connect(self.url_db) as conn:
            conn.execute("TRUNCATE dwh_stream, dwh_batch, dwh_operation, dwh_posting, dwh_period_event, "
                         "dwh_statement")


class WorkerProcess:
    """A Celery worker (solo pool: the task runs in the process a test kills) on its own queue,
    so no other worker on the shared Redis takes these tasks."""

    def __init__(self, env: dict, log_dir: Path):
        self.queue = f"dwh-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        log = open(self.log_dir / f"worker-{self.queue}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "esep", "worker", "--pool", "solo", "-Q", self.queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
             "-n", f"{self.queue}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        from esep.celery import app

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}")
            replies = app.control.ping(destination=[f"{self.queue}@{socket.gethostname()}"], timeout=0.5)
            return bool(replies)

        wait_for(ready, timeout=60, interval=0.5, what="celery worker start")
        return self

    def deliver(self, timeout: float = 120):
        from dwh_export.tasks import deliver

        return deliver.apply_async(queue=self.queue).get(timeout=timeout)

    def deliver_async(self):
        from dwh_export.tasks import deliver

        return deliver.apply_async(queue=self.queue)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def dwh_key(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dwh-key")
    private = directory / "ed25519.pem"
    signer = Ed25519Signer.from_file(private, "esep-test")
    public = directory / "public.pem"
    public.write_bytes(signer.public_pem())
    other = Ed25519Signer.from_file(directory / "other.pem", "esep-test")  # a key the receiver does not know
    return {"private": private, "public": public, "signer": signer, "other": other,
            "other_private": directory / "other.pem"}


@pytest.fixture(scope="session")
def receiver_db():
    name = f"esep_dwh_test_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def receiver(receiver_db, dwh_key, tmp_path):
    process = ReceiverProcess(receiver_db, dwh_key["public"], tmp_path).start()
    process.reset()
    yield process
    process.stop()


@pytest.fixture
def export_env(receiver, dwh_key, monkeypatch):
    """DWH_EXPORT_* of this process (conf.py reads them per call) pointing at the receiver."""
    values = {
        "DWH_EXPORT_URL": receiver.url, "DWH_EXPORT_KEY_PATH": str(dwh_key["private"]),
        "DWH_EXPORT_KEY_ID": "esep-test", "DWH_EXPORT_BACKOFF_BASE": "0", "DWH_EXPORT_BACKOFF_CAP": "0",
        "DWH_EXPORT_MAX_ATTEMPTS": "4", "DWH_EXPORT_TIMEOUT": "20", "DWH_EXPORT_BATCH_EVENTS": "4",
        "DWH_EXPORT_RUN_SECONDS": "30",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def worker(export_env, tmp_path, transactional_db):
    """A real Celery worker against this test's database (transactional tests only: the
    worker must see committed rows)."""
    env = {**os.environ, **export_env,
           "DATABASE_URL": f"{SERVER}/{connection.settings_dict['NAME']}"}
    process = WorkerProcess(env, tmp_path).start()
    yield process
    process.stop()


def receiver_state(receiver: ReceiverProcess, bin_: str) -> dict:
    ops = receiver.query("SELECT entry_id FROM dwh_operation WHERE institution_bin = %s ORDER BY entry_id", [bin_])
    postings = receiver.query("SELECT entry_id, line, account, side, amount FROM dwh_posting "
                              "WHERE institution_bin = %s ORDER BY entry_id, line", [bin_])
    return {"entries": [r[0] for r in ops], "postings": [tuple(r) for r in postings]}


def ledger_export_state(institution) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_journalentry WHERE institution_id = %s ORDER BY id", [institution.pk])
        entries = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT p.entry_id, p.line_no, a.code, p.side, p.amount FROM ledger_posting p "
                       "JOIN ledger_account a ON a.id = p.account_id WHERE p.institution_id = %s "
                       "ORDER BY 1, 2", [institution.pk])
        postings = [tuple(r) for r in cursor.fetchall()]
    return {"entries": entries, "postings": postings}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
