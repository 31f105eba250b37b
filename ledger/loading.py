"""Load the ledger's reference data from the CSV files in ledger/data (R18).

Guarantees:
- all-or-nothing: every file is read and every row checked before anything is written, and the
  writes run in one transaction; one bad row means nothing is written, and the error names the
  file, the row (line number, header = 1), the column and the rule
- idempotent: a second run over the same files changes nothing (no save, no audit record)
- a row whose values differ from the file is updated through `Model.save()`, so django-auditlog
  records the change; a new row is created the same way
- nothing is ever deleted: rows in the database that the files do not name stay as they are
  (the tables refuse DELETE anyway)

Files and columns are described in ledger/data/README.md. `functional.csv` has no model: the
functional group and subgroup are fields of BudgetProgramme, so the file is only read to check
that each programme's group and subgroup exist in it.
"""

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .models import Account, AccountKind, AccountSpecific, BudgetProgramme, FundingSource, RefStatus, Specific

DEFAULT_PATH = Path(__file__).resolve().parent / "data"
FILES = ("accounts.csv", "specifics.csv", "functional.csv", "programmes.csv", "funding_sources.csv",
         "correspondence.csv")
ROWS_PER_FILE_MAX = 10_000  # the whole chart is ~100 rows; a bigger file is not a reference file
NAME_MAX = 300
SOURCE_MAX = 200

DATED = ("valid_from", "valid_to", "source", "status")
COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts.csv": ("code", "name_ru", "name_kk", "section", "kind", "is_cash", *DATED),
    "specifics.csv": ("code", "category", "class", "subclass", "name_ru", "name_kk", *DATED),
    "functional.csv": ("group", "subgroup", "name_ru", "name_kk", *DATED),
    "programmes.csv": ("administrator", "group", "subgroup", "programme", "subprogramme", "name_ru", "name_kk",
                       *DATED),
    "funding_sources.csv": ("code", "name_ru", "name_kk"),
    "correspondence.csv": ("account", "specific", *DATED),
}


@dataclass(frozen=True)
class LoadError:
    file: str
    row: int  # line number in the file; the header is line 1
    column: str
    rule: str
    message: str

    def __str__(self):
        return f"{self.file}, row {self.row}, column {self.column}: {self.message} [{self.rule}]"


class ReferenceLoadError(Exception):
    """The files were refused; nothing was written. `errors` lists every problem found."""

    def __init__(self, errors: list[LoadError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self):
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class LoadReport:
    counts: dict[str, Counts] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())


@dataclass(frozen=True)
class Row:
    """One parsed CSV row: the file, its line and its values by column."""

    file: str
    line: int
    values: dict[str, str]


class _Checker:
    """Collects errors while the parsed values of one file are checked row by row."""

    def __init__(self):
        self.errors: list[LoadError] = []

    def error(self, row: Row, column: str, rule: str, message: str) -> None:
        self.errors.append(LoadError(row.file, row.line, column, rule, message))

    def code(self, row: Row, column: str, pattern: str, what: str) -> str | None:
        value = row.values[column]
        if not re.fullmatch(pattern, value):
            self.error(row, column, "format", f"{what} expected, got {value!r}")
            return None
        return value

    def text(self, row: Row, column: str, max_length: int, required: bool = True) -> str:
        value = row.values[column]
        if required and not value:
            self.error(row, column, "required", "a value is required")
        elif len(value) > max_length:
            self.error(row, column, "max_length", f"at most {max_length} characters, got {len(value)}")
        return value

    def date(self, row: Row, column: str, required: bool) -> dt.date | None:
        value = row.values[column]
        if not value:
            if required:
                self.error(row, column, "required", "a date (YYYY-MM-DD) is required")
            return None
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            self.error(row, column, "date", f"a date YYYY-MM-DD expected, got {value!r}")
            return None

    def choice(self, row: Row, column: str, choices: Iterable[str]) -> str | None:
        value = row.values[column]
        allowed = list(choices)
        if value not in allowed:
            self.error(row, column, "choice", f"one of {', '.join(allowed)} expected, got {value!r}")
            return None
        return value

    def dated(self, row: Row) -> dict:
        valid_from = self.date(row, "valid_from", required=True)
        valid_to = self.date(row, "valid_to", required=False)
        if valid_from and valid_to and valid_to < valid_from:
            self.error(row, "valid_to", "date_order", f"valid_to {valid_to} is before valid_from {valid_from}")
        return {
            "valid_from": valid_from,
            "valid_to": valid_to,
            "source": self.text(row, "source", SOURCE_MAX, required=False),
            "status": self.choice(row, "status", RefStatus.values),
        }

    def unique(self, seen: dict, key, row: Row, column: str) -> None:
        if key in seen:
            self.error(row, column, "duplicate", f"{key} repeats row {seen[key]}")
        else:
            seen[key] = row.line


def read_rows(path: Path, name: str) -> tuple[list[Row], list[LoadError]]:
    """The rows of one file, or the errors that make the file unreadable as a whole."""
    file = path / name
    if not file.is_file():
        return [], [LoadError(name, 0, "", "file_missing", f"file not found in {path}")]
    expected = COLUMNS[name]
    try:
        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return [], [LoadError(name, 1, "", "header_missing", "the file is empty")]
            header = [h.strip().lstrip("\ufeff") for h in header]
            missing = [c for c in expected if c not in header]
            if missing:
                return [], [LoadError(name, 1, c, "column_missing", "the header lacks this column") for c in missing]
            index = {c: header.index(c) for c in expected}
            rows, errors = [], []
            for values in reader:
                line = reader.line_num
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    errors.append(LoadError(name, line, "", "column_count",
                                            f"{len(header)} values expected, got {len(values)}"))
                    continue
                rows.append(Row(name, line, {c: values[i].strip() for c, i in index.items()}))
                if len(rows) > ROWS_PER_FILE_MAX:
                    return [], [LoadError(name, line, "", "too_many_rows", f"at most {ROWS_PER_FILE_MAX} rows")]
    except UnicodeDecodeError as exc:
        return [], [LoadError(name, 0, "", "encoding", f"the file is not UTF-8 ({exc.reason})")]
    except csv.Error as exc:
        return [], [LoadError(name, 0, "", "csv", str(exc))]
    return rows, errors


# Each parser turns the rows of a file into (natural key, field values, row) triples; the key
# finds the existing row, the values are what the row must hold.
Parsed = list[tuple[tuple, dict, Row]]


def parse_accounts(rows: list[Row], check: _Checker) -> Parsed:
    out, seen = [], {}
    for row in rows:
        code = check.code(row, "code", r"[0-9]{4}", "four digits")
        section = check.code(row, "section", r"[1-7]", "a section digit 1–7")
        if code and section and code[0] != section:
            check.error(row, "section", "section_matches_code", f"section {section} ≠ first digit of code {code}")
        is_cash = check.choice(row, "is_cash", ("0", "1"))
        values = {
            "name_ru": check.text(row, "name_ru", NAME_MAX), "name_kk": check.text(row, "name_kk", NAME_MAX),
            "section": int(section) if section else None, "kind": check.choice(row, "kind", AccountKind.values),
            "is_cash": is_cash == "1", **check.dated(row),
        }
        if code:
            check.unique(seen, code, row, "code")
            out.append(((code,), values, row))
    return out


def parse_specifics(rows: list[Row], check: _Checker) -> Parsed:
    out, seen = [], {}
    for row in rows:
        code = check.code(row, "code", r"[0-9]{3}", "three digits")
        digits = {c: check.code(row, c, r"[0-9]", "one digit") for c in ("category", "class", "subclass")}
        if code and all(digits.values()):
            # README: class = 1st digit, subclass = 2nd, category 1 (current) for classes 1–3, 2 for 4.
            expected = {"class": code[0], "subclass": code[1], "category": "2" if code[0] == "4" else "1"}
            for column, value in expected.items():
                if digits[column] != value:
                    check.error(row, column, "derived_from_code",
                                f"{column} of specific {code} must be {value}, got {digits[column]}")
        values = {
            "category": digits["category"], "class_code": digits["class"], "subclass": digits["subclass"],
            "name_ru": check.text(row, "name_ru", NAME_MAX), "name_kk": check.text(row, "name_kk", NAME_MAX),
            **check.dated(row),
        }
        if code:
            check.unique(seen, code, row, "code")
            out.append(((code,), values, row))
    return out


def parse_functional(rows: list[Row], check: _Checker) -> set[tuple[str, str]]:
    """(group, subgroup) pairs; a group itself is (group, "0")."""
    found, seen = set(), {}
    for row in rows:
        group = check.code(row, "group", r"[0-9]{2}", "two digits")
        subgroup = check.code(row, "subgroup", r"[0-9]", "one digit")
        check.text(row, "name_ru", NAME_MAX)
        check.text(row, "name_kk", NAME_MAX)
        check.dated(row)
        if group and subgroup:
            check.unique(seen, (group, subgroup), row, "subgroup")
            found.add((group, subgroup))
    for row in rows:
        group, subgroup = row.values["group"], row.values["subgroup"]
        if subgroup != "0" and (group, subgroup) in found and (group, "0") not in found:
            check.error(row, "group", "group_exists", f"group {group} has no row with subgroup 0")
    return found


def parse_programmes(rows: list[Row], check: _Checker, functional: set[tuple[str, str]] | None) -> Parsed:
    out, seen = [], {}
    for row in rows:
        codes = {c: check.code(row, c, r"[0-9]{3}", "three digits")
                 for c in ("administrator", "programme", "subprogramme")}
        group = check.code(row, "group", r"[0-9]{2}", "two digits")
        subgroup = check.code(row, "subgroup", r"[0-9]", "one digit")
        if functional is None:
            pass
        elif group and (group, "0") not in functional:
            check.error(row, "group", "functional_exists", f"functional group {group} is not in functional.csv")
        elif group and subgroup and (group, subgroup) not in functional:
            check.error(row, "subgroup", "functional_exists",
                        f"functional subgroup {group}.{subgroup} is not in functional.csv")
        values = {
            "functional_group": group, "functional_subgroup": subgroup,
            "name_ru": check.text(row, "name_ru", NAME_MAX), "name_kk": check.text(row, "name_kk", NAME_MAX),
            **check.dated(row),
        }
        if all(codes.values()) and values["valid_from"]:
            key = (codes["administrator"], codes["programme"], codes["subprogramme"], values["valid_from"])
            check.unique(seen, key, row, "programme")
            out.append((key, values, row))
    return out


def parse_funding_sources(rows: list[Row], check: _Checker) -> Parsed:
    out, seen = [], {}
    for row in rows:
        code = check.code(row, "code", r"[a-z][a-z0-9_]{0,29}", "a lower-case code of at most 30 characters")
        values = {"name_ru": check.text(row, "name_ru", NAME_MAX), "name_kk": check.text(row, "name_kk", NAME_MAX)}
        if code:
            check.unique(seen, code, row, "code")
            out.append(((code,), values, row))
    return out


def parse_correspondence(rows: list[Row], check: _Checker, accounts: set[str] | None,
                         specifics: set[str] | None) -> Parsed:
    out, seen = [], {}
    for row in rows:
        account = check.code(row, "account", r"[0-9]{4}", "four digits")
        specific = check.code(row, "specific", r"[0-9]{3}", "three digits")
        if account and accounts is not None and account not in accounts:
            check.error(row, "account", "account_exists", f"account {account} is in neither accounts.csv nor the chart")
        if specific and specifics is not None and specific not in specifics:
            check.error(row, "specific", "specific_exists",
                        f"specific {specific} is in neither specifics.csv nor the classification")
        values = check.dated(row)
        if account and specific and values["valid_from"]:
            key = (account, specific, values["valid_from"])
            check.unique(seen, key, row, "specific")
            out.append((key, values, row))
    return out


@dataclass
class ParsedFiles:
    accounts: Parsed
    specifics: Parsed
    programmes: Parsed
    funding_sources: Parsed
    correspondence: Parsed


def parse(path: Path | str = DEFAULT_PATH) -> ParsedFiles:
    """Read and check every file; raise ReferenceLoadError listing every problem. No writes."""
    path = Path(path)
    errors: list[LoadError] = []
    rows: dict[str, list[Row]] = {}
    unreadable: set[str] = set()  # files refused as a whole: no cross-checks against them
    for name in FILES:
        rows[name], file_errors = read_rows(path, name)
        errors.extend(file_errors)
        if file_errors and not rows[name]:
            unreadable.add(name)
    check = _Checker()
    accounts = parse_accounts(rows["accounts.csv"], check)
    specifics = parse_specifics(rows["specifics.csv"], check)
    functional = parse_functional(rows["functional.csv"], check)
    programmes = parse_programmes(rows["programmes.csv"], check,
                                  None if "functional.csv" in unreadable else functional)
    funding = parse_funding_sources(rows["funding_sources.csv"], check)
    account_codes = {k[0] for k, _v, _r in accounts} | set(Account.objects.values_list("code", flat=True))
    specific_codes = {k[0] for k, _v, _r in specifics} | set(Specific.objects.values_list("code", flat=True))
    correspondence = parse_correspondence(rows["correspondence.csv"], check,
                                          None if "accounts.csv" in unreadable else account_codes,
                                          None if "specifics.csv" in unreadable else specific_codes)
    errors.extend(check.errors)
    if errors:
        raise ReferenceLoadError(sorted(errors, key=lambda e: (FILES.index(e.file), e.row, e.column)))
    return ParsedFiles(accounts, specifics, programmes, funding, correspondence)


def _upsert(model: type[models.Model], parsed: Parsed, key_fields: tuple[str, ...], counts: Counts,
            errors: list[LoadError], key_of: Callable[[models.Model], tuple] | None = None,
            resolve: Callable[[tuple], dict] | None = None) -> None:
    """Create or update each parsed row through save() (django-auditlog sees both)."""
    key_of = key_of or (lambda obj: tuple(getattr(obj, f) for f in key_fields))
    existing = {key_of(obj): obj for obj in model.objects.all()}
    for key, values, row in parsed:
        obj = existing.get(key)
        if obj is None:
            obj = model(**{**values, **(resolve(key) if resolve else dict(zip(key_fields, key)))})
            created = True
        else:
            changed = {f: v for f, v in values.items() if getattr(obj, f) != v}
            if not changed:
                counts.unchanged += 1
                continue
            for f, v in changed.items():
                setattr(obj, f, v)
            created = False
        try:
            obj.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for column, messages in exc.message_dict.items():
                errors.extend(LoadError(row.file, row.line, column, "model", m) for m in messages)
            continue
        obj.save()
        existing[key] = obj
        if created:
            counts.created += 1
        else:
            counts.updated += 1


def load_reference(path: Path | str = DEFAULT_PATH, *, actor=None) -> LoadReport:
    """Load (or re-import) the reference files all-or-nothing. `actor`, when given, is recorded
    by django-auditlog as the author of the changes."""
    parsed = parse(path)
    report = LoadReport({name: Counts() for name in
                         ("accounts", "specifics", "programmes", "funding_sources", "correspondence")})
    errors: list[LoadError] = []
    with transaction.atomic(), _audit_actor(actor):
        _upsert(Account, parsed.accounts, ("code",), report.counts["accounts"], errors)
        _upsert(Specific, parsed.specifics, ("code",), report.counts["specifics"], errors)
        _upsert(BudgetProgramme, parsed.programmes, ("administrator", "programme", "subprogramme", "valid_from"),
                report.counts["programmes"], errors)
        _upsert(FundingSource, parsed.funding_sources, ("code",), report.counts["funding_sources"], errors)
        accounts = {a.code: a for a in Account.objects.all()}
        specifics = {s.code: s for s in Specific.objects.all()}
        account_code = {a.id: a.code for a in accounts.values()}
        specific_code = {s.id: s.code for s in specifics.values()}
        _upsert(
            AccountSpecific, parsed.correspondence, ("account", "specific", "valid_from"),
            report.counts["correspondence"], errors,
            key_of=lambda o: (account_code[o.account_id], specific_code[o.specific_id], o.valid_from),
            resolve=lambda k: {"account": accounts[k[0]], "specific": specifics[k[1]], "valid_from": k[2]},
        )
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ReferenceLoadError(errors)
    return report


class _audit_actor:
    """auditlog.context.set_actor when an actor is given, otherwise nothing."""

    def __init__(self, actor):
        self.actor = actor
        self.inner = None

    def __enter__(self):
        if self.actor is not None:
            from auditlog.context import set_actor

            self.inner = set_actor(self.actor)
            self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        if self.inner is not None:
            return self.inner.__exit__(*exc)
        return False
