"""The export's one write path: outbox events for statements, delivery of batches, dead
letters, resends and reconciliation (R12, R13).

Delivery guarantees (docs/dwh_export.md):
- an institution's events leave in seq order, one batch in flight at a time (partial unique
  index `batch_one_pending`, and a session advisory lock per institution while sending, which
  PostgreSQL releases when a killed worker's connection drops)
- a batch is written (committed) before it is sent, and is resent byte for byte with the same
  id until the receiver acknowledges it; the receiver deduplicates by id, so a worker or a
  receiver that dies mid-transfer loses nothing and duplicates nothing
- a refusal for a sequence gap names the seq the receiver expects; the stream moves there and
  the next batch starts at it
"""

import datetime as dt
import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError
from access.models import Action, Institution, Outcome
from access.roles import Capability
from access.services import log_action, require

from . import batches, signing, sql
from .conf import Config, config
from .models import (
    Attempt,
    Batch,
    BatchStatus,
    Counter,
    Event,
    EventKind,
    Reconciliation,
    ReconStatus,
    Stream,
)

log = logging.getLogger(__name__)

LOCK_KEY = 1685546355  # advisory key space 'dwhs' (delivery of one institution's stream)


# ---------------------------------------------------------------- outbox


def emit_statement(*, institution, form: str, period_start, period_end, version: int, payload: dict,
                   **_ignored) -> int:
    """Outbox event of an approved statement, in the approving transaction (receiver of
    esep.events.statement_approved). Returns its seq."""
    def day(value) -> str:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    document = {"form": form, "period_start": day(period_start), "period_end": day(period_end),
                "version": int(version), "payload": payload}
    with connection.cursor() as cursor:
        cursor.execute("SELECT dwh_export_emit(%s, %s, %s::jsonb)",
                       [institution.pk, EventKind.STATEMENT, _json(document)])
        return cursor.fetchone()[0]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------- delivery


def backoff_delay(attempts: int, cfg: Config) -> float:
    """Exponential backoff with jitter: half the delay fixed, half random, so senders that
    failed together do not retry together."""
    delay = min(cfg.backoff_cap, cfg.backoff_base * (2 ** max(attempts - 1, 0)))
    return delay / 2 + random.uniform(0, delay / 2)


def _next_batch(institution: Institution, cfg: Config, signer, prebuilt: dict | None = None) -> Batch | None:
    """The institution's batch in flight, or a new one over the events after the acknowledged
    seq, or None when there is nothing to send (or a dead letter waits for an operator).
    `prebuilt` (built while the previous batch was on the wire) is used when it starts at
    the right seq."""
    with transaction.atomic():
        stream, _created = Stream.objects.select_for_update().get_or_create(institution=institution)
        pending = Batch.objects.filter(institution=institution, status=BatchStatus.PENDING).first()
        if pending is not None:
            return pending
        if Batch.objects.filter(institution=institution, status=BatchStatus.DEAD).exists():
            return None
        last = Counter.objects.filter(institution=institution).values_list("last_seq", flat=True).first() or 0
        if last <= stream.acked_seq:
            return None
        first = stream.acked_seq + 1
        if prebuilt is not None and prebuilt["header"]["first_seq"] == first:
            built, upto = prebuilt, prebuilt["header"]["last_seq"]
        else:
            upto = min(last, first + cfg.batch_events - 1)
            built = batches.build(institution_id=institution.pk, institution_bin=institution.bin, first_seq=first,
                                  last_seq=upto, signer=signer)
        now = timezone.now()
        return Batch.objects.create(
            id=built["id"], institution=institution, first_seq=first, last_seq=upto, events=upto - first + 1,
            body=built["body"], content_hash=built["content_hash"], signature=signing.b64(built["signature"]),
            key_id=signer.key_id, next_attempt_at=now, created_at=now,
        )


def _post(batch: Batch, cfg: Config) -> requests.Response:
    return requests.post(
        f"{cfg.endpoint}/v1/batches", data=bytes(batch.body), timeout=cfg.timeout, verify=cfg.verify_tls,
        headers={"Content-Type": "application/gzip", "X-Esep-Batch-Id": str(batch.id),
                 "X-Esep-Key-Id": batch.key_id, "X-Esep-Signature": batch.signature},
    )


def _record(batch: Batch, status_code, outcome: str, detail: str) -> None:
    Attempt.objects.create(batch=batch, at=timezone.now(), status_code=status_code, outcome=outcome,
                           detail=detail[:4000])


def _acknowledge(batch: Batch, receipt: dict, status_code: int, outcome: str) -> None:
    with transaction.atomic():
        now = timezone.now()
        Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.DELIVERED, delivered_at=now, receipt=receipt,
                                                 attempts=batch.attempts + 1, last_error="")
        stream = Stream.objects.select_for_update().get(institution_id=batch.institution_id)
        if batch.last_seq > stream.acked_seq:
            stream.acked_seq, stream.acked_at = batch.last_seq, now
            stream.save(update_fields=["acked_seq", "acked_at"])
        _record(batch, status_code, outcome, receipt.get("receipt_hash", ""))


def _move_to(batch: Batch, expected_seq: int, status_code: int, detail: str) -> bool:
    """The receiver holds everything before `expected_seq`: supersede the batch and continue
    from there. False when the receiver claims more than the outbox has (misconfiguration)."""
    last = Counter.objects.filter(institution_id=batch.institution_id).values_list("last_seq", flat=True).first()
    if expected_seq < 1 or expected_seq - 1 > (last or 0):
        return False
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SUPERSEDED, last_error=detail[:4000])
        Stream.objects.filter(institution_id=batch.institution_id).update(acked_seq=expected_seq - 1)
        _record(batch, status_code, "gap", detail)
    return True


def _fail(batch: Batch, status_code, detail: str, cfg: Config) -> None:
    attempts = batch.attempts + 1
    now = timezone.now()
    dead = attempts >= cfg.max_attempts
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(
            attempts=attempts, last_error=detail[:4000],
            status=BatchStatus.DEAD if dead else BatchStatus.PENDING,
            next_attempt_at=now + dt.timedelta(seconds=backoff_delay(attempts, cfg)),
        )
        _record(batch, status_code, "refused" if status_code and status_code < 500 else "error", detail)
        if dead:
            # the action journal (R4) records the dead letter; the status page lists it
            log_action(actor=None, action=Action.EXPORT, outcome=Outcome.FAILED,
                       institution=batch.institution, object_type="dwh_batch", object_id=batch.id,
                       username="dwh_export",
                       details=f"dead letter after {attempts} attempts: seq {batch.first_seq}..{batch.last_seq}: "
                               f"{detail[:500]}")
    log.warning("dwh_export: batch %s (seq %s..%s) failed (%s/%s): %s", batch.id, batch.first_seq, batch.last_seq,
                attempts, cfg.max_attempts, detail[:300])


def _outcome(batch: Batch, cfg: Config, response: requests.Response | None, error: Exception | None) -> str:
    """Record the answer to one delivery attempt; returns delivered, duplicate, gap or failed."""
    if error is not None:
        _fail(batch, None, f"{type(error).__name__}: {error}", cfg)
        return "failed"
    try:
        answer = response.json()
    except ValueError:
        answer = {"message": response.text[:500]}
    if response.status_code == 200 and answer.get("batch_id") == str(batch.id):
        outcome = answer.get("status", "accepted")
        _acknowledge(batch, answer, response.status_code, outcome)
        return "duplicate" if outcome == "duplicate" else "delivered"
    if response.status_code == 409 and answer.get("error") == "sequence_gap":
        if _move_to(batch, int(answer.get("expected_seq", 0)), response.status_code, _json(answer)):
            return "gap"
    _fail(batch, response.status_code, _json(answer), cfg)
    return "failed"


def _post_catching(batch: Batch, cfg: Config):
    try:
        return _post(batch, cfg), None
    except requests.RequestException as exc:
        return None, exc


def send(batch: Batch, cfg: Config) -> str:
    """One delivery attempt of `batch`."""
    return _outcome(batch, cfg, *_post_catching(batch, cfg))


def deliver_institution(institution: Institution, cfg: Config, signer, deadline: float) -> dict:
    """Send the institution's batches in order until it is caught up, a batch fails, or the
    deadline. While a batch is on the wire (a thread doing only HTTP), the next one is built
    here: PostgreSQL writing the JSON on one core, the receiver storing on the other."""
    counts = {"delivered": 0, "duplicate": 0, "gap": 0, "failed": 0, "events": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_KEY, institution.pk])
        if not cursor.fetchone()[0]:
            return counts  # another worker is sending this stream
    prebuilt = None
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwh-send") as wire:
            while time.monotonic() < deadline:
                batch = _next_batch(institution, cfg, signer, prebuilt)
                prebuilt = None
                if batch is None or batch.next_attempt_at > timezone.now():
                    break
                sent_at = time.monotonic()
                on_the_wire = wire.submit(_post_catching, batch, cfg)
                last = Counter.objects.filter(institution=institution).values_list("last_seq", flat=True).first()
                if last and last > batch.last_seq and batch.attempts == 0:
                    first = batch.last_seq + 1
                    prebuilt = batches.build(institution_id=institution.pk, institution_bin=institution.bin,
                                             first_seq=first, last_seq=min(last, first + cfg.batch_events - 1),
                                             signer=signer)
                built_at = time.monotonic()
                answer = on_the_wire.result()
                log.info("dwh_export: batch %s seq %s..%s: next built in %.2f s, answer after %.2f s",
                         batch.id, batch.first_seq, batch.last_seq, built_at - sent_at, time.monotonic() - sent_at)
                outcome = _outcome(batch, cfg, *answer)
                counts[outcome] += 1
                if outcome in ("delivered", "duplicate"):
                    counts["events"] += batch.events
                if outcome == "failed":
                    break  # retried after its backoff, by a later run
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_KEY, institution.pk])
    return counts


def deliver_all(cfg: Config | None = None) -> dict:
    """Send every institution's pending events (Celery beat task `dwh_export.tasks.deliver`)."""
    cfg = cfg or config()
    if not cfg.endpoint:
        return {"skipped": "DWH_EXPORT_URL is not set"}
    signer = signing.deployment_signer()
    deadline = time.monotonic() + cfg.run_seconds
    institutions = Institution.objects.filter(pk__in=Counter.objects.values("institution_id")).order_by("pk")
    return {inst.bin: deliver_institution(inst, cfg, signer, deadline) for inst in institutions}


# ---------------------------------------------------------------- operator actions


def retry_dead(*, batch: Batch, actor, request=None) -> Batch:
    """Put a dead letter back in the queue with a fresh attempt count."""
    require(actor, batch.institution, Capability.MANAGE_EXPORT, request=request, action=Action.EXPORT,
            object_type="dwh_batch")
    with transaction.atomic():
        updated = Batch.objects.filter(pk=batch.pk, status=BatchStatus.DEAD).update(
            status=BatchStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
        if not updated:
            raise ControlError("batch_not_dead", _("Only a dead-letter batch can be retried."), field="batch")
        log_action(actor=actor, action=Action.EXPORT, request=request, institution=batch.institution,
                   object_type="dwh_batch", object_id=batch.pk,
                   details=f"retry dead letter seq {batch.first_seq}..{batch.last_seq}")
    batch.refresh_from_db()
    return batch


def resend_from(*, institution: Institution, seq: int, actor, request=None) -> Stream:
    """Order a resend from event `seq` (R13, after a mismatch): batches in flight or dead are
    superseded and the next batch starts at `seq`. The receiver keeps its continuity rule: if
    it already holds `seq`, it answers with the seq it expects and the stream moves there."""
    require(actor, institution, Capability.MANAGE_EXPORT, request=request, action=Action.EXPORT,
            object_type="dwh_stream")
    last = Counter.objects.filter(institution=institution).values_list("last_seq", flat=True).first() or 0
    if not 1 <= seq <= last + 1:
        raise ControlError("seq_out_of_range",
                           _("Sequence number must be between 1 and %(last)s.") % {"last": last + 1}, field="seq")
    with transaction.atomic():
        stream, _created = Stream.objects.select_for_update().get_or_create(institution=institution)
        Batch.objects.filter(institution=institution, status__in=[BatchStatus.PENDING, BatchStatus.DEAD]).update(
            status=BatchStatus.SUPERSEDED, last_error=f"resend from {seq} ordered by {actor.username}")
        stream.acked_seq = seq - 1
        stream.save(update_fields=["acked_seq"])
        log_action(actor=actor, action=Action.EXPORT, request=request, institution=institution,
                   object_type="dwh_stream", object_id=institution.pk, details=f"resend from seq {seq}")
    return stream


# ---------------------------------------------------------------- reconciliation


def receiver_totals(institution: Institution, cfg: Config) -> dict:
    response = requests.get(f"{cfg.endpoint}/v1/control-totals", params={"institution_bin": institution.bin},
                            timeout=cfg.timeout, verify=cfg.verify_tls)
    response.raise_for_status()
    return response.json()


def ledger_totals(institution: Institution, up_to_seq: int) -> dict[tuple[str, str], dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql.LEDGER_TOTALS, [institution.pk, up_to_seq])
        return {(period, account): {"debit": debit, "credit": credit, "entries": entries}
                for period, account, debit, credit, entries in cursor.fetchall()}


def reconcile(institution: Institution, *, cfg: Config | None = None, actor=None, request=None) -> Reconciliation:
    """Compare the ledger's control totals with the receiver's, per period and account, over
    the events the receiver holds (its next_seq - 1), so undelivered events are no mismatch."""
    cfg = cfg or config()
    if actor is not None:
        require(actor, institution, Capability.MANAGE_EXPORT, request=request, action=Action.EXPORT,
                object_type="dwh_reconciliation")
    now = timezone.now()
    try:
        theirs = receiver_totals(institution, cfg)
    except (requests.RequestException, ValueError) as exc:
        return Reconciliation.objects.create(institution=institution, at=now, up_to_seq=0, status=ReconStatus.ERROR,
                                             detail=f"{type(exc).__name__}: {exc}"[:2000], actor=actor)
    up_to = int(theirs.get("next_seq", 1)) - 1
    ours = ledger_totals(institution, up_to)
    remote = {(t["period"], t["account"]): {"debit": Decimal(t["debit"]), "credit": Decimal(t["credit"]),
                                            "entries": int(t["entries"])} for t in theirs.get("totals", [])}
    zero = {"debit": Decimal(0), "credit": Decimal(0), "entries": 0}
    mismatches = []
    for key in sorted(set(ours) | set(remote)):
        a, b = ours.get(key, zero), remote.get(key, zero)
        if a != b:
            mismatches.append({"period": key[0], "account": key[1],
                               "ledger_debit": str(a["debit"]), "receiver_debit": str(b["debit"]),
                               "ledger_credit": str(a["credit"]), "receiver_credit": str(b["credit"]),
                               "ledger_entries": a["entries"], "receiver_entries": b["entries"]})
    status = ReconStatus.MISMATCH if mismatches else ReconStatus.MATCH
    with transaction.atomic():
        result = Reconciliation.objects.create(institution=institution, at=now, up_to_seq=up_to, status=status,
                                               compared=len(set(ours) | set(remote)), mismatches=mismatches,
                                               actor=actor)
        if mismatches:
            log_action(actor=actor, action=Action.EXPORT, outcome=Outcome.FAILED, request=request,
                       institution=institution, object_type="dwh_reconciliation", object_id=result.pk,
                       username="" if actor else "dwh_export",
                       details=f"{len(mismatches)} mismatching cell(s) up to seq {up_to}")
    return result


def reconcile_all(cfg: Config | None = None) -> dict:
    cfg = cfg or config()
    if not cfg.endpoint:
        return {"skipped": "DWH_EXPORT_URL is not set"}
    institutions = Institution.objects.filter(pk__in=Counter.objects.values("institution_id")).order_by("pk")
    return {inst.bin: reconcile(inst, cfg=cfg).status for inst in institutions}


# ---------------------------------------------------------------- status


def stream_status(institution: Institution) -> dict:
    """Last delivered seq, events waiting, lag (age of the oldest undelivered event)."""
    last = Counter.objects.filter(institution=institution).values_list("last_seq", flat=True).first() or 0
    stream = Stream.objects.filter(institution=institution).first()
    acked = stream.acked_seq if stream else 0
    oldest = None
    if last > acked:
        oldest = (Event.objects.filter(institution=institution, seq=acked + 1)
                  .values_list("created_at", flat=True).first())
    return {
        "last_seq": last, "acked_seq": acked, "acked_at": stream.acked_at if stream else None,
        "waiting": last - acked, "lag": (timezone.now() - oldest) if oldest else dt.timedelta(0),
        "failures": Batch.objects.filter(institution=institution, status=BatchStatus.PENDING, attempts__gt=0).count(),
        "dead": Batch.objects.filter(institution=institution, status=BatchStatus.DEAD).count(),
        "last_batch_at": Batch.objects.filter(institution=institution).aggregate(m=Max("created_at"))["m"],
    }
