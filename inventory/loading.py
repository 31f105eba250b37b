"""Default depreciation norms (dated data, R18) from inventory/data/depreciation_norms.csv.

Loaded by migration 0003 and by the demo; a row already present (same account and start
date) is left as an administrator may have edited it."""

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

NORMS_FILE = Path(__file__).resolve().parent / "data" / "depreciation_norms.csv"
COLUMNS = ("account", "accumulated_account", "annual_rate_percent", "valid_from", "valid_to", "source", "status")


def read_norms(path: Path = NORMS_FILE) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: header must be {','.join(COLUMNS)}")
        return [{
            "account": row["account"], "accumulated_account": row["accumulated_account"],
            "annual_rate_percent": Decimal(row["annual_rate_percent"]),
            "valid_from": dt.date.fromisoformat(row["valid_from"]),
            "valid_to": dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            "source": row["source"], "status": row["status"] or "unverified",
        } for row in reader]


def load_norms(model=None, path: Path = NORMS_FILE) -> int:
    if model is None:
        from .models import DepreciationNorm as model
    created = 0
    for row in read_norms(path):
        _obj, made = model.objects.get_or_create(account=row["account"], valid_from=row["valid_from"], defaults=row)
        created += made
    return created
