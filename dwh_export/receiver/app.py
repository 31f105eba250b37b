"""The receiver's WSGI application.

POST /v1/batches                 a signed gzip JSON Lines batch → 200 receipt | 409 gap/conflict | 422 refused
GET  /v1/streams/<bin>           {"institution_bin", "next_seq"}
GET  /v1/control-totals?institution_bin=…[&period=YYYY-MM][&account=NNNN]
                                 {"institution_bin", "next_seq", "operations", "totals": [{period, account,
                                  debit, credit, entries}]}

Guarantees:
- a batch is stored whole or not at all (one transaction); a receiver killed mid-batch holds
  nothing of it and the sender's retry starts over
- batch ids are idempotent: the same id again answers the stored receipt (status
  "duplicate"); the same id with other content is refused (409 batch_conflict)
- per institution, a batch must start at the receiver's next_seq; otherwise 409 sequence_gap
  names expected_seq, and the sender resends from there
- the signature (over the header line) and the content hash (over the event lines) are
  checked before anything is parsed; the header against its JSON Schema, every event against
  the event schema's rules (db.LINE_FAULT), every entry balanced
"""

import datetime as dt
import hashlib
import json
import logging
import time
import zlib
from pathlib import Path
from urllib.parse import parse_qs

import jsonschema
import psycopg

from ..signing import unb64
from . import db

log = logging.getLogger("dwh_export.receiver")
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "exchange"


class Refused(Exception):
    def __init__(self, status: int, error: str, message: str, **extra):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra

    def answer(self) -> dict:
        return {"error": self.error, "message": self.message, **self.extra}


class Receiver:
    def __init__(self, database_url: str, verifier, *, max_body: int = 1 << 30, max_raw: int = 4 << 30,
                 schema_dir: Path = SCHEMA_DIR,
                 stall_before_commit: float = 0.0, stall_after_commit: float = 0.0):
        self.database_url = database_url
        self.verifier = verifier
        self.max_body = max_body
        self.max_raw = max_raw
        self.header_schema = jsonschema.Draft202012Validator(
            json.loads((schema_dir / "dwh-batch-header.schema.json").read_text(encoding="utf-8")))
        # test hooks: hold the transaction open (or the answer back) so a test can kill us there
        self.stall_before_commit = stall_before_commit
        self.stall_after_commit = stall_after_commit
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(db.SCHEMA)

    # ------------------------------------------------------------ WSGI
    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if method == "POST" and path == "/v1/batches":
                status, answer = 200, self.receive(environ)
            elif method == "GET" and path.startswith("/v1/streams/"):
                status, answer = 200, self.stream(path.rsplit("/", 1)[1])
            elif method == "GET" and path == "/v1/control-totals":
                status, answer = 200, self.totals(parse_qs(environ.get("QUERY_STRING", "")))
            elif method == "GET" and path == "/health":
                status, answer = 200, {"status": "ok"}
            else:
                raise Refused(404, "not_found", f"{method} {path}: no such endpoint")
        except Refused as refused:
            status, answer = refused.status, refused.answer()
        except Exception as exc:  # the sender retries a 500; the log keeps the cause
            log.exception("receiver failure")
            status, answer = 500, {"error": "internal", "message": f"{type(exc).__name__}: {exc}"}
        body = json.dumps(answer, ensure_ascii=False, default=str).encode("utf-8")
        reason = {200: "OK", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
                  422: "Unprocessable Entity", 500: "Internal Server Error"}.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", "application/json; charset=utf-8"),
                                              ("Content-Length", str(len(body)))])
        return [body]

    # ------------------------------------------------------------ batches
    def _read(self, environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length <= 0:
            raise Refused(422, "empty_body", "the batch body is empty")
        if length > self.max_body:
            raise Refused(413, "too_large", f"batch of {length} bytes exceeds {self.max_body}")
        stream, chunks, left = environ["wsgi.input"], [], length
        while left:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                raise Refused(422, "truncated", f"body ended {left} bytes early")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def receive(self, environ) -> dict:
        body = self._read(environ)
        try:
            # bounded: a small gzip body must not expand into unbounded memory
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = inflater.decompress(body, self.max_raw)
            if inflater.unconsumed_tail:
                raise Refused(413, "too_large", f"batch expands beyond {self.max_raw} bytes")
            if not inflater.eof:
                raise Refused(422, "not_gzip", "gzip stream is truncated")
        except zlib.error as exc:
            raise Refused(422, "not_gzip", f"body is not a gzip stream: {exc}") from None
        head_line, _nl, content = raw.partition(b"\n")
        key_id = environ.get("HTTP_X_ESEP_KEY_ID", "")
        try:
            signature = unb64(environ.get("HTTP_X_ESEP_SIGNATURE", ""))
        except ValueError:
            signature = b""
        if not signature or not self.verifier.verify(key_id, head_line, signature):
            raise Refused(422, "signature_invalid", f"signature does not verify with key {key_id!r}")
        try:
            head = json.loads(head_line)
        except ValueError:
            raise Refused(422, "schema", "header line is not JSON") from None
        errors = sorted(self.header_schema.iter_errors(head), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            raise Refused(422, "schema", f"header.{'.'.join(map(str, first.path)) or '(root)'}: {first.message}")
        if head["batch_id"] != environ.get("HTTP_X_ESEP_BATCH_ID", head["batch_id"]):
            raise Refused(422, "batch_id_mismatch", "X-Esep-Batch-Id differs from the header's batch_id")
        if head["key_id"] != key_id:
            raise Refused(422, "signature_invalid", "header key_id differs from X-Esep-Key-Id")
        if hashlib.sha256(content).hexdigest() != head["content_hash"]:
            raise Refused(422, "content_hash_mismatch", "SHA-256 of the event lines differs from content_hash")
        lines = content.count(b"\n")
        if head["last_seq"] - head["first_seq"] + 1 != head["count"] or lines != head["count"]:
            raise Refused(422, "count_mismatch",
                          f"header says {head['count']} events ({head['first_seq']}..{head['last_seq']}), "
                          f"body has {lines} lines")
        return self._store(head, content, environ.get("HTTP_X_ESEP_SIGNATURE", ""))

    def _store(self, head: dict, content: bytes, signature: str) -> dict:
        bin_, first, last = head["institution_bin"], head["first_seq"], head["last_seq"]
        with psycopg.connect(self.database_url) as conn:
            conn.execute("INSERT INTO dwh_stream (institution_bin) VALUES (%s) ON CONFLICT DO NOTHING", [bin_])
            conn.commit()
            # the stream row serialises batches of one institution; the batch lookup comes after
            # the lock so two concurrent sends of one batch see each other
            next_seq = conn.execute("SELECT next_seq FROM dwh_stream WHERE institution_bin = %s FOR UPDATE",
                                    [bin_]).fetchone()[0]
            known = conn.execute("SELECT content_hash, receipt FROM dwh_batch WHERE batch_id = %s",
                                 [head["batch_id"]]).fetchone()
            if known is not None:
                if known[0] != head["content_hash"]:
                    raise Refused(409, "batch_conflict", f"batch {head['batch_id']} was received with other content")
                return {**known[1], "status": "duplicate"}
            if first != next_seq:
                raise Refused(409, "sequence_gap",
                              f"institution {bin_}: batch starts at seq {first}, expected {next_seq}; "
                              f"resend from {next_seq}", expected_seq=next_seq)
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("CREATE TEMP TABLE stage (n bigserial, doc jsonb) ON COMMIT DROP")
                try:
                    with cur.copy("COPY stage (doc) FROM STDIN") as copy:
                        # COPY text format reads backslashes as escapes; JSON's own are doubled
                        copy.write(content.replace(b"\\", b"\\\\"))
                except psycopg.Error as exc:
                    raise Refused(422, "schema", f"an event line is not JSON: {exc.diag.message_primary}") from None
                parsed = time.perf_counter()
                fault = cur.execute(db.first_fault_query(), {"first": first}).fetchone()
                if fault is not None:
                    raise self._schema_fault(first, fault)
                checked = time.perf_counter()
                self._store_events(conn, cur, first, {"bin": bin_, "batch": head["batch_id"]})
                now = dt.datetime.now(dt.UTC)
                receipt = {
                    "batch_id": head["batch_id"], "status": "accepted", "institution_bin": bin_,
                    "first_seq": first, "last_seq": last, "count": head["count"],
                    "content_hash": head["content_hash"], "received_at": now.isoformat(), "next_seq": last + 1,
                }
                receipt["receipt_hash"] = hashlib.sha256(
                    json.dumps(receipt, sort_keys=True).encode("utf-8")).hexdigest()
                cur.execute("UPDATE dwh_stream SET next_seq = %s, updated_at = %s WHERE institution_bin = %s",
                            [last + 1, now, bin_])
                cur.execute("INSERT INTO dwh_batch (batch_id, institution_bin, first_seq, last_seq, content_hash, "
                            "key_id, signature, received_at, receipt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            [head["batch_id"], bin_, first, last, head["content_hash"], head["key_id"], signature,
                             now, json.dumps(receipt)])
            if self.stall_before_commit:
                time.sleep(self.stall_before_commit)
            conn.commit()
            done = time.perf_counter()
            log.info("batch %s of %s: seq %s..%s stored in %.2f s (parse %.2f, check %.2f, store %.2f)",
                     head["batch_id"], bin_, first, last, done - started, parsed - started, checked - parsed,
                     done - checked)
        if self.stall_after_commit:
            time.sleep(self.stall_after_commit)
        return receipt

    @staticmethod
    def _schema_fault(first: int, fault) -> Refused:
        n, rule = fault
        return Refused(422, "schema", f"line {n + 1} (seq {first + n - 1}): {rule}", line=n + 1)

    def _store_events(self, conn, cur, first: int, params: dict) -> None:
        """Insert the staged events; on a refusal, roll the inserts back and name the line."""
        try:
            with conn.transaction():
                for statement in db.STORE:
                    cur.execute(statement, params)
                unbalanced = cur.fetchone()
                if unbalanced is not None:
                    raise Refused(422, "schema", "")
        except psycopg.errors.UniqueViolation as exc:
            raise Refused(409, "duplicate_operation", exc.diag.message_detail or str(exc)) from None
        except (Refused, psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
            fault = (cur.execute(db.posting_fault_query()).fetchone()
                     or cur.execute(db.unbalanced_query()).fetchone())
            if fault is None:  # a value the schema allows but the database refused
                message = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
                raise Refused(422, "schema", message) from None
            raise self._schema_fault(first, fault) from None

    # ------------------------------------------------------------ queries
    def stream(self, bin_: str) -> dict:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute("SELECT next_seq FROM dwh_stream WHERE institution_bin = %s", [bin_]).fetchone()
        return {"institution_bin": bin_, "next_seq": row[0] if row else 1}

    def totals(self, query: dict) -> dict:
        bin_ = (query.get("institution_bin") or [""])[0]
        if not bin_:
            raise Refused(422, "institution_bin_required", "institution_bin is required")
        params = {"bin": bin_, "period": (query.get("period") or [None])[0],
                  "account": (query.get("account") or [None])[0]}
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(db.TOTALS, params).fetchall()
            next_seq = conn.execute("SELECT next_seq FROM dwh_stream WHERE institution_bin = %s",
                                    [bin_]).fetchone()
            operations = conn.execute("SELECT count(*) FROM dwh_operation WHERE institution_bin = %s",
                                      [bin_]).fetchone()[0]
        return {"institution_bin": bin_, "next_seq": next_seq[0] if next_seq else 1, "operations": operations,
                "totals": [{"period": p, "account": a, "debit": d, "credit": c, "entries": n}
                           for p, a, d, c, n in rows]}
