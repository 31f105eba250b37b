"""Deployment configuration of the export: beat schedule, backoff, key handling."""

import importlib
import os
import stat

import pytest
from django.conf import settings

from dwh_export import services
from dwh_export.conf import config
from dwh_export.signing import Ed25519Signer, Ed25519Verifier


def test_beat_schedule_declares_deliver_and_daily_reconcile(monkeypatch):
    assert settings.CELERY_BEAT_SCHEDULE["dwh-export-deliver"]["task"] == "dwh_export.tasks.deliver"
    assert settings.CELERY_BEAT_SCHEDULE["dwh-export-reconcile"]["schedule"] == 24 * 3600
    monkeypatch.setenv("DWH_EXPORT_INTERVAL", "15")
    import dwh_export.schedule as schedule

    assert importlib.reload(schedule).BEAT_SCHEDULE["dwh-export-deliver"]["schedule"] == 15.0
    monkeypatch.delenv("DWH_EXPORT_INTERVAL")
    assert importlib.reload(schedule).BEAT_SCHEDULE["dwh-export-deliver"]["schedule"] == 60.0


def test_backoff_is_exponential_capped_and_jittered(monkeypatch):
    monkeypatch.setenv("DWH_EXPORT_BACKOFF_BASE", "10")
    monkeypatch.setenv("DWH_EXPORT_BACKOFF_CAP", "300")
    cfg = config()
    for attempts, full in ((1, 10), (2, 20), (3, 40), (5, 160), (6, 300), (20, 300)):
        delays = [services.backoff_delay(attempts, cfg) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays), attempts
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not one fixed value


def test_key_is_created_private_and_verifies(tmp_path):
    path = tmp_path / "keys" / "ed25519.pem"
    signer = Ed25519Signer.from_file(path, "k1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Ed25519Signer.from_file(path, "k1")  # the same key is read back, not regenerated
    assert again.public_pem() == signer.public_pem()
    (tmp_path / "pub.pem").write_bytes(signer.public_pem())
    verifier = Ed25519Verifier.from_files([f"k1={tmp_path / 'pub.pem'}"])
    assert verifier.verify("k1", b"header", signer.sign(b"header"))
    assert not verifier.verify("k2", b"header", signer.sign(b"header"))
    assert not verifier.verify("k1", b"header!", signer.sign(b"header"))
    with pytest.raises(FileNotFoundError):
        Ed25519Signer.from_file(tmp_path / "absent.pem", "k", create=False)


def test_deliver_without_endpoint_keeps_events_in_outbox(db, monkeypatch):
    monkeypatch.delenv("DWH_EXPORT_URL", raising=False)
    assert services.deliver_all() == {"skipped": "DWH_EXPORT_URL is not set"}
    assert services.reconcile_all() == {"skipped": "DWH_EXPORT_URL is not set"}
