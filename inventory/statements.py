"""What a count found, as figures: the inventory list (инвентаризационная опись) and the
collation statement (сличительная ведомость), and their XLSX and PDF renderings.

Pure reads of the frozen book (CountItem), the scans and the commission's registrations; the
same figures feed the pages, the files and approve_count's postings, so what the commission
signs is what posts.
"""

import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from .models import CountItem, InventoryCount, Scan, ShortageDecision

CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ListRow:
    no: int
    asset_id: int
    inventory_number: str
    name: str
    account: str
    location: str
    responsible: str
    unit: str
    unit_value: Decimal
    book_quantity: Decimal
    book_value: Decimal  # book cost less depreciation at the freeze
    actual_quantity: Decimal
    actual_value: Decimal


@dataclass(frozen=True)
class DiscrepancyRow:
    asset_id: int | None
    inventory_number: str
    name: str
    account: str
    location: str
    responsible: str
    quantity: Decimal
    value: Decimal
    decision: str = ""  # shortages: recover / write_off


@dataclass(frozen=True)
class ElsewhereRow:
    asset_id: int
    inventory_number: str
    name: str
    book_location: str
    found_location: str


@dataclass(frozen=True)
class ScanGroupRow:
    code: str
    name: str
    scans: int
    locations: str
    status: str


@dataclass
class Collation:
    count: InventoryCount
    surpluses: list[DiscrepancyRow] = field(default_factory=list)
    shortages: list[DiscrepancyRow] = field(default_factory=list)
    found_elsewhere: list[ElsewhereRow] = field(default_factory=list)
    repeated: list[ScanGroupRow] = field(default_factory=list)
    unknown: list[ScanGroupRow] = field(default_factory=list)

    @property
    def surplus_value(self) -> Decimal:
        return sum((r.value for r in self.surpluses), Decimal(0))

    @property
    def shortage_value(self) -> Decimal:
        return sum((r.value for r in self.shortages), Decimal(0))


def _items(count: InventoryCount):
    return (CountItem.objects.filter(count=count)
            .select_related("asset", "location", "responsible", "found_location")
            .order_by("location__code", "asset__inventory_number"))


def _unit_value(item: CountItem) -> Decimal:
    return (item.book_cost - item.book_depreciation) / item.expected_quantity if item.expected_quantity else Decimal(0)


def inventory_list(count: InventoryCount) -> list[ListRow]:
    rows = []
    for no, item in enumerate(_items(count), start=1):
        unit_value = _unit_value(item)
        actual = item.actual_quantity
        rows.append(ListRow(
            no=no, asset_id=item.asset_id, inventory_number=item.asset.inventory_number, name=item.asset.name,
            account=item.asset.account, location=str(item.location), responsible=item.responsible.full_name,
            unit=item.asset.unit, unit_value=_money(unit_value), book_quantity=item.expected_quantity,
            book_value=item.book_cost - item.book_depreciation,
            actual_value=(item.book_cost - item.book_depreciation) if actual == item.expected_quantity
            else _money(unit_value * actual), actual_quantity=actual))
    return rows


def collation(count: InventoryCount) -> Collation:
    result = Collation(count)
    for item in _items(count):
        actual, expected = item.actual_quantity, item.expected_quantity
        asset = item.asset
        base = {"asset_id": asset.id, "inventory_number": asset.inventory_number, "name": asset.name,
                "account": asset.account, "location": str(item.location), "responsible": item.responsible.full_name}
        if actual < expected:
            qty = expected - actual
            book = item.book_cost - item.book_depreciation
            value = book if actual == 0 else _money(book * qty / expected)
            result.shortages.append(DiscrepancyRow(**base, quantity=qty, value=value,
                                                   decision=item.shortage_decision or count.shortage_decision))
        elif actual > expected:
            qty = actual - expected
            unit_cost = item.book_cost / expected if expected else Decimal(0)
            result.surpluses.append(DiscrepancyRow(**base, quantity=qty, value=_money(unit_cost * qty)))
        if item.found_location_id and item.found_location_id != item.location_id:
            result.found_elsewhere.append(ElsewhereRow(asset.id, asset.inventory_number, asset.name,
                                                       str(item.location), str(item.found_location)))
    in_book = set(CountItem.objects.filter(count=count).values_list("asset_id", flat=True))
    # Assets of the institution scanned during the count but outside its book (scope).
    seen = set()
    for scan in (Scan.objects.filter(count=count, status="other_location").exclude(asset_id__in=in_book)
                 .select_related("asset__location", "location").order_by("id")):
        if scan.asset_id in seen:
            continue
        seen.add(scan.asset_id)
        result.found_elsewhere.append(ElsewhereRow(scan.asset_id, scan.asset.inventory_number, scan.asset.name,
                                                   str(scan.asset.location), str(scan.location or "")))
    registered = {r.code: r for r in count.surpluses.all()}
    for reg in registered.values():
        result.surpluses.append(DiscrepancyRow(
            asset_id=None, inventory_number=reg.code, name=reg.name, account=reg.account,
            location=str(reg.location), responsible=reg.responsible.full_name, quantity=reg.quantity,
            value=reg.value))
    groups: dict[tuple[str, str], dict] = {}
    for scan in (Scan.objects.filter(count=count, status__in=["repeated", "unknown", "other_institution"])
                 .select_related("asset", "location").order_by("id")):
        key = (scan.status if scan.status == "repeated" else "unknown", scan.code)
        group = groups.setdefault(key, {"scans": 0, "locations": [], "status": scan.status,
                                        "name": scan.asset.name if scan.asset else ""})
        group["scans"] += 1
        where = str(scan.location) if scan.location else ""
        if where and where not in group["locations"]:
            group["locations"].append(where)
    for (kind, code), group in groups.items():
        name = group["name"] or (registered[code].name if code in registered else "")
        row = ScanGroupRow(code, name, group["scans"], ", ".join(group["locations"]), group["status"])
        (result.repeated if kind == "repeated" else result.unknown).append(row)
    return result


# --- renderings ------------------------------------------------------------------------------------

def _decision_label(value: str) -> str:
    return str(ShortageDecision(value).label) if value in ShortageDecision.values else ""


def inventory_list_xlsx(count: InventoryCount) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = inventory_list(count)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Inventory list")[:31]
    sheet.append([_("Inventory list"), str(count.institution), _("Order %(number)s") % {"number": count.number},
                  count.count_date.strftime("%d.%m.%Y")])
    sheet.append([])
    header = [_("No."), _("Inventory number"), _("Name"), _("Account"), _("Location"), _("Responsible person"),
              _("Unit"), _("Unit value"), _("Actual quantity"), _("Actual value"), _("Book quantity"),
              _("Book value")]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.no, r.inventory_number, r.name, r.account, r.location, r.responsible, r.unit, r.unit_value,
                      r.actual_quantity, r.actual_value, r.book_quantity, r.book_value])
    sheet.append([])
    sheet.append(["", _("Total"), "", "", "", "", "", "", sum((r.actual_quantity for r in rows), Decimal(0)),
                  sum((r.actual_value for r in rows), Decimal(0)), sum((r.book_quantity for r in rows), Decimal(0)),
                  sum((r.book_value for r in rows), Decimal(0))])
    _commission(sheet, count)
    for column, width in zip("ABCDEFGHIJKL", (6, 22, 40, 9, 24, 28, 8, 14, 12, 14, 12, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _commission(sheet, count: InventoryCount) -> None:
    sheet.append([])
    sheet.append([_("Commission chairman"), count.chairman, "_______________"])
    for member in count.members:
        sheet.append([_("Commission member"), member, "_______________"])


def collation_xlsx(count: InventoryCount) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    result = collation(count)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Collation statement")[:31]
    sheet.append([_("Collation statement"), str(count.institution), _("Order %(number)s") % {"number": count.number},
                  count.count_date.strftime("%d.%m.%Y")])

    def section(title, header, rows):
        sheet.append([])
        sheet.append([title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(header)
        for row in rows:
            sheet.append(row)

    money_header = [_("Inventory number"), _("Name"), _("Account"), _("Location"), _("Responsible person"),
                    _("Quantity"), _("Value, tenge")]
    section(_("Surpluses"), money_header,
            [[r.inventory_number, r.name, r.account, r.location, r.responsible, r.quantity, r.value]
             for r in result.surpluses])
    sheet.append(["", _("Total"), "", "", "", "", result.surplus_value])
    section(_("Shortages"), [*money_header, _("Decision")],
            [[r.inventory_number, r.name, r.account, r.location, r.responsible, r.quantity, r.value,
              _decision_label(r.decision)] for r in result.shortages])
    sheet.append(["", _("Total"), "", "", "", "", result.shortage_value])
    section(_("Found in another location"), [_("Inventory number"), _("Name"), _("Book location"),
                                             _("Found in")],
            [[r.inventory_number, r.name, r.book_location, r.found_location] for r in result.found_elsewhere])
    section(_("Repeated scans"), [_("Code"), _("Name"), _("Scans"), _("Locations")],
            [[r.code, r.name, r.scans, r.locations] for r in result.repeated])
    section(_("Unknown codes"), [_("Code"), _("Name"), _("Scans"), _("Locations")],
            [[r.code, r.name, r.scans, r.locations] for r in result.unknown])
    _commission(sheet, count)
    for column, width in zip("ABCDEFGH", (22, 40, 12, 24, 28, 10, 14, 30), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# PDF with reportlab's platypus: WeasyPrint took ~30 s for a 1,000-row list on the bench
# machine (table layout is its slow part); platypus lays the same table out in well under 2 s.

def _pdf(title: str, count: InventoryCount, blocks: list) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    from .labels import _font

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=7, leading=8.5)
    heading = ParagraphStyle("h", fontName=font, fontSize=12, leading=15)
    subheading = ParagraphStyle("h2", fontName=font, fontSize=9, leading=12, spaceBefore=6)
    out = io.BytesIO()

    def footer(canvas, doc):
        canvas.setFont(font, 7)
        canvas.drawRightString(doc.pagesize[0] - 12 * mm, 6 * mm, str(doc.page))

    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=title)
    story = [Paragraph(title, heading), Paragraph(
        f"{count.institution.name} · {_('Order %(number)s') % {'number': count.number}} · "
        f"{count.count_date:%d.%m.%Y}", body), Spacer(1, 4 * mm)]
    for block in blocks:
        if isinstance(block, str):
            story.append(Paragraph(block, subheading))
            continue
        header, rows, numeric = block
        data = [[Paragraph(str(h), body) for h in header]]
        data += [[str(v) if i in numeric else Paragraph(_escape(v), body) for i, v in enumerate(row)]
                 for row in rows] or [["—"] + [""] * (len(header) - 1)]
        table = LongTable(data, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), font, 7), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i in numeric]]))
        story.append(table)
    story.append(Spacer(1, 6 * mm))
    signers = [(_("Commission chairman"), count.chairman)] + [(_("Commission member"), m) for m in count.members]
    for role, name in signers:
        story.append(Paragraph(f"{_escape(role)}: {_escape(name)} _______________", body))
        story.append(Spacer(1, 3 * mm))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _escape(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inventory_list_pdf(count: InventoryCount) -> bytes:
    rows = inventory_list(count)
    header = [_("No."), _("Inventory number"), _("Name"), _("Account"), _("Location"), _("Responsible person"),
              _("Unit"), _("Unit value"), _("Actual quantity"), _("Actual value"), _("Book quantity"),
              _("Book value")]
    data = [[r.no, r.inventory_number, r.name, r.account, r.location, r.responsible, r.unit, r.unit_value,
             r.actual_quantity.normalize(), r.actual_value, r.book_quantity.normalize(), r.book_value] for r in rows]
    data.append(["", _("Total"), "", "", "", "", "", "", "", sum((r.actual_value for r in rows), Decimal(0)), "",
                 sum((r.book_value for r in rows), Decimal(0))])
    return _pdf(_("Inventory list"), count, [(header, data, {0, 7, 8, 9, 10, 11})])


def collation_pdf(count: InventoryCount) -> bytes:
    result = collation(count)
    money = [_("Inventory number"), _("Name"), _("Account"), _("Location"), _("Responsible person"), _("Quantity"),
             _("Value, tenge")]
    scans = [_("Code"), _("Name"), _("Scans"), _("Locations")]
    return _pdf(_("Collation statement"), count, [
        _("Surpluses"), (money, [[r.inventory_number, r.name, r.account, r.location, r.responsible,
                                  r.quantity.normalize(), r.value] for r in result.surpluses]
                         + [["", _("Total"), "", "", "", "", result.surplus_value]], {5, 6}),
        _("Shortages"), ([*money, _("Decision")], [[r.inventory_number, r.name, r.account, r.location, r.responsible,
                                                    r.quantity.normalize(), r.value, _decision_label(r.decision)]
                                                   for r in result.shortages]
                         + [["", _("Total"), "", "", "", "", result.shortage_value, ""]], {5, 6}),
        _("Found in another location"), ([_("Inventory number"), _("Name"), _("Book location"), _("Found in")],
                                         [[r.inventory_number, r.name, r.book_location, r.found_location]
                                          for r in result.found_elsewhere], set()),
        _("Repeated scans"), (scans, [[r.code, r.name, r.scans, r.locations] for r in result.repeated], {2}),
        _("Unknown codes"), (scans, [[r.code, r.name, r.scans, r.locations] for r in result.unknown], {2}),
    ])
