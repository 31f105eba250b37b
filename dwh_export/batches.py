"""The exchange format: one batch = gzip of JSON Lines. Line 1 is the header
(docs/exchange/dwh-batch-header.schema.json), every further line one event
(docs/exchange/dwh-event.schema.json), in seq order without gaps."""

import datetime as dt
import gzip
import hashlib
import json
import uuid

from django.db import connection

from . import sql

SCHEMA = "esep.dwh.batch"
SCHEMA_VERSION = "1.0"
# gzip level 1: the batch is mostly repeated keys; level 6 halves the size again but costs
# four times the CPU on the sender, which shares two cores with the ledger.
GZIP_LEVEL = 1


def event_lines(institution_id: int, first_seq: int, last_seq: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql.BATCH_LINES, {"institution": institution_id, "first": first_seq, "last": last_seq})
        rows = cursor.fetchall()
    seqs = [r[0] for r in rows]
    if seqs != list(range(first_seq, last_seq + 1)):
        # the outbox guarantees this; a hole here means the events were tampered with
        raise RuntimeError(f"outbox of institution {institution_id} has no contiguous events {first_seq}..{last_seq}")
    return [r[1] for r in rows]


def header(*, batch_id: uuid.UUID, institution_bin: str, first_seq: int, last_seq: int, content_hash: str,
           key_id: str, algorithm: str) -> dict:
    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "batch_id": str(batch_id),
        "institution_bin": institution_bin, "first_seq": first_seq, "last_seq": last_seq,
        "count": last_seq - first_seq + 1, "content_hash": content_hash,
        "created_at": dt.datetime.now(dt.UTC).isoformat(), "sender": "esep", "key_id": key_id,
        "signature_algorithm": algorithm,
    }


def build(*, institution_id: int, institution_bin: str, first_seq: int, last_seq: int, signer,
          batch_id: uuid.UUID | None = None) -> dict:
    """Body (gzip bytes), header, content hash and signature of one batch."""
    batch_id = batch_id or uuid.uuid4()
    content = ("\n".join(event_lines(institution_id, first_seq, last_seq)) + "\n").encode("utf-8")
    content_hash = hashlib.sha256(content).hexdigest()
    head = header(batch_id=batch_id, institution_bin=institution_bin, first_seq=first_seq, last_seq=last_seq,
                  content_hash=content_hash, key_id=signer.key_id, algorithm=signer.algorithm)
    head_line = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    signature = signer.sign(head_line)
    body = gzip.compress(head_line + b"\n" + content, compresslevel=GZIP_LEVEL)
    return {"id": batch_id, "body": body, "header": head, "content_hash": content_hash, "signature": signature}


def parse(body: bytes) -> tuple[bytes, bytes]:
    """(header line, content) of a gzip batch body."""
    raw = gzip.decompress(body)
    head_line, _nl, content = raw.partition(b"\n")
    return head_line, content
