"""PDF sheets of barcode labels for selected assets: Code 128 and/or QR, label size and sheet
layout configurable (the common A4 sheets of self-adhesive labels: 3×8 of 70×37 mm, 4×10 of
52.5×29.7 mm, 2×7 of 105×42.4 mm…). Each label carries the institution's short name, the
inventory number, the asset's name and the code; the code's value is the asset's barcode
(inventory.barcodes), so a scan finds it."""

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from access.errors import ControlError, ControlErrors

FONT = "DejaVuSans"
FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # carries the Kazakh letters
LABELS_MAX = 5000  # one print job; a bigger order is several sheets' batches
SYMBOLOGIES = ("code128", "qr", "both")


@dataclass(frozen=True)
class Layout:
    """Label and sheet geometry in millimetres."""

    label_width: float = 70
    label_height: float = 37
    columns: int = 3
    rows: int = 8
    page_width: float = 210
    page_height: float = 297
    margin_left: float = 0
    margin_top: float = 0
    gap_x: float = 0
    gap_y: float = 0
    symbology: str = "both"

    def validate(self) -> None:
        errors = []
        for name in ("label_width", "label_height", "page_width", "page_height"):
            if not (5 <= getattr(self, name) <= 1000):
                errors.append(ControlError("layout_invalid", _("%(field)s must be between 5 and 1000 mm.")
                                           % {"field": name}, field=name))
        for name in ("columns", "rows"):
            if not (1 <= getattr(self, name) <= 30):
                errors.append(ControlError("layout_invalid", _("%(field)s must be between 1 and 30.")
                                           % {"field": name}, field=name))
        if self.symbology not in SYMBOLOGIES:
            errors.append(ControlError("layout_invalid", _("Choose Code 128, QR or both."), field="symbology"))
        if not errors:
            width = self.margin_left + self.columns * self.label_width + (self.columns - 1) * self.gap_x
            height = self.margin_top + self.rows * self.label_height + (self.rows - 1) * self.gap_y
            if width > self.page_width + 0.01 or height > self.page_height + 0.01:
                errors.append(ControlError("layout_too_big", _("The labels do not fit on the page: %(w)s × %(h)s mm "
                                                               "on %(pw)s × %(ph)s mm.")
                                           % {"w": round(width, 1), "h": round(height, 1), "pw": self.page_width,
                                              "ph": self.page_height}, field="columns"))
        if errors:
            raise ControlErrors(errors) if len(errors) > 1 else errors[0]


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, FONT_FILE))
    return FONT


def _fit(text: str, font: str, size: float, width: float) -> str:
    while text and pdfmetrics.stringWidth(text, font, size) > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def render(assets, layout: Layout, *, header: str = "") -> bytes:
    """The PDF of labels for `assets` (in order), left to right, top to bottom."""
    layout.validate()
    assets = list(assets)
    if not assets:
        raise ControlError("assets_required", _("Choose at least one asset."), field="assets")
    if len(assets) > LABELS_MAX:
        raise ControlError("too_many_labels", _("At most %(max)s labels at once.") % {"max": LABELS_MAX},
                           field="assets")
    font = _font()
    out = io.BytesIO()
    page_w, page_h = layout.page_width * mm, layout.page_height * mm
    pdf = canvas.Canvas(out, pagesize=(page_w, page_h))
    pdf.setTitle(_("Labels"))
    per_page = layout.columns * layout.rows
    w, h = layout.label_width * mm, layout.label_height * mm
    pad = min(2 * mm, h / 12)
    for n, asset in enumerate(assets):
        if n and n % per_page == 0:
            pdf.showPage()
        slot = n % per_page
        col, row = slot % layout.columns, slot // layout.columns
        x = (layout.margin_left + col * (layout.label_width + layout.gap_x)) * mm
        top = page_h - (layout.margin_top + row * (layout.label_height + layout.gap_y)) * mm
        size = max(4.0, min(8.0, h / 7))
        text_w = w - 2 * pad
        qr_side = 0
        if layout.symbology in ("qr", "both"):
            qr_side = min(h - 2 * pad, w / 2.6)
            text_w = w - 3 * pad - qr_side
            widget = qr.QrCodeWidget(asset.barcode)
            bx0, by0, bx1, by1 = widget.getBounds()
            drawing = Drawing(qr_side, qr_side, transform=[qr_side / (bx1 - bx0), 0, 0, qr_side / (by1 - by0), 0, 0])
            drawing.add(widget)
            renderPDF.draw(drawing, pdf, x + w - pad - qr_side, top - pad - qr_side)
        lines = [header, asset.inventory_number, asset.name]
        pdf.setFont(font, size)
        y = top - pad - size
        for i, text in enumerate(t for t in lines if t):
            pdf.setFont(font, size * (1.2 if i == 1 else 1))
            pdf.drawString(x + pad, y, _fit(text, font, size, text_w))
            y -= size * 1.25
        if layout.symbology in ("code128", "both"):
            bar_h = max(4 * mm, y - (top - h) - pad - size * 1.3)
            bar_w = text_w if layout.symbology == "both" else w - 2 * pad
            barcode = code128.Code128(asset.barcode, barHeight=bar_h, humanReadable=False, quiet=False)
            # fit the symbol's width by its module width
            barcode.barWidth = min(0.5 * mm, barcode.barWidth * bar_w / max(barcode.width, 1))
            barcode = code128.Code128(asset.barcode, barHeight=bar_h, barWidth=barcode.barWidth, humanReadable=False,
                                      quiet=False)
            barcode.drawOn(pdf, x + pad, top - h + pad + size * 1.2)
        pdf.setFont(font, size)
        pdf.drawString(x + pad, top - h + pad, _fit(asset.barcode, font, size, text_w))
    pdf.showPage()
    pdf.save()
    return out.getvalue()
