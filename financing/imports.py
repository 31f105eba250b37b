"""One validator for the three ways a financing plan comes in: a JSON file (the schema in
docs/exchange/financing-plan.schema.json), an XLSX workbook in the layout of the ИПФ form,
and the planning system's HTTP push (the same JSON).

Each reader turns its bytes into a `PlanFile` (header + lines, each line remembering its
sheet, row and columns), collecting format problems; `check` then applies the same rules
to every `PlanFile`. Nothing here touches the database except reading the reference
snapshot: the checks that need the stored versions are in services.import_plan, under its
lock. Every problem is collected (esep.imports.Problems), so a bad file is answered with
all of its faults at once.
"""

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

from esep.imports import Problems
from ledger import reference

from .models import MONTHS, DocumentKind, PlanType

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "exchange" / "financing-plan.schema.json"
BYTES_MAX = 20 * 1024 * 1024  # a 10,000-line JSON plan is ~3 MB; 20 MB leaves room and bounds memory
LINES_MAX = 50_000  # per plan type; an oblast administrator's plan has a few thousand lines
AMOUNT_LIMIT = Decimal("9999999999999999.99")  # NUMERIC(18,2)
CENT = Decimal("0.01")

SHEET_DOCUMENT = "document"
SHEET_NAMES = {
    SHEET_DOCUMENT: ("document", "документ", "құжат"),
    PlanType.OBLIGATIONS: ("obligations", "обязательства", "міндеттемелер", "ипф по обязательствам"),
    PlanType.PAYMENTS: ("payments", "платежи", "төлемдер", "ипф по платежам"),
}
HEADER_KEYS = ("document_id", "bin", "year", "kind", "number", "date")
MONTH_NAMES_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
                  "ноябрь", "декабрь")
MONTH_NAMES_KK = ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан",
                  "қараша", "желтоқсан")
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "administrator": ("administrator", "абп", "администратор", "әкімші"),
    "programme": ("programme", "программа", "бағдарлама"),
    "subprogramme": ("subprogramme", "подпрограмма", "кіші бағдарлама"),
    "specific": ("specific", "специфика", "ерекшелік"),
    **{f"m{m:02d}": (f"m{m:02d}", f"{m:02d}", str(m), MONTH_NAMES_RU[m - 1], MONTH_NAMES_KK[m - 1]) for m in MONTHS},
    "year": ("year", "год", "итого", "итого за год", "жыл", "жылға"),
}
CODE_COLUMNS = ("administrator", "programme", "subprogramme", "specific")
MONTH_COLUMNS = tuple(f"m{m:02d}" for m in MONTHS)
TABLE_COLUMNS = (*CODE_COLUMNS, *MONTH_COLUMNS, "year")


@dataclass
class Line:
    plan_type: str
    codes: dict[str, str]  # raw codes as read
    raw_months: list  # raw cells as read
    raw_year: object
    sheet: str
    row: int | None
    columns: dict[str, str]  # logical column → where it is in the file ("E", "months[3]")
    months: list[Decimal] = field(default_factory=list)
    year: Decimal | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return tuple(self.codes[c] for c in CODE_COLUMNS)  # type: ignore[return-value]


@dataclass
class PlanFile:
    header: dict  # raw values by HEADER_KEYS
    header_where: dict[str, tuple[str, int | None, str]]  # key → (sheet, row, column)
    lines: list[Line]
    # parsed header, filled by check()
    year: int | None = None
    date: dt.date | None = None
    kind: str = ""
    document_id: str = ""
    number: str = ""
    bin: str = ""
    sender: str = ""


def _too_large(data: bytes, problems: Problems) -> bool:
    if len(data) > BYTES_MAX:
        problems.add("FIN-IMP-SIZE", _("The file is %(size)s MB; at most %(max)s MB is accepted.")
                     % {"size": round(len(data) / 1048576, 1), "max": BYTES_MAX // 1048576})
        return True
    if not data.strip():
        problems.add("FIN-IMP-EMPTY", _("The file is empty."))
        return True
    return False


# -- JSON ------------------------------------------------------------------------------------

@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def read_json(data: bytes, problems: Problems) -> PlanFile | None:
    if _too_large(data, problems):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add("FIN-IMP-ENCODING", _("The file is not UTF-8 text (byte %(pos)s).") % {"pos": exc.start + 1})
        return None
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        problems.add("FIN-IMP-FORMAT", _("The file is not valid JSON: %(error)s at line %(line)s, column %(col)s.")
                     % {"error": exc.msg, "line": exc.lineno, "col": exc.colno}, row=exc.lineno)
        return None
    return from_document(doc, problems)


def from_document(doc, problems: Problems) -> PlanFile | None:
    """A decoded JSON document (a file or a push) → PlanFile, with schema problems."""
    import jsonschema

    if not isinstance(doc, dict):
        problems.add("FIN-IMP-SCHEMA", _("The document must be a JSON object."))
        return None
    # The schema validates the header; the lines (thousands of them) get the same structural
    # rules by hand below: jsonschema spends ~2 ms a line on $ref/oneOf, 20 s for 10,000 lines.
    header_only = {k: ([] if k in (PlanType.OBLIGATIONS, PlanType.PAYMENTS) and isinstance(v, list) else v)
                   for k, v in doc.items()}
    validator = jsonschema.Draft202012Validator(schema())
    for error in sorted(validator.iter_errors(header_only), key=lambda e: list(map(str, e.absolute_path))):
        path = "/".join(str(p) for p in error.absolute_path) or "(document)"
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            problems.add("FIN-IMP-COLUMN", _("Required field %(field)s is missing.") % {"field": missing},
                         column=f"{path}/{missing}" if error.absolute_path else missing)
        else:
            problems.add("FIN-IMP-SCHEMA", _("Does not match the financing plan schema: %(error)s")
                         % {"error": error.message[:200]}, column=path,
                         value=error.instance if not isinstance(error.instance, dict | list) else "")
    line_keys = set(CODE_COLUMNS) | {"months", "year"}
    for plan_type in (PlanType.OBLIGATIONS, PlanType.PAYMENTS):
        items = doc.get(plan_type)
        if not isinstance(items, list) or len(items) > LINES_MAX:
            continue
        for i, item in enumerate(items):
            where = f"{plan_type}/{i}"
            if not isinstance(item, dict):
                problems.add("FIN-IMP-SCHEMA", _("Does not match the financing plan schema: %(error)s")
                             % {"error": "line is not an object"}, column=where)
                continue
            for key in sorted(line_keys - set(item)):
                problems.add("FIN-IMP-COLUMN", _("Required field %(field)s is missing.") % {"field": key},
                             sheet=plan_type, row=i + 1, column=f"{where}/{key}")
            for key in sorted(set(item) - line_keys):
                problems.add("FIN-IMP-SCHEMA", _("Does not match the financing plan schema: %(error)s")
                             % {"error": f"unexpected field {key!r}"[:200]}, sheet=plan_type, row=i + 1,
                             column=f"{where}/{key}")
            for key in CODE_COLUMNS:
                if key in item and not isinstance(item[key], str):
                    problems.add("FIN-IMP-SCHEMA", _("Does not match the financing plan schema: %(error)s")
                                 % {"error": f"{key} is not a string"}, sheet=plan_type, row=i + 1,
                                 column=f"{where}/{key}", value=item[key])
            months = item.get("months")
            if "months" in item and not (isinstance(months, list) and len(months) == 12):
                problems.add("FIN-IMP-SCHEMA", _("Does not match the financing plan schema: %(error)s")
                             % {"error": "months is not a list of 12 amounts"}, sheet=plan_type, row=i + 1,
                             column=f"{where}/months")
    lines = []
    for plan_type in (PlanType.OBLIGATIONS, PlanType.PAYMENTS):
        items = doc.get(plan_type)
        if not isinstance(items, list):
            continue
        if len(items) > LINES_MAX:
            problems.add("FIN-IMP-SIZE", _("A plan may have at most %(max)s lines; this one has %(n)s.")
                         % {"max": LINES_MAX, "n": len(items)}, sheet=plan_type)
            return None
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            months = item.get("months")
            months = list(months) if isinstance(months, list) and len(months) == 12 else None
            if months is None:
                continue  # reported by the schema
            lines.append(Line(
                plan_type=plan_type, codes={c: str(item.get(c, "")) for c in CODE_COLUMNS}, raw_months=months,
                raw_year=item.get("year"), sheet=plan_type, row=i + 1,
                columns={**{c: f"{plan_type}[{i}].{c}" for c in CODE_COLUMNS},
                         **{f"m{m:02d}": f"{plan_type}[{i}].months[{m - 1}]" for m in MONTHS},
                         "year": f"{plan_type}[{i}].year"}))
    header = {k: doc.get(k) for k in HEADER_KEYS}
    plan = PlanFile(header=header, header_where={k: ("", None, k) for k in HEADER_KEYS}, lines=lines)
    plan.sender = str(doc.get("sender") or "")[:150]
    return plan


# -- XLSX ------------------------------------------------------------------------------------

def _norm(value) -> str:
    return " ".join(str(value or "").replace("ё", "е").lower().split()).rstrip(".:")


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def read_xlsx(data: bytes, problems: Problems) -> PlanFile | None:
    """Workbook with a sheet "Документ" (column A: key, B: value) and the sheets
    "Обязательства" and "Платежи" (first row: the column headings, then one row per line)."""
    if _too_large(data, problems):
        return None
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 -- zip, XML and openpyxl errors alike mean "not a workbook"
        problems.add("FIN-IMP-FORMAT", _("The file is not a readable XLSX workbook (%(error)s).")
                     % {"error": type(exc).__name__})
        return None
    try:
        return _read_book(book, problems)
    except Exception as exc:  # noqa: BLE001 -- a truncated part shows only while its rows are read
        problems.add("FIN-IMP-FORMAT", _("The file is not a readable XLSX workbook (%(error)s).")
                     % {"error": type(exc).__name__})
        return None
    finally:
        book.close()


def _find_sheet(book, logical: str):
    for ws in book.worksheets:
        if _norm(ws.title) in SHEET_NAMES[logical]:
            return ws
    return None


def _read_book(book, problems: Problems) -> PlanFile | None:
    sheets = {name: _find_sheet(book, name) for name in SHEET_NAMES}
    for name, ws in sheets.items():
        if ws is None:
            problems.add("FIN-IMP-SHEET", _("Sheet %(sheet)s is missing (expected one of: %(names)s).")
                         % {"sheet": name, "names": ", ".join(SHEET_NAMES[name])}, sheet=name)
    if problems:
        return None
    header: dict = {}
    where: dict = {}
    doc_sheet = sheets[SHEET_DOCUMENT]
    for r, row in enumerate(doc_sheet.iter_rows(values_only=True, max_col=2), start=1):
        key = _norm(row[0] if row else "")
        if key in HEADER_KEYS:
            header[key] = row[1] if len(row) > 1 else None
            where[key] = (doc_sheet.title, r, "B")
    for key in HEADER_KEYS:
        if key not in header:
            problems.add("FIN-IMP-COLUMN", _("Required field %(field)s is missing.") % {"field": key},
                         sheet=doc_sheet.title, column="A")
            where[key] = (doc_sheet.title, None, "B")
    if isinstance(header.get("date"), dt.datetime):
        header["date"] = header["date"].date().isoformat()
    lines: list[Line] = []
    for plan_type in (PlanType.OBLIGATIONS, PlanType.PAYMENTS):
        ws = sheets[plan_type]
        rows = ws.iter_rows(values_only=True)
        heading = next(rows, None) or ()
        positions: dict[str, int] = {}
        for i, cell in enumerate(heading):
            name = _norm(cell)
            for column, aliases in COLUMN_ALIASES.items():
                if name in aliases and column not in positions:
                    positions[column] = i
        missing = [c for c in TABLE_COLUMNS if c not in positions]
        for column in missing:
            problems.add("FIN-IMP-COLUMN", _("Column %(column)s is missing in the heading row.")
                         % {"column": column}, sheet=ws.title, row=1)
        if missing:
            continue
        letters = {c: _letter(i) for c, i in positions.items()}
        for r, row in enumerate(rows, start=2):
            if not row or all(v in (None, "") for v in row):
                continue
            if len(lines) >= 2 * LINES_MAX:
                problems.add("FIN-IMP-SIZE", _("A plan may have at most %(max)s lines; this one has %(n)s.")
                             % {"max": LINES_MAX, "n": f">{LINES_MAX}"}, sheet=ws.title)
                return None

            def cell(column, row=row, positions=positions):
                i = positions[column]
                return row[i] if i < len(row) else None

            codes = {}
            for c in CODE_COLUMNS:
                v = cell(c)
                # a code typed as a number lost its leading zeros; it is still that code
                codes[c] = str(v).zfill(3) if isinstance(v, int) and not isinstance(v, bool) else str(v or "").strip()
            lines.append(Line(plan_type=plan_type, codes=codes, raw_months=[cell(c) for c in MONTH_COLUMNS],
                              raw_year=cell("year"), sheet=ws.title, row=r, columns=letters))
    return PlanFile(header=header, header_where=where, lines=lines)


# -- the checks every channel shares ----------------------------------------------------------

def parse_amount(value) -> Decimal | None:
    """Tenge with at most two decimals, from a JSON number/string or a spreadsheet cell."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) > AMOUNT_LIMIT:
        return None
    return amount.quantize(CENT)


def check(plan: PlanFile, institution, problems: Problems) -> None:
    """Header and line rules: BIN, year, kind, date, codes valid on the date, amounts,
    year = sum of months, no negative amount in an approved plan, no duplicate line, both
    plans with the same lines and year totals. Fills plan.year/date/kind/… when valid."""
    h, w = plan.header, plan.header_where

    def where(key):
        sheet, row, column = w.get(key, ("", None, key))
        return {"sheet": sheet, "row": row, "column": column}

    bin_ = str(h.get("bin") or "").strip()
    if isinstance(h.get("bin"), int):
        bin_ = str(h["bin"]).zfill(12)
    if bin_ and bin_ != institution.bin:
        problems.add("FIN-IMP-BIN", _("The document is for BIN %(bin)s, not for this institution (BIN %(ours)s).")
                     % {"bin": bin_, "ours": institution.bin}, value=bin_, **where("bin"))
    plan.bin = bin_
    year = h.get("year")
    try:
        year = int(str(year).strip()) if year is not None and not isinstance(year, bool) else None
    except ValueError:
        year = None
    if year is None or not 2000 <= year <= 2100:
        problems.add("FIN-IMP-YEAR", _("The year must be a number between 2000 and 2100."),
                     value=h.get("year"), **where("year"))
        year = None
    kind = _norm(h.get("kind"))
    if kind not in DocumentKind.values:
        problems.add("FIN-IMP-KIND", _("The kind of document must be one of: %(kinds)s.")
                     % {"kinds": ", ".join(DocumentKind.values)}, value=h.get("kind"), **where("kind"))
    day = None
    try:
        day = dt.date.fromisoformat(str(h.get("date") or "").strip()[:10])
    except ValueError:
        problems.add("FIN-IMP-DATE", _("The document date must be a date, YYYY-MM-DD."), value=h.get("date"),
                     **where("date"))
    if year and day and kind in DocumentKind.values:
        allowed = (year - 1, year) if kind == DocumentKind.PLAN else (year,)
        if day.year not in allowed:
            problems.add("FIN-IMP-YEAR", _("A document of %(year)s dated %(date)s: an approved plan is dated in its "
                                           "year or the year before, a certificate in its year.")
                         % {"year": year, "date": day.isoformat()}, value=year, **where("year"))
    for key in ("document_id", "number"):
        if not str(h.get(key) or "").strip():
            problems.add("FIN-IMP-COLUMN", _("Required field %(field)s is missing.") % {"field": key},
                         **where(key))
    plan.year, plan.date, plan.kind = year, day, kind
    plan.document_id = str(h.get("document_id") or "").strip()[:100]
    plan.number = str(h.get("number") or "").strip()[:60]
    if not plan.lines and not problems:
        problems.add("FIN-IMP-EMPTY", _("The document has no plan lines."))
        return

    ref = reference.snapshot()
    on = day or dt.date(year or 2000, 1, 1)
    seen: dict[tuple, Line] = {}
    for line in plan.lines:
        ok_codes = True
        for c in CODE_COLUMNS:
            v = line.codes[c]
            if not (len(v) == 3 and v.isdigit()):
                problems.add("FIN-IMP-CODE", _("%(column)s must be three digits.") % {"column": c},
                             sheet=line.sheet, row=line.row, column=line.columns[c], value=v)
                ok_codes = False
        if ok_codes:
            adm, prog, sub, spec = line.key
            if adm != institution.administrator_code:
                problems.add("FIN-IMP-CODE", _("Administrator %(code)s is not this institution's administrator "
                                               "(%(ours)s).") % {"code": adm, "ours": institution.administrator_code},
                             sheet=line.sheet, row=line.row, column=line.columns["administrator"], value=adm)
            elif not ref.programme_valid(adm, prog, sub, on):
                problems.add("FIN-IMP-CODE", _("Programme %(code)s is not in the budget classification on %(date)s.")
                             % {"code": f"{adm}.{prog}.{sub}", "date": on.isoformat()},
                             sheet=line.sheet, row=line.row, column=line.columns["programme"], value=f"{prog}.{sub}")
            specific = ref.specifics.get(spec)
            if specific is None or not specific.is_valid_on(on):
                problems.add("FIN-IMP-CODE", _("Specific %(code)s is not in the economic classification on %(date)s.")
                             % {"code": spec, "date": on.isoformat()},
                             sheet=line.sheet, row=line.row, column=line.columns["specific"], value=spec)
            dup = (line.plan_type, line.key)
            if dup in seen:
                problems.add("FIN-IMP-DUPLICATE", _("Line %(key)s appears twice in the same plan (first at row "
                                                    "%(first)s).") % {"key": ".".join(line.key),
                                                                      "first": seen[dup].row},
                             sheet=line.sheet, row=line.row, column=line.columns["specific"], value=".".join(line.key))
            else:
                seen[dup] = line
        amounts_ok = True
        months = []
        for m, raw in zip(MONTH_COLUMNS, line.raw_months, strict=True):
            amount = parse_amount(raw)
            if amount is None:
                problems.add("FIN-IMP-AMOUNT", _("An amount must be a number of tenge with at most two decimals."),
                             sheet=line.sheet, row=line.row, column=line.columns[m], value=raw)
                amounts_ok = False
            elif amount < 0 and kind == DocumentKind.PLAN:
                problems.add("FIN-IMP-NEGATIVE", _("An approved plan has no negative amounts; changes come in "
                                                   "certificates."),
                             sheet=line.sheet, row=line.row, column=line.columns[m], value=raw)
            months.append(amount)
        total = parse_amount(line.raw_year)
        if total is None:
            problems.add("FIN-IMP-AMOUNT", _("An amount must be a number of tenge with at most two decimals."),
                         sheet=line.sheet, row=line.row, column=line.columns["year"], value=line.raw_year)
            amounts_ok = False
        if amounts_ok:
            line.months, line.year = months, total
            if sum(months, Decimal(0)) != total:
                problems.add("FIN-IMP-TOTAL", _("The year total %(year)s is not the sum of the months %(sum)s.")
                             % {"year": total, "sum": sum(months, Decimal(0))},
                             sheet=line.sheet, row=line.row, column=line.columns["year"], value=line.raw_year)

    # Both plans of one document describe the same lines, with the same year totals.
    by_type: dict[str, dict[tuple, Line]] = {PlanType.OBLIGATIONS: {}, PlanType.PAYMENTS: {}}
    for (plan_type, key), line in seen.items():
        by_type[plan_type][key] = line
    obligations, payments = by_type[PlanType.OBLIGATIONS], by_type[PlanType.PAYMENTS]
    for key in sorted(set(obligations) ^ set(payments)):
        line = obligations.get(key) or payments.get(key)
        other = PlanType.PAYMENTS if key in obligations else PlanType.OBLIGATIONS
        problems.add("FIN-IMP-STRUCTURE", _("Line %(key)s is in one plan but not in the plan %(other)s.")
                     % {"key": ".".join(key), "other": other}, sheet=line.sheet, row=line.row,
                     column=line.columns["specific"], value=".".join(key))
    for key in sorted(set(obligations) & set(payments)):
        a, b = obligations[key], payments[key]
        if a.year is not None and b.year is not None and a.year != b.year:
            problems.add("FIN-IMP-STRUCTURE", _("Line %(key)s: the year total by obligations %(a)s differs from "
                                                "the year total by payments %(b)s.")
                         % {"key": ".".join(key), "a": a.year, "b": b.year},
                         sheet=b.sheet, row=b.row, column=b.columns["year"], value=b.raw_year)


def read(data: bytes, fmt: str, problems: Problems) -> PlanFile | None:
    if fmt == "xlsx":
        return read_xlsx(data, problems)
    return read_json(data, problems)


def guess_format(filename: str, data: bytes) -> str:
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        return "xlsx"
    return "json"
