"""Deployment configuration of the export, read from the environment (one deployment, one
endpoint, one key). Read on every call, so tests and the benchmark can point a worker at
their own receiver without reloading settings."""

import os
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    endpoint: str            # receiver base URL, e.g. https://dwh.example.kz/esep; blank: export off
    key_path: Path           # Ed25519 private key (PEM, PKCS#8); created on first use when absent
    key_id: str              # names the key to the receiver (key rotation)
    interval: float          # seconds between beat runs of `deliver`
    batch_events: int        # events per batch at most
    max_attempts: int        # failures before a batch is dead-lettered
    backoff_base: float      # first retry delay, seconds; doubled per failure
    backoff_cap: float       # longest retry delay, seconds
    timeout: float           # HTTP timeout, seconds
    run_seconds: float       # one `deliver` run stops starting batches after this long
    verify_tls: bool | str   # requests' `verify`: True, False or a CA bundle path


def config() -> Config:
    env = os.environ.get
    verify = env("DWH_EXPORT_VERIFY_TLS", "true")
    return Config(
        endpoint=env("DWH_EXPORT_URL", "").rstrip("/"),
        key_path=Path(env("DWH_EXPORT_KEY_PATH", str(BASE_DIR / "var" / "dwh_export" / "ed25519.pem"))),
        key_id=env("DWH_EXPORT_KEY_ID", "esep-1"),
        interval=float(env("DWH_EXPORT_INTERVAL", "60")),  # float ok: seconds
        batch_events=int(env("DWH_EXPORT_BATCH_EVENTS", "5000")),
        max_attempts=int(env("DWH_EXPORT_MAX_ATTEMPTS", "8")),
        backoff_base=float(env("DWH_EXPORT_BACKOFF_BASE", "5")),  # float ok: seconds
        backoff_cap=float(env("DWH_EXPORT_BACKOFF_CAP", "3600")),  # float ok: seconds
        timeout=float(env("DWH_EXPORT_TIMEOUT", "60")),  # float ok: seconds
        run_seconds=float(env("DWH_EXPORT_RUN_SECONDS", "50")),
        verify_tls={"true": True, "false": False}.get(verify.lower(), verify),
    )
