"""Batch files from data-collection terminals (docs/exchange/scanner-batch.md).

The file is read whole and checked before anything is written: every problem is collected
(esep.imports.Problems) and a file with any is refused with all of them. A clean file is
recorded in one transaction, each line as a scan of the count (source "batch"), so unknown
codes, codes of another institution and repeats are flagged by the count like any scan. The
same file (by SHA-256) loads once per count.
"""

import csv
import datetime as dt
import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError
from access.models import Action
from access.roles import Capability
from access.services import log_action, require
from esep.imports import Problems

from .codes import CODE_MAX, classify
from .models import BatchFile, Device, Source

ROWS_MAX = 100_000
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M")


@dataclass
class Row:
    number: int
    code: str
    scanned_at: dt.datetime | None = None
    location_id: int | None = None


@dataclass
class BatchResult:
    batch: BatchFile
    outcomes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"id": self.batch.pk, "name": self.batch.name, "rows": self.batch.rows, "count": self.batch.count_id,
                "outcomes": dict(self.outcomes)}


def decode(content: bytes, codepage: str, problems: Problems) -> str | None:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    for encoding in ("utf-8", codepage):
        try:
            return content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    problems.add("BATCH-007", _("The file is neither UTF-8 nor in the terminal's codepage %(cp)s.") % {"cp": codepage},
                 column="file")
    return None


def parse_time(text: str) -> dt.datetime | None:
    for fmt in TIME_FORMATS:
        try:
            moment = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return timezone.make_aware(moment)
    return None


def _delimiter(line: str) -> str:
    return max(";,\t", key=line.count) if any(d in line for d in ";,\t") else ";"


def parse(text: str, *, locations: dict[str, int], problems: Problems) -> list[Row]:
    """Rows of a CSV (header line naming `code`) or TXT (code [sep time] per line) dump."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        problems.add("BATCH-008", _("The file is empty."), column="file")
        return []
    if len(lines) > ROWS_MAX + 1:
        problems.add("BATCH-009", _("The file has more than %(n)s lines.") % {"n": ROWS_MAX}, column="file")
        return []
    delimiter = _delimiter(lines[0])
    first = [c.strip().lower() for c in next(csv.reader([lines[0]], delimiter=delimiter))]
    if "code" in first:
        columns, body, start = first, lines[1:], 2
        for name in columns:
            if name not in ("code", "scanned_at", "location", "seq", ""):
                problems.add("BATCH-006", _("Unknown column %(name)s: use code, scanned_at, location, seq.")
                             % {"name": name}, row=1, column=name, value=name)
    else:
        # no header: code [separator time]; the separator is the first one any line uses
        delimiter = _delimiter(next((line for line in lines if any(d in line for d in ";,\t")), ""))
        columns, body, start = ["code", "scanned_at"], lines, 1
    rows = []
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter)
    for number, cells in enumerate(reader, start=start):
        if not any(c.strip() for c in cells):
            continue
        values = dict(zip(columns, (c.strip() for c in cells)))
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
            problems.add("BATCH-010", _("More values than columns."), row=number, value=delimiter.join(cells))
            continue
        code = values.get("code", "")
        row = Row(number, code)
        _code, flag = classify(code)
        if not code:
            problems.add("BATCH-001", _("The code is empty."), row=number, column="code")
        elif flag == "noise":
            problems.add("BATCH-002", _("The code has control characters or is longer than %(n)s characters.")
                         % {"n": CODE_MAX}, row=number, column="code", value=code)
        elif flag == "bad_check_digit":
            problems.add("BATCH-003", _("Wrong EAN check digit."), row=number, column="code", value=code)
        when = values.get("scanned_at", "")
        if when:
            row.scanned_at = parse_time(when)
            if row.scanned_at is None:
                problems.add("BATCH-004", _("Time not understood: write YYYY-MM-DD HH:MM:SS or DD.MM.YYYY HH:MM:SS."),
                             row=number, column="scanned_at", value=when)
        place = values.get("location", "")
        if place:
            row.location_id = locations.get(place.lower())
            if row.location_id is None:
                problems.add("BATCH-005", _("No such location in the count."), row=number, column="location",
                             value=place)
        rows.append(row)
    return rows


def upload(*, actor, institution, count_id: int, name: str, content: bytes, device: Device | None = None,
           request=None) -> BatchResult:
    from inventory import counting

    from . import services

    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="scan batch")
    count = counting.open_counts(institution).filter(pk=count_id).first()
    if count is None:
        raise ControlError("count_not_open", _("The count is not open in this institution."), field="count")
    locations = {}
    for place in counting.count_progress(count):
        locations[str(place["location_id"])] = place["location_id"]
        locations[str(place["name"]).lower()] = place["location_id"]
        locations[str(place.get("code", "")).lower()] = place["location_id"]
    problems = Problems()
    text = decode(content, device.codepage if device and device.codepage != "ascii" else "cp1251", problems)
    rows = parse(text, locations=locations, problems=problems) if text is not None else []
    problems.raise_if_any()
    digest = hashlib.sha256(content).hexdigest()
    if BatchFile.objects.filter(institution=institution, count_id=count.pk, sha256=digest).exists():
        raise ControlError("already_loaded", _("This file has already been loaded into this count."), field="file")
    try:
        with transaction.atomic():
            batch_file = BatchFile.objects.create(institution=institution, device=device, name=name[:255],
                                                  sha256=digest, rows=len(rows), count_id=count.pk,
                                                  uploaded_by=actor)
            result = BatchResult(batch_file)
            for row in rows:
                answer = services.record(institution=institution, source=Source.BATCH, raw=row.code, device=device,
                                         ref=f"b{batch_file.pk}:{row.number}", count=count,
                                         location_id=row.location_id, scanned_at=row.scanned_at, user=actor,
                                         batch=batch_file)
                result.outcomes[answer.scan.flag] += 1
            log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                       object_type="scan batch", object_id=batch_file.pk,
                       details=f"{name}: {len(rows)} rows, count {count.pk}, {dict(result.outcomes)}")
    except IntegrityError:  # the same file uploaded twice at once
        raise ControlError("already_loaded", _("This file has already been loaded into this count."),
                           field="file") from None
    return result
