"""Counterparties from the legal-entities registry (R19): an adapter and the import service.

`RegistrySource` is the whole interface the ledger needs from a registry: look one BIN/IIN up,
or list every record of an extract. `ExtractFileSource` reads an extract file in the XML layout
of docs/exchange/legal-entities-registry.md; a live registry service is another class with the
same two methods, and nothing else changes. `RecordsSource` wraps records already in memory
(the demo generator, tests).

`import_counterparties()` is the one door for registry imports:
- all-or-nothing: every record is checked (BIN/IIN check digit, names, lengths, dates, status,
  duplicates) before anything is written, in one transaction; the error names the record
  (its position in the extract and its line) and the field
- idempotent: a record equal to the institution's counterparty changes nothing; a changed name
  or address is updated through save(), so django-auditlog records it
- journalled: one action-journal row (action "create", object "counterparty") per import
"""

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors
from access.identifiers import validate_bin, validate_iin, validate_iin_or_bin
from access.models import Action, Institution
from access.roles import Capability, capabilities_of
from access.services import log_action, require, roles_in

from .models import Counterparty

FORMAT = "esep-legal-entities/1"
RECORDS_PER_IMPORT_MAX = 50_000  # a region's suppliers fit many times over; one transaction stays small
EXTRACT_BYTES_MAX = 50 * 1024 * 1024  # ~500 bytes a record at the record limit, with room to spare
NAME_MAX = 300  # Counterparty.name
ADDRESS_MAX = 300  # Counterparty.address
SOURCE_MAX = 40  # Counterparty.source


class RegistryStatus:
    ACTIVE = "active"  # действующий
    SUSPENDED = "suspended"  # деятельность приостановлена
    LIQUIDATED = "liquidated"  # ликвидирован / снят с учёта
    ALL = (ACTIVE, SUSPENDED, LIQUIDATED)


@dataclass(frozen=True)
class RegistryRecord:
    """One legal entity (BIN) or individual entrepreneur (IIN) as the registry states it.

    `row` is the record's position in its extract (1-based) and `line` the line it starts on,
    so an error can point back to the source; both are 0 for a record from a live service."""

    iin_bin: str
    name_ru: str
    name_kk: str = ""
    address: str = ""
    registered_on: dt.date | None = None
    status: str = RegistryStatus.ACTIVE
    row: int = 0
    line: int = 0
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The name a counterparty keeps (the directory has one name column): Russian, else Kazakh."""
        return self.name_ru or self.name_kk


@runtime_checkable
class RegistrySource(Protocol):
    """What the ledger needs from a legal-entities registry."""

    label: str  # kept in Counterparty.source (at most 40 characters): which extract or service

    def lookup(self, iin_bin: str) -> RegistryRecord | None:
        """The registry's record for one BIN/IIN, or None if the registry does not know it."""

    def records(self) -> Iterable[RegistryRecord]:
        """Every record the source offers (an extract file: all of it)."""


class RegistryFormatError(ControlError):
    """The extract is not readable as the documented layout at all (not XML, wrong root…)."""


class RecordsSource:
    """Records already in memory (the demo generator, tests, a service's batch answer)."""

    def __init__(self, records: Iterable[RegistryRecord], label: str = "registry"):
        self._records = list(records)
        self._index = {r.iin_bin: r for r in self._records}
        self.label = label[:SOURCE_MAX]

    def lookup(self, iin_bin: str) -> RegistryRecord | None:
        return self._index.get(iin_bin)

    def records(self) -> list[RegistryRecord]:
        return list(self._records)


# Element names of the XML layout (docs/exchange/legal-entities-registry.md) → record fields.
FIELDS = {"bin": "iin_bin", "iin": "iin_bin", "name_ru": "name_ru", "name_kk": "name_kk", "address": "address",
          "registered": "registered_on", "status": "status"}


class ExtractFileSource:
    """A registry extract file in the XML layout `esep-legal-entities/1`.

    The file is parsed once, on first use, with expat: a DOCTYPE (and so any entity
    declaration) is refused, which closes the XML entity-expansion attacks. Values are kept
    as text; import_counterparties() checks them, so a bad value is reported, not raised here."""

    def __init__(self, path: Path | str, label: str | None = None):
        self.path = Path(path)
        self.label = (label or f"registry:{self.path.name}")[:SOURCE_MAX]
        self._records: list[RegistryRecord] | None = None
        self.issued: str = ""

    def records(self) -> list[RegistryRecord]:
        if self._records is None:
            self._records = list(self._parse())
        return list(self._records)

    def lookup(self, iin_bin: str) -> RegistryRecord | None:
        return next((r for r in self.records() if r.iin_bin == iin_bin), None)

    def _parse(self) -> Iterator[RegistryRecord]:
        size = self.path.stat().st_size
        if size > EXTRACT_BYTES_MAX:
            raise RegistryFormatError("registry_too_large", _("The extract is larger than %(max)s bytes.")
                                      % {"max": EXTRACT_BYTES_MAX})
        parser = expat.ParserCreate("UTF-8")
        records: list[RegistryRecord] = []
        state: dict = {"depth": 0, "current": None, "field": None, "text": [], "line": 0, "root": None}

        def refuse_doctype(*_args):
            raise RegistryFormatError("registry_doctype", _("The extract may not contain a DOCTYPE."))

        def start(tag, attrs):
            state["depth"] += 1
            depth = state["depth"]
            if depth == 1:
                state["root"] = tag
                if tag != "extract" or attrs.get("format") != FORMAT:
                    raise RegistryFormatError(
                        "registry_format",
                        _("The extract must have the root element <extract format=\"%(format)s\">.")
                        % {"format": FORMAT},
                    )
                self.issued = attrs.get("issued", "")
            elif depth == 2 and tag == "entity":
                state["current"] = {}
                state["line"] = parser.CurrentLineNumber
            elif depth == 3 and state["current"] is not None:
                state["field"] = tag
                state["text"] = []

        def end(tag):
            depth = state["depth"]
            state["depth"] -= 1
            if depth == 3 and state["current"] is not None and state["field"] is not None:
                value = "".join(state["text"]).strip()
                state["current"][tag] = value
                state["field"] = None
            elif depth == 2 and tag == "entity":
                raw = state["current"]
                records.append(_record_from_xml(raw, row=len(records) + 1, line=state["line"]))
                state["current"] = None
                if len(records) > RECORDS_PER_IMPORT_MAX:
                    raise RegistryFormatError("registry_too_many", _("At most %(max)s records may be imported at once.")
                                              % {"max": RECORDS_PER_IMPORT_MAX})

        def chars(data):
            if state["field"] is not None:
                state["text"].append(data)

        parser.StartDoctypeDeclHandler = refuse_doctype
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = chars
        try:
            with self.path.open("rb") as handle:
                parser.ParseFile(handle)
        except expat.ExpatError as exc:
            raise RegistryFormatError(
                "registry_xml", _("The extract is not well-formed XML: %(error)s (line %(line)s).")
                % {"error": expat.ErrorString(exc.code), "line": exc.lineno},
            ) from None
        return iter(records)


def _record_from_xml(raw: dict, *, row: int, line: int) -> RegistryRecord:
    """Text values as found; the date is parsed here only if it is a date (checked later)."""
    number = raw.get("bin") or raw.get("iin") or ""
    registered = raw.get("registered", "")
    try:
        registered_on = dt.date.fromisoformat(registered) if registered else None
    except ValueError:
        registered_on = None
    return RegistryRecord(
        iin_bin=number, name_ru=raw.get("name_ru", ""), name_kk=raw.get("name_kk", ""),
        address=raw.get("address", ""), registered_on=registered_on, status=raw.get("status", ""),
        row=row, line=line, raw=raw,
    )


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_liquidated: int = 0
    counterparties: list[Counterparty] = field(default_factory=list)

    def __str__(self):
        return (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.skipped_liquidated} liquidated skipped")


def _where(record: RegistryRecord, index: int) -> str:
    row = record.row or index
    return f"record {row}" + (f" (line {record.line})" if record.line else "")


def check_records(records: list[RegistryRecord]) -> list[ControlError]:
    """Every problem of every record, each naming the record and the field."""
    errors: list[ControlError] = []

    def error(record, index, field_name, code, message):
        row = record.row or index
        errors.append(ControlError(
            code, f"{_where(record, index)}, {field_name}: {message}", field=f"records[{row}].{field_name}",
            row=row, line=record.line,
        ))

    seen: dict[str, int] = {}
    for index, record in enumerate(records, start=1):
        number_field = "iin" if "iin" in record.raw else "bin" if "bin" in record.raw else "iin_bin"
        validate = {"bin": validate_bin, "iin": validate_iin}.get(number_field, validate_iin_or_bin)
        try:
            validate(record.iin_bin)
            validate_iin_or_bin(record.iin_bin)  # what the directory itself requires
        except ValidationError as exc:
            error(record, index, number_field, exc.error_list[0].code or "iin_bin_invalid",
                  f"{record.iin_bin!r}: {' '.join(str(m) for m in exc.messages)}")
        else:
            if record.iin_bin in seen:
                error(record, index, number_field, "registry_duplicate",
                      _("the same BIN/IIN as record %(row)s") % {"row": seen[record.iin_bin]})
            seen.setdefault(record.iin_bin, record.row or index)
        if not record.name:
            error(record, index, "name_ru", "required", _("a name is required (name_ru or name_kk)"))
        for field_name, limit in (("name_ru", NAME_MAX), ("name_kk", NAME_MAX), ("address", ADDRESS_MAX)):
            value = getattr(record, field_name)
            if len(value) > limit:
                error(record, index, field_name, "max_length",
                      _("at most %(max)s characters, got %(n)s") % {"max": limit, "n": len(value)})
        registered = record.raw.get("registered", "")
        if registered and (record.registered_on is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
                                                                              registered)):
            error(record, index, "registered", "date",
                  _("a date YYYY-MM-DD expected, got %(value)r") % {"value": registered})
        if record.status not in RegistryStatus.ALL:
            error(record, index, "status", "choice", _("one of %(choices)s expected, got %(value)r")
                  % {"choices": ", ".join(RegistryStatus.ALL), "value": record.status})
    return errors


def import_counterparties(institution: Institution, source: RegistrySource, actor, *, request=None,
                          include_liquidated: bool = False) -> ImportReport:
    """Create or update the institution's counterparties from a registry source, all-or-nothing.

    A liquidated entity is not added to the directory unless `include_liquidated`; one already
    there is kept and brought up to date (its postings still name it). Needs the right to post entries or to
    edit reference data in the institution."""
    caps = capabilities_of(roles_in(actor, institution))
    if Capability.POST_ENTRY not in caps and Capability.EDIT_REFERENCE not in caps:
        require(actor, institution, Capability.POST_ENTRY, request=request, action=Action.CREATE,
                object_type="counterparty")
    records = list(source.records())
    if len(records) > RECORDS_PER_IMPORT_MAX:
        raise ControlError("registry_too_many", _("At most %(max)s records may be imported at once.")
                           % {"max": RECORDS_PER_IMPORT_MAX})
    errors = check_records(records)
    if errors:
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]
    report = ImportReport()
    label = source.label[:SOURCE_MAX]
    with transaction.atomic():
        existing = {
            c.iin_bin: c
            for c in Counterparty.objects.select_for_update().filter(
                institution=institution, iin_bin__in=[r.iin_bin for r in records])
        }
        for record in records:
            counterparty = existing.get(record.iin_bin)
            if counterparty is None:
                if record.status == RegistryStatus.LIQUIDATED and not include_liquidated:
                    report.skipped_liquidated += 1
                    continue
                counterparty = Counterparty(institution=institution, iin_bin=record.iin_bin, name=record.name,
                                            address=record.address, source=label)
                counterparty.full_clean(validate_unique=False, validate_constraints=False)
                counterparty.save()
                report.created += 1
            elif (counterparty.name, counterparty.address) != (record.name, record.address):
                counterparty.name, counterparty.address, counterparty.source = record.name, record.address, label
                counterparty.save(update_fields=["name", "address", "source"])
                report.updated += 1
            else:
                report.unchanged += 1
            report.counterparties.append(counterparty)
        ids = sorted(c.id for c in report.counterparties)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="counterparty", object_id=f"{ids[0]}..{ids[-1]}" if ids else "",
                   details=f"{label}: {report}")
    return report
