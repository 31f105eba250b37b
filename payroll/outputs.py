"""What payroll prints and hands over: the payslip (PDF, kk and ru), the payroll statement
(расчетно-платежная ведомость, XLSX and PDF), the summary by specific and the payment
register files. Reads only."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .calculator import ZERO
from .models import PaymentRegister, PayrollLine, PayrollRun, PostedAmount

FIGURE_LABELS = {
    "salary": gettext_lazy("Salary for days worked"),
    "vacation_pay": gettext_lazy("Vacation pay"),
    "sick_pay": gettext_lazy("Sick pay"),
    "bonus": gettext_lazy("Bonus"),
    "one_off": gettext_lazy("One-off payment"),
    "accrued": gettext_lazy("Accrued"),
    "opv": gettext_lazy("Pension contribution (ОПВ)"),
    "vosms": gettext_lazy("Health insurance contribution (ВОСМС)"),
    "deduction": gettext_lazy("Income tax deduction"),
    "ipn_base": gettext_lazy("Income tax base"),
    "ipn": gettext_lazy("Personal income tax (ИПН)"),
    "court": gettext_lazy("Court-ordered deduction"),
    "to_pay": gettext_lazy("To pay"),
    "opvr": gettext_lazy("Employer pension contribution (ОПВР)"),
    "so": gettext_lazy("Social contributions (СО)"),
    "oosms": gettext_lazy("Employer health insurance (ООСМС)"),
    "sn": gettext_lazy("Social tax (СН)"),
}
EMPLOYER = ("opvr", "so", "oosms", "sn")


def label(key: str) -> str:
    if key.startswith("allowance_"):
        return str(_("Allowance"))
    return str(FIGURE_LABELS.get(key, key))


def figure_rows(line: PayrollLine) -> list[dict]:
    rows = []
    for figure in line.figures:
        inputs = dict(figure["inputs"])
        name = inputs.pop("name", "")
        rows.append({"key": figure["key"], "label": label(figure["key"]) + (f": {name}" if name else ""),
                     "amount": Decimal(figure["amount"]), "formula": figure["formula"], "inputs": inputs,
                     "employer": figure["key"] in EMPLOYER})
    return rows


def summary_by_specific(run: PayrollRun) -> list[dict]:
    """Accrued per specific (from the lines) and employer charges per scheme specific."""
    accrued: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for parts in run.lines.values_list("parts", flat=True):
        for specific, amount in parts.items():
            accrued[specific] += Decimal(amount)
    totals = run.lines.values("technical").annotate(opvr=Sum("opvr"), so=Sum("so"), oosms=Sum("oosms"), sn=Sum("sn"))
    for row in totals:
        for key, specific in (("opvr", "116"), ("sn", "121"), ("so", "122"), ("oosms", "124")):
            accrued["135" if row["technical"] else specific] += row[key] or ZERO
    return [{"specific": k, "amount": v} for k, v in sorted(accrued.items())]


def accrued(institution, year: int, month: int, specific: str) -> Decimal:
    """What the ledger holds as accrued by payroll runs for the month and specific."""
    return (PostedAmount.objects.filter(institution=institution, run__year=year, run__month=month,
                                        operation="payroll.accrual", specific=specific)
            .aggregate(s=Sum("amount"))["s"] or ZERO)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def payslip_pdf(line: PayrollLine, language: str) -> bytes:
    with translation.override(language):
        html = render_to_string("payroll/payslip_pdf.html", {
            "line": line, "run": line.run, "employee": line.employee, "language": language,
            "name": line.employee.full_name_kk if language == "kk" else line.employee.full_name_ru,
            "institution": line.institution.name_kk if language == "kk" else line.institution.name_ru,
            "figures": figure_rows(line),
        })
    return _pdf(html)


COLUMNS = ("accrued", "opv", "vosms", "ipn", "court", "withheld", "advance", "to_pay", "opvr", "so", "oosms", "sn")
COLUMN_LABELS = {
    "accrued": gettext_lazy("Accrued"), "opv": gettext_lazy("ОПВ"), "vosms": gettext_lazy("ВОСМС"),
    "ipn": gettext_lazy("ИПН"), "court": gettext_lazy("Court-ordered"), "withheld": gettext_lazy("Withheld"),
    "advance": gettext_lazy("Advance"), "to_pay": gettext_lazy("To pay"), "opvr": gettext_lazy("ОПВР"),
    "so": gettext_lazy("СО"), "oosms": gettext_lazy("ООСМС"), "sn": gettext_lazy("СН"),
}


def _statement_rows(run: PayrollRun, language: str):
    lines = run.lines.select_related("employee").defer("figures").order_by("employee__personnel_number")
    for line in lines.iterator(chunk_size=2000):
        name = line.employee.full_name_kk if language == "kk" else line.employee.full_name_ru
        yield line, name


def statement_xlsx(run: PayrollRun, language: str) -> bytes:
    from openpyxl import Workbook

    with translation.override(language):
        book = Workbook(write_only=True)
        sheet = book.create_sheet(str(_("Payroll statement"))[:31])
        title = _("Payroll statement for %(month)s") % {"month": run.label}
        sheet.append([title])
        sheet.append([run.institution.name_kk if language == "kk" else run.institution.name_ru])
        header = [str(_("Personnel number")), str(_("Full name")), str(_("IIN")), str(_("Days worked"))]
        header += [str(COLUMN_LABELS[c]) for c in COLUMNS]
        sheet.append(header)
        totals = dict.fromkeys(COLUMNS, ZERO)
        for line, name in _statement_rows(run, language):
            sheet.append([line.employee.personnel_number, name, line.employee.iin, line.days_worked,
                          *[getattr(line, c) for c in COLUMNS]])
            for c in COLUMNS:
                totals[c] += getattr(line, c)
        sheet.append([str(_("Total")), "", "", "", *[totals[c] for c in COLUMNS]])
        summary = book.create_sheet(str(_("By specific"))[:31])
        summary.append([str(_("Specific")), str(_("Amount"))])
        for row in summary_by_specific(run):
            summary.append([row["specific"], row["amount"]])
        out = io.BytesIO()
        book.save(out)
    return out.getvalue()


def statement_pdf(run: PayrollRun, language: str) -> bytes:
    with translation.override(language):
        rows = []
        totals = dict.fromkeys(COLUMNS, ZERO)
        for line, name in _statement_rows(run, language):
            rows.append({"line": line, "name": name, "values": [getattr(line, c) for c in COLUMNS]})
            for c in COLUMNS:
                totals[c] += getattr(line, c)
        html = render_to_string("payroll/statement_pdf.html", {
            "run": run, "rows": rows, "headers": [COLUMN_LABELS[c] for c in COLUMNS],
            "totals": [totals[c] for c in COLUMNS], "summary": summary_by_specific(run),
            "institution": run.institution.name_kk if language == "kk" else run.institution.name_ru,
        })
    return _pdf(html)


REGISTER_HEADER = ("number", "iin", "full_name", "iban", "item", "amount", "month", "paid_on")


def register_csv(register: PaymentRegister) -> bytes:
    """The register file for the bank or the treasury (one line per employee and item,
    semicolon-separated, UTF-8, amounts with a dot): docs/exchange/payroll-personnel.md."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(REGISTER_HEADER)
    for line in register.lines.select_related("employee").order_by("employee__personnel_number", "item"):
        writer.writerow([register.number, line.employee.iin, line.employee.full_name_ru, line.iban, line.item,
                         f"{line.amount:.2f}", register.run.label, register.paid_on.isoformat()])
    writer.writerow(["TOTAL", "", "", "", register.kind, f"{register.total:.2f}", register.run.label,
                     register.paid_on.isoformat()])
    return out.getvalue().encode("utf-8")
