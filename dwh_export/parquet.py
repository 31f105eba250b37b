"""The same events as Parquet files for bulk loads into the warehouse: operations.parquet
(one row per entry) and postings.parquet (one row per posting, amounts decimal(18,2)), from
the same SQL as the JSON Lines batches, so both formats carry identical data."""

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .batches import event_lines

MONEY = pa.decimal128(18, 2)
OPERATIONS = pa.schema([
    ("institution_bin", pa.string()), ("seq", pa.int64()), ("entry_id", pa.int64()), ("date", pa.date32()),
    ("period", pa.string()), ("kind", pa.string()), ("doc_type", pa.string()), ("doc_number", pa.string()),
    ("description", pa.string()), ("reverses", pa.int64()), ("corrects", pa.int64()), ("chain_hash", pa.string()),
])
POSTINGS = pa.schema([
    ("institution_bin", pa.string()), ("entry_id", pa.int64()), ("line", pa.int32()), ("period", pa.string()),
    ("account", pa.string()), ("side", pa.string()), ("amount", MONEY), ("administrator", pa.string()),
    ("programme", pa.string()), ("subprogramme", pa.string()), ("specific", pa.string()),
    ("funding_source", pa.string()), ("counterparty_bin", pa.string()),
])


def write(*, institution, first_seq: int, last_seq: int, directory: Path) -> dict[str, Path]:
    import datetime as dt

    ops, postings = {n: [] for n in OPERATIONS.names}, {n: [] for n in POSTINGS.names}
    for text in event_lines(institution.pk, first_seq, last_seq):
        doc = json.loads(text)
        if doc["type"] != "entry":
            continue
        e = doc["entry"]
        for name, value in (("institution_bin", institution.bin), ("seq", doc["seq"]), ("entry_id", e["id"]),
                            ("date", dt.date.fromisoformat(e["date"])), ("period", e["period"]), ("kind", e["kind"]),
                            ("doc_type", e["doc_type"]), ("doc_number", e["doc_number"]),
                            ("description", e["description"]), ("reverses", e.get("reverses")),
                            ("corrects", e.get("corrects")), ("chain_hash", e.get("chain_hash"))):
            ops[name].append(value)
        for p in doc["postings"]:
            for name in POSTINGS.names:
                value = {"institution_bin": institution.bin, "entry_id": e["id"], "period": e["period"]}.get(
                    name, p.get(name))
                postings[name].append(Decimal(value) if name == "amount" else value)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"operations": directory / "operations.parquet", "postings": directory / "postings.parquet"}
    pq.write_table(pa.table(ops, schema=OPERATIONS), paths["operations"])
    pq.write_table(pa.table(postings, schema=POSTINGS), paths["postings"])
    return paths
