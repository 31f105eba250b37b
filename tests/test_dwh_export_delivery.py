"""Delivery to the reference receiver over HTTP, by a real Celery worker on Redis: end to
end, outages, processes killed mid-transfer, duplicates, corrupt and wrongly signed batches.
After every recovery the receiver holds exactly the ledger's operations."""

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import jsonschema
import psycopg
import pytest
import requests

from access.models import ActionLog, Outcome
from dwh_export import batches, services
from dwh_export.conf import config
from dwh_export.models import Attempt, Batch, BatchStatus, Reconciliation, Stream
from dwh_export.signing import b64
from esep.events import statement_approved
from ledger.services import close_period, correct_entry, post_entries, post_entry

from .dwh_export_support import (  # noqa: F401 - fixtures
    ADMIN_URL,
    dwh_key,
    export_env,
    ledger_export_state,
    receiver,
    receiver_db,
    receiver_state,
    wait_for,
    worker,
)
from .factories import line, pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
DAY = dt.date(2026, 3, 10)
SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "exchange"


def schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def post_some(world, n: int, start: int = 1):
    return post_entries(institution=world.a, actor=world.accountant_a,
                        drafts=[pair(DAY, f"{i}.{i % 100:02d}") for i in range(start, start + n)])


def assert_exact(world, receiver):  # noqa: F811
    """Receiver holds the ledger's operations: same entries, same postings, no duplicates,
    and its stream expects the seq after the ledger's last event."""
    ours, theirs = ledger_export_state(world.a), receiver_state(receiver, world.a.bin)
    assert theirs["entries"] == ours["entries"]
    assert theirs["postings"] == ours["postings"]
    last = services.stream_status(world.a)["last_seq"]
    assert receiver.query("SELECT next_seq FROM dwh_stream WHERE institution_bin = %s", [world.a.bin]) == [
        (last + 1,)]
    assert Stream.objects.get(institution=world.a).acked_seq == last


def test_end_to_end_through_worker(world, receiver, worker):  # noqa: F811
    original = post_some(world, 9)[0]
    correct_entry(entry=original, actor=world.chief_a, reason="typo", date=DAY,
                  lines=[line("7060", "D", "1.50"), line("1010", "C", "1.50")])
    close_period(period=world.period(world.a, 1), actor=world.chief_a)
    statement_approved.send(sender=None, institution=world.a, form="FO-1", period_start=dt.date(2026, 1, 1),
                            period_end=dt.date(2026, 1, 31), version=1, payload={"total": "0.00"})
    post_entry(institution=world.b, actor=world.accountant_b, draft=pair(DAY, "7.00"))

    result = worker.deliver()

    assert result[world.a.bin]["events"] == 13 and result[world.a.bin]["failed"] == 0
    assert result[world.b.bin]["events"] == 1
    assert_exact(world, receiver)
    # four events a batch: 13 events in 4 batches, each with its stored receipt
    delivered = Batch.objects.filter(institution=world.a, status=BatchStatus.DELIVERED).order_by("first_seq")
    assert [(b.first_seq, b.last_seq) for b in delivered] == [(1, 4), (5, 8), (9, 12), (13, 13)]
    assert all(b.receipt["status"] == "accepted" and b.receipt["batch_id"] == str(b.id) for b in delivered)
    receipt_schema = schema("dwh-receipt.schema.json")
    for b in delivered:
        receipt_schema.validate(b.receipt)
    assert receiver.query("SELECT count(*) FROM dwh_batch") == [(5,)]
    assert receiver.query("SELECT form, version FROM dwh_statement") == [("FO-1", 1)]
    assert receiver.query("SELECT period, to_status FROM dwh_period_event") == [("2026-01", "closed")]
    corrected = receiver.query("SELECT kind, reverses, corrects FROM dwh_operation WHERE kind <> 'regular' "
                               "ORDER BY seq")
    assert corrected == [("reversal", original.id, None), ("corrected", None, original.id)]
    # nothing new: the next run sends nothing
    assert worker.deliver()[world.a.bin]["events"] == 0
    # reconciliation over HTTP: totals agree
    assert services.reconcile(world.a).status == "match"


def test_receiver_down_for_a_while(world, receiver, worker):  # noqa: F811
    post_some(world, 6)
    receiver.stop()
    result = worker.deliver()
    assert result[world.a.bin]["failed"] == 1 and result[world.a.bin]["events"] == 0
    batch = Batch.objects.get(institution=world.a)
    assert (batch.status, batch.attempts) == (BatchStatus.PENDING, 1)
    assert "ConnectionError" in batch.last_error
    post_some(world, 3, start=50)  # the ledger goes on meanwhile
    receiver.start()
    assert worker.deliver()[world.a.bin]["events"] == 9
    assert_exact(world, receiver)
    # the retried batch is the same one, sent again under the same id
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (BatchStatus.DELIVERED, 2)


def test_receiver_killed_mid_batch(world, receiver, worker):  # noqa: F811
    post_some(world, 3)
    receiver.restart("--stall-before-commit", "30")
    pending = worker.deliver_async()

    def receiver_in_transaction():
        with psycopg.connect(ADMIN_URL) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                "AND state LIKE 'idle in transaction%%'", [receiver.database]).fetchone()[0]

    wait_for(receiver_in_transaction, what="receiver holding the batch's transaction")
    receiver.kill()
    assert pending.get(timeout=60)[world.a.bin]["failed"] == 1
    wait_for(lambda: not receiver_in_transaction(), what="aborted transaction gone")
    receiver.start()
    assert receiver_state(receiver, world.a.bin)["entries"] == []  # nothing half-stored
    assert worker.deliver()[world.a.bin]["events"] == 3
    assert_exact(world, receiver)


def test_worker_killed_mid_send(world, receiver, worker):  # noqa: F811
    post_some(world, 3)
    receiver.restart("--stall-after-commit", "30")
    worker.deliver_async()
    wait_for(lambda: receiver.query("SELECT count(*) FROM dwh_batch")[0][0] == 1, what="batch stored")
    worker.kill()  # the receiver has the batch; the sender never saw the receipt
    batch = Batch.objects.get(institution=world.a)
    assert batch.status == BatchStatus.PENDING
    receiver.restart()
    worker.start()
    result = worker.deliver()
    assert result[world.a.bin]["duplicate"] == 1 and result[world.a.bin]["events"] == 3
    assert Attempt.objects.filter(batch=batch, outcome="duplicate").exists()
    assert_exact(world, receiver)
    assert receiver.query("SELECT count(*) FROM dwh_batch") == [(1,)]


def test_duplicate_delivery_is_idempotent(world, receiver, export_env):  # noqa: F811
    post_some(world, 3)
    services.deliver_all()
    batch = Batch.objects.get(institution=world.a)
    before = receiver_state(receiver, world.a.bin)
    answer = services._post(batch, config())
    assert answer.status_code == 200
    assert answer.json()["status"] == "duplicate" and answer.json()["batch_id"] == str(batch.id)
    assert receiver_state(receiver, world.a.bin) == before
    assert_exact(world, receiver)


def _post_raw(receiver, head: dict, content: bytes, signer, *, key_id="esep-test", corrupt=None):  # noqa: F811
    head_line = json.dumps(head, separators=(",", ":")).encode()
    signature = b64(signer.sign(head_line))
    body = head_line + b"\n" + content
    if corrupt:
        body = corrupt(body)
    return requests.post(f"{receiver.url}/v1/batches", data=gzip.compress(body), timeout=20,
                         headers={"X-Esep-Batch-Id": head["batch_id"], "X-Esep-Key-Id": key_id,
                                  "X-Esep-Signature": signature})


def test_corrupted_and_wrongly_signed_batches_are_refused(world, receiver, dwh_key):  # noqa: F811
    post_some(world, 2)
    built = batches.build(institution_id=world.a.pk, institution_bin=world.a.bin, first_seq=1, last_seq=2,
                          signer=dwh_key["signer"])
    head_line, content = batches.parse(built["body"])
    head = json.loads(head_line)

    # a byte flipped in an amount: the content hash no longer matches
    answer = _post_raw(receiver, head, content.replace(b'"1.01"', b'"9.01"', 1), dwh_key["signer"])
    assert (answer.status_code, answer.json()["error"]) == (422, "content_hash_mismatch")
    schema("dwh-refusal.schema.json").validate(answer.json())
    # signed by a key the receiver does not trust
    answer = _post_raw(receiver, head, content, dwh_key["other"])
    assert (answer.status_code, answer.json()["error"]) == (422, "signature_invalid")
    # a header changed after signing
    answer = _post_raw(receiver, head, content, dwh_key["signer"],
                       corrupt=lambda body: body.replace(b'"count":2', b'"count":3', 1))
    assert (answer.status_code, answer.json()["error"]) == (422, "signature_invalid")
    # correctly signed and hashed, but an amount breaks the event schema
    bad = content.replace(b'"1.01"', b'"1,01"')
    answer = _post_raw(receiver, dict(head, content_hash=hashlib.sha256(bad).hexdigest()), bad, dwh_key["signer"])
    assert (answer.status_code, answer.json()["error"]) == (422, "schema")
    assert "amount" in answer.json()["message"] and answer.json()["line"] == 2
    # unbalanced entry
    docs = [json.loads(x) for x in content.splitlines()]
    docs[0]["postings"][1]["amount"] = "1.02"
    unbalanced = b"".join(json.dumps(d).encode() + b"\n" for d in docs)
    answer = _post_raw(receiver, dict(head, content_hash=hashlib.sha256(unbalanced).hexdigest()), unbalanced,
                       dwh_key["signer"])
    assert (answer.status_code, answer.json()["error"]) == (422, "schema")
    assert "debits and credits" in answer.json()["message"]
    # every posting rule of the event schema, each refused with its line and field
    for field, value, words in (("account", "70A0", "account"), ("side", "X", "side"),
                                ("specific", "11", "specific"), ("funding_source", "", "funding_source"),
                                ("amount", "1.015", "amount")):
        docs = [json.loads(x) for x in content.splitlines()]
        docs[1]["postings"][0][field] = value
        changed = b"".join(json.dumps(d).encode() + b"\n" for d in docs)
        answer = _post_raw(receiver, dict(head, content_hash=hashlib.sha256(changed).hexdigest()), changed,
                           dwh_key["signer"])
        assert (answer.status_code, answer.json()["error"], answer.json()["line"]) == (422, "schema", 3), field
        assert words in answer.json()["message"]
    # not gzip at all
    answer = requests.post(f"{receiver.url}/v1/batches", data=b"plain", timeout=20,
                           headers={"X-Esep-Key-Id": "esep-test", "X-Esep-Signature": built and ""})
    assert (answer.status_code, answer.json()["error"]) == (422, "not_gzip")
    assert receiver.query("SELECT count(*) FROM dwh_operation") == [(0,)]
    assert receiver.query("SELECT count(*) FROM dwh_batch") == [(0,)]
    # the genuine batch still goes through
    assert _post_raw(receiver, head, content, dwh_key["signer"]).json()["status"] == "accepted"
    # the same batch id with other content is a conflict, not a duplicate
    other = content.replace(b'"1.01"', b'"1.01"')
    answer = _post_raw(receiver, dict(head, content_hash="0" * 64), other, dwh_key["signer"])
    assert answer.status_code == 422  # content hash checked first
    assert receiver.query("SELECT count(*) FROM dwh_operation") == [(2,)]


def test_batch_expanding_beyond_the_limit_is_refused(world, receiver, dwh_key):  # noqa: F811
    post_some(world, 3)
    built = batches.build(institution_id=world.a.pk, institution_bin=world.a.bin, first_seq=1, last_seq=3,
                          signer=dwh_key["signer"])
    receiver.restart("--max-raw", "2000")
    answer = requests.post(f"{receiver.url}/v1/batches", data=built["body"], timeout=20,
                           headers={"X-Esep-Batch-Id": str(built["id"]), "X-Esep-Key-Id": "esep-test",
                                    "X-Esep-Signature": b64(built["signature"])})
    assert (answer.status_code, answer.json()["error"]) == (413, "too_large")
    truncated = requests.post(f"{receiver.url}/v1/batches", data=built["body"][:-20], timeout=20,
                              headers={"X-Esep-Key-Id": "esep-test", "X-Esep-Signature": b64(built["signature"])})
    assert truncated.status_code in (413, 422)
    assert receiver.query("SELECT count(*) FROM dwh_operation") == [(0,)]


def test_wrong_key_dead_letters_then_resend_from_ui_service(world, receiver, export_env, dwh_key,  # noqa: F811
                                                           monkeypatch):
    post_some(world, 2)
    monkeypatch.setenv("DWH_EXPORT_KEY_PATH", str(dwh_key["other_private"]))
    for _ in range(4):
        services.deliver_all()
    batch = Batch.objects.get(institution=world.a)
    assert (batch.status, batch.attempts) == (BatchStatus.DEAD, 4)
    assert "signature_invalid" in batch.last_error
    journal = ActionLog.objects.filter(object_type="dwh_batch", object_id=str(batch.id), outcome=Outcome.FAILED)
    assert journal.count() == 1 and "dead letter" in journal.get().details
    # a dead letter stops the stream until someone acts
    assert services.deliver_all()[world.a.bin]["events"] == 0
    monkeypatch.setenv("DWH_EXPORT_KEY_PATH", str(dwh_key["private"]))
    from access.roles import Role
    from access.services import grant_role

    grant_role(actor=None, user=world.chief_a, institution=world.a, role=Role.ADMINISTRATOR)
    services.resend_from(institution=world.a, seq=1, actor=world.chief_a)
    assert services.deliver_all()[world.a.bin]["events"] == 2
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUPERSEDED
    assert_exact(world, receiver)


def test_gap_is_refused_with_expected_seq_and_sender_resends(world, receiver, export_env):  # noqa: F811
    post_some(world, 5)
    services.deliver_all()
    assert_exact(world, receiver)
    # the receiver loses the last batch (restored from an older backup)
    receiver.execute("DELETE FROM dwh_posting WHERE entry_id IN (SELECT entry_id FROM dwh_operation WHERE seq >= 5)")
    receiver.execute("DELETE FROM dwh_operation WHERE seq >= 5")
    receiver.execute("DELETE FROM dwh_batch WHERE first_seq = 5")
    receiver.execute("UPDATE dwh_stream SET next_seq = 5")
    post_some(world, 2, start=70)
    result = services.deliver_all()
    assert result[world.a.bin]["gap"] == 1
    gap = Attempt.objects.filter(outcome="gap").get()
    assert gap.status_code == 409 and json.loads(gap.detail)["expected_seq"] == 5
    schema("dwh-refusal.schema.json").validate(json.loads(gap.detail))
    assert_exact(world, receiver)


def test_reconciliation_lists_mismatches(world, receiver, export_env):  # noqa: F811
    post_some(world, 4)
    services.deliver_all()
    assert services.reconcile(world.a).status == "match"
    receiver.execute("UPDATE dwh_posting SET amount = amount + 1 WHERE line = 1 AND entry_id = "
                   "(SELECT min(entry_id) FROM dwh_posting)")
    result = services.reconcile(world.a)
    assert result.status == "mismatch"
    assert [(m["period"], m["account"]) for m in result.mismatches] == [("2026-03", "7060")]
    m = result.mismatches[0]
    assert float(m["receiver_debit"]) - float(m["ledger_debit"]) == 1.0
    receiver.stop()
    assert services.reconcile(world.a).status == "error"
    assert Reconciliation.objects.filter(institution=world.a).count() == 3
