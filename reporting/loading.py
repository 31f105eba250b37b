"""Default statement forms, line maps and memorial-order numbering, from reporting/data/*.csv.

Idempotent: a row is keyed by its natural key and valid_from; existing rows are left as an
administrator may have edited them (the files are the defaults, the database is the truth).
"""

import csv
import datetime as dt
from pathlib import Path

from django.db import transaction

from .models import FormLine, LineMap, MemorialOrderType

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str, path: Path | None = None):
    with open((path or DATA) / name, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _dated(row: dict) -> dict:
    return {
        "valid_from": dt.date.fromisoformat(row["valid_from"]),
        "valid_to": dt.date.fromisoformat(row["valid_to"]) if row.get("valid_to") else None,
        "source": row.get("source", "")[:200],
        "status": row.get("status") or "unverified",
    }


@transaction.atomic
def load_reporting_reference(path: Path | None = None) -> dict[str, int]:
    """Load what is missing; returns how many rows of each kind were created."""
    created = {"form_lines": 0, "line_maps": 0, "memorial_orders": 0}
    for row in _rows("form_lines.csv", path):
        dated = _dated(row)
        _obj, new = FormLine.objects.get_or_create(
            form=row["form"], code=row["code"], valid_from=dated["valid_from"],
            defaults={"order": int(row["order"]), "name_ru": row["name_ru"], "name_kk": row["name_kk"],
                      "formula": row["formula"], "is_heading": row["is_heading"] == "1", **dated},
        )
        created["form_lines"] += new
    for row in _rows("line_maps.csv", path):
        dated = _dated(row)
        _obj, new = LineMap.objects.get_or_create(
            form=row["form"], account=row["account"], side=row["side"], specific=row["specific"],
            scope=row["scope"] or "all", valid_from=dated["valid_from"], defaults={"line": row["line"], **dated},
        )
        created["line_maps"] += new
    for row in _rows("memorial_orders.csv", path):
        dated = _dated(row)
        _obj, new = MemorialOrderType.objects.get_or_create(
            number=int(row["number"]), valid_from=dated["valid_from"],
            defaults={"name_ru": row["name_ru"], "name_kk": row["name_kk"],
                      "credit_accounts": row["credit_accounts"], **dated},
        )
        created["memorial_orders"] += new
    return created
