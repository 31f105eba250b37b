"""Outbox, batches, delivery state and reconciliation results of the export to БО ДБҚ.

Invariants (docs/dwh_export.md):
- every sealed entry (regular, reversal, corrected; service path and bulk COPY alike), every
  period transition and every approved statement has exactly one Event, written in the
  transaction that made it, by database triggers on the ledger's tables (migration 0002) or
  by `dwh_export_emit()` for statements
- Event.seq is 1, 2, 3, … per institution without gaps, in commit order: the counter row is
  locked from the increment until commit, so no transaction can commit a higher seq first
- events are never updated or deleted
- a Batch covers a contiguous seq range; its body, hash and signature never change after it
  is written, so a resend is byte-identical and the receiver can deduplicate by batch id
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from access.triggers import refuse_change, refuse_truncate


class EventKind(models.TextChoices):
    ENTRY = "entry", _("Journal entry")
    PERIOD = "period", _("Period status change")
    STATEMENT = "statement", _("Approved statement")


class Counter(models.Model):
    """Last seq handed out per institution. Written only by dwh_export_next_seqs()."""

    institution = models.OneToOneField(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                       primary_key=True, related_name="+")
    last_seq = models.BigIntegerField(default=0)


class Event(models.Model):
    """One outbox event. Entries and period transitions are referenced, not copied: they are
    immutable, so the batch builder reads them when it needs them and posting pays only for
    this narrow row. Statements carry their payload (reporting owns its tables)."""

    pk = models.CompositePrimaryKey("institution_id", "seq")
    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    entry_id = models.BigIntegerField(null=True)
    transition_id = models.BigIntegerField(null=True)
    payload = models.JSONField(null=True)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        triggers = [
            refuse_change("event_append_only", "outbox event", key="seq"),
            refuse_truncate("event_no_truncate"),
        ]


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Dead letter")
    SUPERSEDED = "superseded", _("Superseded by a resend")


class Batch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    events = models.IntegerField()
    body = models.BinaryField()  # gzip of the JSON Lines, exactly as sent
    content_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=200)
    key_id = models.CharField(max_length=60)
    status = models.CharField(max_length=12, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["institution", "first_seq"]
        constraints = [
            models.CheckConstraint(condition=models.Q(last_seq__gte=models.F("first_seq")), name="batch_range"),
            # at most one batch in flight per institution: sending is strictly in seq order
            models.UniqueConstraint(fields=["institution"], condition=models.Q(status="pending"),
                                    name="batch_one_pending"),
        ]


class Attempt(models.Model):
    """Every send of a batch, with its answer: the delivery history shown in the UI."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True)
    outcome = models.CharField(max_length=20)  # delivered, duplicate, gap, refused, error
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]


class Stream(models.Model):
    """Delivery position of one institution: every event up to `acked_seq` is held by the
    receiver (its receipt says so)."""

    institution = models.OneToOneField(Institution, on_delete=models.PROTECT, primary_key=True, related_name="+")
    acked_seq = models.BigIntegerField(default=0)
    acked_at = models.DateTimeField(null=True, blank=True)


class ReconStatus(models.TextChoices):
    MATCH = "match", _("Totals match")
    MISMATCH = "mismatch", _("Mismatch")
    ERROR = "error", _("Receiver unavailable")


class Reconciliation(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    up_to_seq = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=ReconStatus.choices)
    compared = models.IntegerField(default=0)  # (account, period) cells compared
    # [{"period": "2026-03", "account": "1010", "ledger_debit": "…", "receiver_debit": "…", …}]
    mismatches = models.JSONField(default=list)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")

    class Meta:
        ordering = ["-at"]
