"""The one door for writes to devices: the registry, tokens, scans, batch files, reviews.

A scan's path: classify the line (devices.codes) → find the count → inventory.counting.record_scan
→ append the raw scan with its outcome, all in one transaction, idempotent by (device, seq) or
by the scan's ref. Nothing here raises on a bad line: a line that cannot count is stored
flagged and answered with its flag, so an agent or a page never stops on input.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors
from access.models import Action
from access.roles import Capability
from access.services import log_action, require

from .codes import classify
from .models import CODEPAGES, BatchFile, Device, DeviceKind, Flag, Scan, ScanReview, Source

log = logging.getLogger(__name__)
TOKEN_BYTES = 32
EDITABLE = ("label", "kind", "port", "baud", "parity", "prefix", "suffix", "terminator", "codepage")


def hash_token(token: str) -> str:
    # The token is 256 random bits, so a plain SHA-256 cannot be brute-forced; a slow hash
    # would cost every scan request its time for nothing.
    return hashlib.sha256(token.encode()).hexdigest()


def _validate(device: Device) -> None:
    errors = []
    if not device.label.strip():
        errors.append(ControlError("required", _("The label is required."), field="label"))
    elif Device.objects.filter(institution=device.institution, label=device.label).exclude(pk=device.pk).exists():
        errors.append(ControlError("duplicate", _("A scanner with this label already exists."), field="label"))
    try:
        "".encode(device.codepage)
        if device.codepage not in CODEPAGES:
            raise LookupError(device.codepage)
    except LookupError:
        errors.append(ControlError("codepage", _("Unknown codepage: choose one of %(list)s.")
                                   % {"list": ", ".join(CODEPAGES)}, field="codepage"))
    if device.kind == DeviceKind.SERIAL and device.baud <= 0:
        errors.append(ControlError("baud", _("The baud rate must be positive."), field="baud"))
    if errors:
        raise ControlErrors(errors)


@transaction.atomic
def create_device(*, actor, institution, label: str, kind: str = DeviceKind.SERIAL, request=None,
                  **settings) -> tuple[Device, str]:
    """A new scanner and its first API token (returned once, stored only hashed)."""
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="device")
    device = Device(institution=institution, label=label.strip(), kind=kind,
                    **{k: v for k, v in settings.items() if k in EDITABLE})
    _validate(device)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    device.token_hash = hash_token(token)
    device.token_issued_at = timezone.now()
    device.save()
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution, object_type="device",
               object_id=device.pk, details=f"{device.label} ({device.kind})")
    return device, token


@transaction.atomic
def update_device(*, actor, device: Device, request=None, **fields) -> Device:
    require(actor, device.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="device")
    for name, value in fields.items():
        if name in EDITABLE:
            setattr(device, name, value.strip() if name == "label" else value)
    _validate(device)
    device.save()
    log_action(actor=actor, action=Action.EDIT, request=request, institution=device.institution,
               object_type="device", object_id=device.pk, details=", ".join(sorted(fields)))
    return device


@transaction.atomic
def issue_token(*, actor, device: Device, request=None) -> str:
    """A new token; the previous one stops working at once."""
    require(actor, device.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="device")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    device.token_hash = hash_token(token)
    device.token_issued_at = timezone.now()
    device.revoked_at = None
    device.save(update_fields=["token_hash", "token_issued_at", "revoked_at"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=device.institution,
               object_type="device", object_id=device.pk, details="token issued")
    return token


@transaction.atomic
def revoke_token(*, actor, device: Device, request=None) -> None:
    require(actor, device.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="device")
    device.token_hash = ""
    device.revoked_at = timezone.now()
    device.save(update_fields=["token_hash", "revoked_at"])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=device.institution,
               object_type="device", object_id=device.pk, details="token revoked")


def with_activity(devices):
    """Devices with last_seq and last_seen_at read from the scan store (the unique index on
    (device, seq) answers it), instead of an UPDATE of the device row at every scan."""
    from django.db.models import Max

    return devices.annotate(last_seq=Max("scans__seq"), last_seen_at=Max("scans__received_at"))


def device_for_token(token: str) -> Device | None:
    if not token:
        return None
    return (Device.objects.select_related("institution")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True).first())


# ---- counts -------------------------------------------------------------------------------

def _counting():
    from inventory import counting

    return counting


def find_count(institution, count_id: int | None):
    """The count a scan goes to: the one named (open or not: a closed count answers
    count_closed itself), or the only open count of the institution. None when none is open
    or several are and none was named."""
    counting = _counting()
    opened = counting.open_counts(institution)
    if count_id is not None:
        return opened.model.objects.filter(institution=institution, pk=count_id).first()
    candidates = list(opened[:2])
    return candidates[0] if len(candidates) == 1 else None


def _location_exists(institution, location_id: int) -> bool:
    from inventory.models import Location

    return Location.objects.filter(institution=institution, pk=location_id).exists()


@dataclass
class Answer:
    """The acknowledgement of one scan."""

    scan: Scan
    duplicate: bool
    asset_name: str = ""
    found: int | None = None
    expected: int | None = None

    def as_dict(self) -> dict:
        return {"seq": self.scan.seq, "ref": self.scan.ref, "id": self.scan.pk, "code": self.scan.code,
                "status": self.scan.flag, "message": self.scan.message, "duplicate": self.duplicate,
                "asset_id": self.scan.asset_id, "asset_name": self.asset_name, "found": self.found,
                "expected": self.expected}


FLAG_MESSAGES = {
    Flag.NOISE: lambda: _("Not a code: noise on the line."),
    Flag.PARTIAL: lambda: _("Partial line: scan again."),
    Flag.BAD_CHECK_DIGIT: lambda: _("Wrong EAN check digit: scan again."),
    Flag.NO_COUNT: lambda: _("No open count to record the scan in."),
}


def record(*, institution, source: str, raw: str, partial: bool = False, noise: bool = False,
           device: Device | None = None, seq: int | None = None, ref: str | None = None, count_id: int | None = None,
           location_id: int | None = None, scanned_at=None, user=None, batch: BatchFile | None = None,
           count=None) -> Answer:
    """Record one scan once. A resend (same device and seq, or same ref) answers the stored
    outcome with duplicate=True and changes nothing."""
    if ref is None:
        if device is None or seq is None:
            raise ValueError("a scan needs a ref or a device and a sequence number")
        ref = f"d{device.pk}:{seq}"
    existing = Scan.objects.filter(institution=institution, ref=ref).first()
    if existing is not None:
        return Answer(existing, True)
    raw = (raw or "")[:300]
    code, flag = classify(raw, partial=partial, noise=noise)
    # PostgreSQL text cannot hold NUL; the stored line shows it as the visible symbol ␀
    raw, code = raw.replace("\x00", "\u2400"), code.replace("\x00", "\u2400")
    message, asset_id, answer_extra = "", None, {}
    try:
        with transaction.atomic():
            if flag is None and location_id is not None and not _location_exists(institution, location_id):
                flag, message = Flag.ERROR, _("No such location in this institution.")
            if flag is None:
                if count is None:
                    count = find_count(institution, count_id)
                if count is None:
                    flag = Flag.NO_COUNT
                else:
                    count_id = count.pk
                    try:
                        with transaction.atomic():
                            outcome = _counting().record_scan(
                                count=count, code=code, location_id=location_id, scan_ref=ref,
                                device_label=device.label if device else (user.username if user else ""),
                                scanned_at=scanned_at)
                    except IntegrityError:
                        raise
                    except Exception as exc:  # the count refused in a way it should not: keep the scan
                        log.exception("record_scan failed for %s", ref)
                        flag, message = Flag.ERROR, str(exc)[:300]
                    else:
                        flag, message, asset_id = outcome.status, str(outcome.message or "")[:300], outcome.asset_id
                        answer_extra = {"asset_name": outcome.asset_name or "", "found": outcome.found,
                                        "expected": outcome.expected}
            if not message and flag in FLAG_MESSAGES:
                message = str(FLAG_MESSAGES[flag]())
            scan = Scan.objects.create(
                institution=institution, device=device, seq=seq, ref=ref, source=source, raw=raw, code=code,
                count_id=count_id, location_id=location_id, flag=flag, message=message, asset_id=asset_id,
                scanned_at=scanned_at, user=user, batch=batch)
    except IntegrityError:
        # the same scan arrived twice at once; the first one's transaction won
        existing = Scan.objects.filter(institution=institution, ref=ref).first()
        if existing is None:
            raise
        return Answer(existing, True)
    return Answer(scan, False, **answer_extra)


@transaction.atomic
def review_scan(*, actor, scan: Scan, note: str, request=None) -> ScanReview:
    require(actor, scan.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="scan")
    if not (note or "").strip():
        raise ControlError("required", _("Write what was done about the scan."), field="note")
    if ScanReview.objects.filter(scan=scan).exists():
        raise ControlError("already_reviewed", _("This scan has already been reviewed."), field="note")
    review = ScanReview.objects.create(scan=scan, reviewer=actor, note=note.strip()[:500])
    log_action(actor=actor, action=Action.EDIT, request=request, institution=scan.institution, object_type="scan",
               object_id=scan.pk, details=f"reviewed: {note[:200]}")
    return review


__all__ = ["Answer", "Source", "create_device", "update_device", "issue_token", "revoke_token", "record",
           "review_scan", "device_for_token", "find_count", "hash_token"]
