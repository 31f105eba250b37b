"""The outbox: events written by the database in the transaction that made them, numbered
per institution without gaps; the batch format against its JSON Schemas."""

import datetime as dt
import gzip
import hashlib
import json
import threading
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from django.db import IntegrityError, connection, transaction

from access.errors import ControlError
from dwh_export import batches
from dwh_export.models import Counter, Event
from esep.events import statement_approved
from ledger.bulk import load_entries
from ledger.services import approve_period, close_period, correct_entry, post_entries, post_entry

from .dwh_export_support import dwh_key  # noqa: F401 - fixture
from .factories import draft, line, pair, run_commit_checks

DAY = dt.date(2026, 3, 10)
SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "exchange"


def events(institution):
    return list(Event.objects.filter(institution=institution).order_by("seq").values_list("seq", "kind", "entry_id"))


def validator(name):
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def test_posted_entries_get_gapless_seqs_per_institution(world):
    a = post_entries(institution=world.a, actor=world.accountant_a, drafts=[pair(DAY, "10.00"), pair(DAY, "20.00")])
    b = post_entry(institution=world.b, actor=world.accountant_b, draft=pair(DAY, "5.00"))
    assert events(world.a) == []  # the seal, and with it the event, is written at commit
    run_commit_checks()
    assert events(world.a) == [(1, "entry", a[0].id), (2, "entry", a[1].id)]
    assert events(world.b) == [(1, "entry", b.id)]
    c = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, "1.00"))
    run_commit_checks()
    assert events(world.a)[-1] == (3, "entry", c.id)
    assert Counter.objects.get(institution=world.a).last_seq == 3


def test_refused_posting_consumes_no_seq(world):
    post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, "10.00"))
    run_commit_checks()
    with pytest.raises(ControlError):
        # an unbalanced entry is refused; nothing of it, its event included, remains
        post_entry(institution=world.a, actor=world.accountant_a,
                   draft=draft(DAY, line("7060", "D", "1.00"), line("1010", "C", "2.00")))
    post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, "3.00"))
    run_commit_checks()
    assert [seq for seq, _k, _e in events(world.a)] == [1, 2]


def test_bulk_copy_path_writes_events(world):
    drafts = [pair(DAY, f"{i}.00") for i in range(1, 51)]
    assert load_entries(institution=world.a, actor=world.accountant_a, drafts=drafts) == 50
    run_commit_checks()
    seqs = events(world.a)
    assert [s for s, _k, _e in seqs] == list(range(1, 51))
    assert {k for _s, k, _e in seqs} == {"entry"}
    # commit order inside the transaction is the chain order of the seals
    with connection.cursor() as cursor:
        cursor.execute("SELECT entry_id FROM ledger_entryseal WHERE institution_id = %s ORDER BY seq", [world.a.pk])
        assert [r[0] for r in cursor.fetchall()] == [e for _s, _k, e in seqs]


def test_correction_events_link_to_original(world, dwh_key):  # noqa: F811
    original = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, "100.00"))
    run_commit_checks()
    log = correct_entry(entry=original, actor=world.chief_a, reason="wrong amount",
                        lines=[line("7060", "D", "90.00"), line("1010", "C", "90.00")], date=DAY)
    run_commit_checks()
    assert [k for _s, k, _e in events(world.a)] == ["entry", "entry", "entry"]
    built = batches.build(institution_id=world.a.pk, institution_bin=world.a.bin, first_seq=1, last_seq=3,
                          signer=dwh_key["signer"])
    _head, content = batches.parse(built["body"])
    docs = [json.loads(x) for x in content.splitlines()]
    reversal, corrected = docs[1]["entry"], docs[2]["entry"]
    assert (reversal["kind"], reversal["reverses"]) == ("reversal", original.id)
    assert (corrected["kind"], corrected["corrects"], corrected["id"]) == ("corrected", original.id,
                                                                           log.corrected_id)
    assert [p["amount"] for p in docs[1]["postings"]] == ["-100.00", "-100.00"]


def test_period_transitions_are_events(world):
    post_entry(institution=world.a, actor=world.accountant_a, draft=pair(dt.date(2026, 1, 5), "10.00"))
    run_commit_checks()
    close_period(period=world.period(world.a, 1), actor=world.chief_a)
    approve_period(period=world.period(world.a, 1), actor=world.chief_a)
    kinds = events(world.a)
    assert [(s, k) for s, k, _e in kinds] == [(1, "entry"), (2, "period"), (3, "period")]
    assert list(Event.objects.filter(institution=world.a, kind="period").order_by("seq")
                .values_list("transition_id", flat=True)) == list(
        world.period(world.a, 1).transitions.order_by("id").values_list("id", flat=True))


def test_statement_event_commits_and_rolls_back_with_approval(world):
    kwargs = {"institution": world.a, "form": "FO-1", "period_start": dt.date(2026, 1, 1),
              "period_end": dt.date(2026, 3, 31), "version": 1,
              "payload": {"lines": [{"code": "010", "amount": "5.00"}]}}
    with pytest.raises(RuntimeError), transaction.atomic():
        statement_approved.send(sender=None, **kwargs)
        raise RuntimeError("approval failed later")
    assert events(world.a) == []
    statement_approved.send(sender=None, **kwargs)
    event = Event.objects.get(institution=world.a)
    assert (event.seq, event.kind, event.payload["form"], event.payload["payload"]["lines"][0]["amount"]) == (
        1, "statement", "FO-1", "5.00")


def test_events_are_append_only(world):
    post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, "10.00"))
    run_commit_checks()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Event.objects.filter(institution=world.a).update(entry_id=None)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Event.objects.filter(institution=world.a).delete()


def test_batch_matches_json_schemas_and_signature(world, dwh_key):  # noqa: F811
    post_entries(institution=world.a, actor=world.accountant_a, drafts=[pair(DAY, "12.34"), pair(DAY, "0.05")])
    run_commit_checks()
    close_period(period=world.period(world.a, 1), actor=world.chief_a)
    statement_approved.send(sender=None, institution=world.a, form="FO-2", period_start=dt.date(2026, 1, 1),
                            period_end=dt.date(2026, 1, 31), version=2, payload={"total": "12.39"})
    built = batches.build(institution_id=world.a.pk, institution_bin=world.a.bin, first_seq=1, last_seq=4,
                          signer=dwh_key["signer"])
    head_line, content = batches.parse(built["body"])
    head = json.loads(head_line)
    validator("dwh-batch-header.schema.json").validate(head)
    assert (head["first_seq"], head["last_seq"], head["count"], head["institution_bin"]) == (1, 4, 4, world.a.bin)
    assert head["content_hash"] == hashlib.sha256(content).hexdigest()
    event_schema = validator("dwh-event.schema.json")
    docs = [json.loads(x) for x in content.splitlines()]
    for doc in docs:
        event_schema.validate(doc)
    assert [d["type"] for d in docs] == ["entry", "entry", "period", "statement"]
    first = docs[0]["postings"][0]
    assert (first["account"], first["side"], first["amount"], first["administrator"], first["programme"],
            first["subprogramme"], first["specific"], first["funding_source"]) == (
        "7060", "D", "12.34", "261", "003", "015", "111", "budget_local")
    from dwh_export.signing import Ed25519Verifier

    verifier = Ed25519Verifier({"esep-test": dwh_key["signer"]._key.public_key()})
    assert verifier.verify("esep-test", head_line, built["signature"])
    assert not verifier.verify("esep-test", head_line.replace(b'"count":4', b'"count":5'), built["signature"])
    # the body is gzip
    assert gzip.decompress(built["body"]).startswith(head_line)
    # a corrupt event fails the schema a receiver checks
    bad = dict(docs[0], postings=[dict(docs[0]["postings"][0], amount="12,34"), docs[0]["postings"][1]])
    assert not event_schema.is_valid(bad)
    assert sum(Decimal(p["amount"]) for p in docs[0]["postings"] if p["side"] == "D") == Decimal("12.34")


@pytest.mark.django_db(transaction=True)
def test_concurrent_posters_commit_seqs_in_order_without_gaps():
    from .factories import build_world

    world = build_world()
    errors = []

    def poster(n):
        from django.db import connection as conn

        try:
            for i in range(10):
                post_entry(institution=world.a, actor=world.accountant_a, draft=pair(DAY, f"{n}.{i:02d}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = events(world.a)
    assert [s for s, _k, _e in seqs] == list(range(1, 41))
    # seq order is commit order: it follows the hash chain's seq exactly
    with connection.cursor() as cursor:
        cursor.execute("SELECT entry_id FROM ledger_entryseal WHERE institution_id = %s ORDER BY seq", [world.a.pk])
        assert [r[0] for r in cursor.fetchall()] == [e for _s, _k, e in seqs]


def test_parquet_files_carry_the_same_operations(world, tmp_path):
    import pyarrow.parquet as pq
    from django.core.management import call_command

    drafts = [pair(DAY, "12.34"), pair(DAY, "0.05")]
    entries = post_entries(institution=world.a, actor=world.accountant_a, drafts=drafts)
    run_commit_checks()
    close_period(period=world.period(world.a, 1), actor=world.chief_a)  # a period event: not an operation row
    call_command("dwh_export", "parquet", "--bin", world.a.bin, "--out", str(tmp_path))
    operations = pq.read_table(tmp_path / "operations.parquet").to_pylist()
    postings = pq.read_table(tmp_path / "postings.parquet").to_pylist()
    assert [(o["seq"], o["entry_id"], o["kind"]) for o in operations] == [(1, entries[0].id, "regular"),
                                                                         (2, entries[1].id, "regular")]
    assert [(p["entry_id"], p["line"], p["account"], p["side"], p["amount"]) for p in postings] == [
        (entries[0].id, 1, "7060", "D", Decimal("12.34")), (entries[0].id, 2, "1010", "C", Decimal("12.34")),
        (entries[1].id, 1, "7060", "D", Decimal("0.05")), (entries[1].id, 2, "1010", "C", Decimal("0.05"))]
    assert {p["programme"] for p in postings} == {"003"}
