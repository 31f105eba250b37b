"""Scanners and the raw scan store.

Guarantees (the database holds them, not only the services):
- a device belongs to one institution; its API token is stored only as a SHA-256 hash
  (`token_hash`, unique), so a copy of the database does not hand out working tokens
- `Scan` is append-only (triggers refuse UPDATE, DELETE, TRUNCATE): what a scanner sent is
  kept as it arrived, flagged, for review and audit
- UNIQUE (device, seq): a scan resent by an agent (lost acknowledgement, queue replay) is
  stored and counted once; UNIQUE (institution, ref) does the same for the scan page and
  batch files, whose scans have no device sequence
- a review of a flagged scan is a separate row (one per scan), so the scan itself never changes
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from access.triggers import refuse_change, refuse_truncate


class DeviceKind(models.TextChoices):
    SERIAL = "serial", _("Serial scanner (agent)")
    WEDGE = "wedge", _("Keyboard-wedge scanner (scan page)")
    BATCH = "batch", _("Data-collection terminal (batch files)")


class Parity(models.TextChoices):
    NONE = "N", _("None")
    EVEN = "E", _("Even")
    ODD = "O", _("Odd")
    MARK = "M", _("Mark")
    SPACE = "S", _("Space")


class Terminator(models.TextChoices):
    CR = "CR", "CR"
    LF = "LF", "LF"
    CRLF = "CRLF", "CRLF"
    TAB = "TAB", "TAB"


TERMINATOR_BYTES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}
CODEPAGES = ["ascii", "utf-8", "cp1251", "cp866", "latin-1"]
BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]


class Device(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="devices")
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=DeviceKind.choices, default=DeviceKind.SERIAL)
    port = models.CharField(_("serial port"), max_length=200, blank=True, default="")
    baud = models.PositiveIntegerField(_("baud rate"), default=9600)
    parity = models.CharField(_("parity"), max_length=1, choices=Parity.choices, default=Parity.NONE)
    prefix = models.CharField(_("prefix"), max_length=10, blank=True, default="")
    suffix = models.CharField(_("suffix"), max_length=10, blank=True, default="")
    terminator = models.CharField(_("terminator"), max_length=4, choices=Terminator.choices, default=Terminator.CR)
    codepage = models.CharField(_("codepage"), max_length=20, default="ascii")
    token_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    token_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("scanner")
        verbose_name_plural = _("scanners")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "label"], name="device_label_unique"),
            models.UniqueConstraint(fields=["token_hash"], condition=~models.Q(token_hash=""),
                                    name="device_token_unique"),
            models.CheckConstraint(condition=models.Q(baud__gt=0), name="device_baud_positive"),
            models.CheckConstraint(condition=models.Q(terminator__in=list(TERMINATOR_BYTES)),
                                   name="device_terminator_known"),
        ]

    def __str__(self):
        return self.label

    @property
    def active(self) -> bool:
        return bool(self.token_hash) and self.revoked_at is None


class Source(models.TextChoices):
    AGENT = "agent", _("Agent (serial)")
    WEDGE = "wedge", _("Scan page")
    BATCH = "batch", _("Batch file")


class Flag(models.TextChoices):
    """What the scan turned out to be. The first six come from the count
    (inventory.counting.ScanOutcome.status); the rest are decided here before the count sees it."""

    FOUND = "found", _("Found")
    REPEATED = "repeated", _("Repeated scan")
    OTHER_LOCATION = "other_location", _("Found in another location")
    UNKNOWN = "unknown", _("Unknown code")
    OTHER_INSTITUTION = "other_institution", _("Code of another institution")
    COUNT_CLOSED = "count_closed", _("Count already closed")
    NO_COUNT = "no_count", _("No open count")
    NOISE = "noise", _("Noise")
    PARTIAL = "partial", _("Partial line")
    BAD_CHECK_DIGIT = "bad_check_digit", _("Wrong EAN check digit")
    ERROR = "error", _("Not processed")


# Flags that need a person's look: everything except a clean find and a harmless repeat.
REVIEW_FLAGS = [f for f in Flag.values if f not in (Flag.FOUND, Flag.REPEATED)]


class BatchFile(models.Model):
    """A dump from a data-collection terminal, accepted whole (refused files leave no row)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True, related_name="batches")
    name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    count_id = models.BigIntegerField(_("count"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("batch file")
        verbose_name_plural = _("batch files")
        constraints = [models.UniqueConstraint(fields=["institution", "count_id", "sha256"],
                                               name="batch_file_once_per_count")]


class Scan(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True, related_name="scans")
    seq = models.BigIntegerField(_("sequence number"), null=True, blank=True)
    ref = models.CharField(max_length=80)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    raw = models.CharField(_("as received"), max_length=300)
    code = models.CharField(_("code"), max_length=128, blank=True, default="")
    # The count and location are inventory's rows; plain ids keep the raw store independent
    # of the count's tables (a scan is kept even when no count was open).
    count_id = models.BigIntegerField(null=True, blank=True)
    location_id = models.BigIntegerField(null=True, blank=True)
    flag = models.CharField(_("result"), max_length=20, choices=Flag.choices, db_index=True)
    message = models.CharField(_("message"), max_length=300, blank=True, default="")
    asset_id = models.BigIntegerField(null=True, blank=True)
    scanned_at = models.DateTimeField(_("scanned at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    batch = models.ForeignKey(BatchFile, on_delete=models.PROTECT, null=True, blank=True, related_name="scans")

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "seq"], name="scan_device_seq_once"),
            models.UniqueConstraint(fields=["institution", "ref"], name="scan_ref_once"),
            models.CheckConstraint(condition=models.Q(source="agent", device__isnull=False, seq__isnull=False)
                                   | ~models.Q(source="agent"), name="scan_agent_has_device_seq"),
        ]
        indexes = [models.Index(fields=["institution", "flag", "-received_at"], name="scan_inst_flag")]
        triggers = [
            refuse_change("scan_append_only", "scan"),
            refuse_truncate("scan_no_truncate"),
        ]

    def __str__(self):
        return f"{self.ref} {self.code} {self.flag}"


class ScanReview(models.Model):
    scan = models.OneToOneField(Scan, on_delete=models.PROTECT, related_name="review")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(_("note"), max_length=500)

    class Meta:
        verbose_name = _("scan review")
        verbose_name_plural = _("scan reviews")
