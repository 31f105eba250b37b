"""The plan execution report as an XLSX workbook and as an inline SVG chart (no script, no
CDN: the page stays whole offline and in print)."""

import io
from decimal import Decimal

from django.utils.translation import gettext as _

from .queries import Execution

SERIES = ("plan_obligations", "obligations", "plan_payments", "payments")
COLOURS = {"plan_obligations": "#9bb7d4", "obligations": "#2c5f8a", "plan_payments": "#f0c27b",
           "payments": "#b5651d"}


def labels() -> dict[str, str]:
    return {"plan_obligations": _("Plan by obligations"), "obligations": _("Obligations accepted"),
            "plan_payments": _("Plan by payments"), "payments": _("Payments"),
            "obligations_balance": _("Obligations: balance"), "payments_balance": _("Payments: balance")}


def chart_svg(report: Execution, width: int = 760, height: int = 240) -> dict:
    """Bars by month: plan by payments against payments, plan by obligations against
    obligations accepted. Returns geometry for the template (bars, axis, legend)."""
    series = report.by_month()
    top = max([max(v) for v in series.values()] + [Decimal(1)])
    left, bottom, plot_h = 60, height - 24, height - 40
    slot = (width - left - 10) / 12
    bar = slot / 5
    bars = []
    for m in range(12):
        for i, name in enumerate(SERIES):
            value = series[name][m]
            h = float(value / top) * plot_h if value > 0 else 0  # float ok: SVG pixels
            bars.append({"x": round(left + m * slot + (i + 0.5) * bar, 1), "y": round(bottom - h, 1),
                         "w": round(bar - 1, 1), "h": round(h, 1), "fill": COLOURS[name], "month": m + 1,
                         "series": name, "value": value})
    ticks = [{"y": round(bottom - plot_h * f, 1), "value": (top * Decimal(str(f))).quantize(Decimal("1"))}
             for f in (0, 0.25, 0.5, 0.75, 1)]
    months = [{"x": round(left + m * slot + slot / 2, 1), "month": m + 1} for m in range(12)]
    names = labels()
    legend = [{"name": names[s], "fill": COLOURS[s], "x": left + i * 180} for i, s in enumerate(SERIES)]
    return {"width": width, "height": height + 20, "bars": bars, "ticks": ticks, "months": months,
            "legend": legend, "left": left, "bottom": bottom, "legend_y": height + 8}


def execution_xlsx(report: Execution, institution) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    names = labels()
    book = Workbook()
    ws = book.active
    ws.title = _("Execution")[:31]
    ws.append([_("Plan execution %(year)s") % {"year": report.year}, institution.name, institution.bin])
    ws.append([_("As of"), report.on_date.isoformat()])
    ws.append([])
    head = [_("Programme"), _("Specific"), _("Month")] + [names[k] for k in (*SERIES, "obligations_balance",
                                                                            "payments_balance")]
    ws.append(head)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in report.rows:
        for cells in row.month_cells():
            ws.append([row.programme, row.specific, cells["month"]] + [
                cells[k] for k in (*SERIES, "obligations_balance", "payments_balance")])
        t = row.totals
        ws.append([row.programme, row.specific, _("Year")] + [
            t[k] for k in (*SERIES, "obligations_balance", "payments_balance")])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    t = report.totals
    ws.append([_("Total"), "", ""] + [t[k] for k in (*SERIES, "obligations_balance", "payments_balance")])
    for column in "DEFGHI":
        for cell in ws[column][4:]:
            cell.number_format = "#,##0.00"
        ws.column_dimensions[column].width = 18
    ws.column_dimensions["A"].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
