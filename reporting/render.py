"""Registers and statements as tables, rendered to XLSX (openpyxl: real numbers with a number
format, never text) and PDF (WeasyPrint, DejaVu fonts, which carry every Kazakh letter
ә ғ қ ң ө ұ ү һ і). One Table per sheet / per PDF section."""

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Form

MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"


@dataclass
class Column:
    label: str
    kind: str = "text"  # text | money | int | date
    width: int = 14


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[tuple[list, str]] = field(default_factory=list)  # (cells, style: "" | "total" | "heading")
    subtitle: str = ""
    sheet: str = ""

    def add(self, cells, style: str = "") -> None:
        self.rows.append((list(cells), style))

    def pdf_rows(self):
        """(style, [(value, column kind)]) for the PDF template."""
        kinds = [c.kind for c in self.columns]
        return [(style, list(zip(cells, kinds, strict=False))) for cells, style in self.rows]


def kk() -> bool:
    return (get_language() or "").startswith("kk")


def _name(row: dict) -> str:
    return row["name_kk"] if kk() else row["name_ru"]


COLUMN_LABELS = {"opening": lambda: _("At the start of the period"), "closing": lambda: _("At the end of the period"),
                 "amount": lambda: _("For the period")}


def statement_tables(statement) -> list[Table]:
    forms = statement.data["forms"]
    subtitle = f"{statement.institution.name} · {statement.period_start:%d.%m.%Y}–{statement.period_end:%d.%m.%Y}"
    tables = []
    for form in (Form.FO1, Form.FO2, Form.FO3, Form.FO4):
        data = forms[form]
        table = Table(str(Form(form).label), [Column(_("Line"), width=8), Column(_("Indicator"), width=60)]
                      + [Column(COLUMN_LABELS[c](), "money", 20) for c in data["columns"]],
                      subtitle=subtitle, sheet=str(form))
        for row in data["lines"]:
            values = [Decimal(row["values"][c]) if row["values"] else None for c in data["columns"]]
            table.add([row["code"] if not row["heading"] else "", _name(row), *values],
                      "heading" if row["heading"] else "total" if row["total"] else "")
        tables.append(table)
    note = Table(str(Form.FO5.label), [Column(_("Form"), width=8), Column(_("Line"), width=8),
                                       Column(_("Indicator"), width=60), Column(_("Amount"), "money", 20)],
                 subtitle=subtitle, sheet="FO-5")
    from .statements import FO5_SECTIONS

    for section in forms[Form.FO5]["sections"]:
        note.add(["", "", str(FO5_SECTIONS.get(section["key"], section["key"])), None], "heading")
        for f in section["figures"]:
            label = _name(f) + (f" ({COLUMN_LABELS[f['column']]()})" if f["column"] in COLUMN_LABELS else "")
            note.add([f["form"], f["line"], label, Decimal(f["value"])])
    if statement.notes:
        note.add(["", "", statement.notes, None], "heading")
    tables.append(note)
    checks = Table(_("Cross-form checks"), [Column(_("Check"), width=26), Column(_("Result"), width=10),
                                            Column(_("Left"), "money", 20), Column(_("Right"), "money", 20),
                                            Column(_("Detail"), width=40)], sheet="checks")
    for c in statement.data["checks"]:
        money = "MAPS" not in c["code"]
        checks.add([c["code"], _("passed") if c["ok"] else _("FAILED"),
                    Decimal(c["left"]) if money else None, Decimal(c["right"]) if money else None, c["detail"]])
    tables.append(checks)
    return tables


def to_xlsx(tables: list[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    used = set()
    for n, table in enumerate(tables, start=1):
        name = (table.sheet or table.title)[:28].replace("/", "-").replace(":", " ") or f"Sheet {n}"
        while name in used:
            name = f"{name[:25]} {n}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=12)
        sheet.append([table.subtitle])
        sheet.append([c.label for c in table.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for cells, style in table.rows:
            sheet.append(cells)
            row = sheet.max_row
            for i, column in enumerate(table.columns, start=1):
                cell = sheet.cell(row=row, column=i)
                if column.kind == "money":
                    cell.number_format = MONEY_FORMAT
                elif column.kind == "date":
                    cell.number_format = "DD.MM.YYYY"
                if style:
                    cell.font = Font(bold=True)
        for i, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = column.width
        sheet.freeze_panes = "A4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(tables: list[Table], title: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string("reporting/pdf.html", {"tables": tables, "title": title})
    return HTML(string=html).write_pdf()
