"""Builders for the financing tests: the extra reference rows they need on top of the `world`
fixture (advances account 1270, capital financing 6020, the financing posting schemes), plan
documents as JSON or XLSX, contracts."""

import copy
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from ledger import reference
from ledger.models import Account, AccountKind
from ledger.schemes import load_schemes

from .factories import REF_FROM, make_bin

SCHEME = Path(__file__).resolve().parent.parent / "financing" / "data" / "posting_scheme.csv"
FILES = Path(__file__).resolve().parent / "financing_files"
YEAR = 2026
KEY = ("261", "003", "015", "141")


def add_financing_reference() -> None:
    for code, section, kind in (("1270", 1, AccountKind.ASSET), ("6020", 6, AccountKind.INCOME),
                                ("7040", 7, AccountKind.EXPENSE), ("7070", 7, AccountKind.EXPENSE)):
        Account.objects.get_or_create(code=code, defaults={"section": section, "kind": kind, "is_cash": False,
                                                           "name_ru": f"Счёт {code}", "name_kk": f"Шот {code}",
                                                           "valid_from": REF_FROM})
    load_schemes([SCHEME])
    reference.invalidate()


def months(*values) -> list[str]:
    """Twelve monthly amounts as strings; missing months are zero."""
    out = [str(Decimal(v)) for v in values] + ["0"] * (12 - len(values))
    return [str(Decimal(v).quantize(Decimal("0.01"))) for v in out]


def line(key=KEY, month_values=("100", "100", "100"), *, year_total=None) -> dict:
    m = months(*month_values) if not isinstance(month_values, list) or len(month_values) != 12 else month_values
    total = year_total if year_total is not None else str(sum(Decimal(x) for x in m))
    return {"administrator": key[0], "programme": key[1], "subprogramme": key[2], "specific": key[3],
            "months": m, "year": total}


def plan_doc(institution, *, kind="plan", doc_id="IPF-2026-1", number="1", date="2026-01-05", year=YEAR,
             lines=None, obligations=None, payments=None) -> dict:
    base = lines if lines is not None else [line()]
    return {"document_id": doc_id, "bin": institution.bin, "year": year, "kind": kind, "number": number,
            "date": date, "obligations": obligations if obligations is not None else base,
            "payments": payments if payments is not None else copy.deepcopy(base)}


def as_json(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def as_xlsx(doc: dict, *, sheet_names=("Документ", "Обязательства", "Платежи"),
            drop_column: str | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet_names[0]
    labels = {"document_id": "Идентификатор документа", "bin": "БИН", "year": "Год", "kind": "Вид",
              "number": "Номер", "date": "Дата"}
    for key, label in labels.items():
        ws.append([key, doc[key], label])
    heading = ["АБП", "Программа", "Подпрограмма", "Специфика", "Январь", "Февраль", "Март", "Апрель", "Май",
               "Июнь", "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь", "Год"]
    for title, plan_type in zip(sheet_names[1:], ("obligations", "payments"), strict=True):
        sheet = book.create_sheet(title)
        cols = [h for h in heading if h != drop_column]
        sheet.append(cols)
        for item in doc[plan_type]:
            values = [item["administrator"], item["programme"], item["subprogramme"], item["specific"],
                      *[_cell(v) for v in item["months"]], _cell(item["year"])]
            sheet.append([v for h, v in zip(heading, values, strict=True) if h != drop_column])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    try:
        d = Decimal(str(value))
    except Exception:  # noqa: BLE001 -- text stays text: the malformed corpus writes text on purpose
        return value
    return float(d) if d != d.to_integral_value() else int(d)


def supplier_bin(serial: str = "7") -> str:
    return make_bin(serial)


def contract_kwargs(**overrides) -> dict:
    values = {"counterparty_bin": supplier_bin(), "counterparty_name": "ТОО «Поставщик»", "number": "Д-1",
              "date": dt.date(YEAR, 1, 10), "programme": "261.003.015", "specific": "141",
              "years": {YEAR: Decimal("1000.00")}, "advance_percent": Decimal("30")}
    values.update(overrides)
    return values
