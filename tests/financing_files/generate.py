"""Regenerate the golden and malformed financing files (run once; the files are committed):

    DJANGO_SETTINGS_MODULE=esep.settings .venv/bin/python -m tests.financing_files.generate

They are made for institution A of tests/factories.py (its BIN is deterministic) and the
reference of the `world` fixture (programme 261.003.015, specifics 111, 141, 414)."""

import copy
import json
from pathlib import Path

import django

django.setup()

from tests.factories import make_bin  # noqa: E402
from tests.financing_support import as_json, as_xlsx, line, plan_doc  # noqa: E402

HERE = Path(__file__).resolve().parent


class A:
    bin = make_bin("1")


def golden_plan() -> dict:
    lines = [
        line(("261", "003", "015", "111"), ["500000.00"] * 12),
        line(("261", "003", "015", "141"), ["100.00", "100.00", "100.00", "50.50", "0", "0", "0", "0", "0", "0",
                                            "0", "0"]),
        line(("261", "003", "015", "414"), ["0", "0", "0", "0", "0", "250000.00", "0", "0", "0", "0", "0", "0"]),
    ]
    return plan_doc(A, doc_id="PLAN-2026-GU-A", number="ИПФ-1", date="2026-01-05", lines=lines)


def golden_certificate() -> dict:
    lines = [line(("261", "003", "015", "141"), ["0", "0", "50.00", "-50.50", "0", "0", "0", "0", "0", "0", "0",
                                                 "0"])]
    return plan_doc(A, kind="certificate", doc_id="CERT-2026-GU-A-1", number="С-1", date="2026-03-10", lines=lines)


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def main():
    plan = golden_plan()
    write("golden/plan.json", as_json(plan))
    write("golden/plan.xlsx", as_xlsx(plan))
    write("golden/certificate.json", as_json(golden_certificate()))
    write("golden/certificate.xlsx", as_xlsx(golden_certificate()))
    expected: dict[str, list[str]] = {}

    def bad(name: str, rules: list[str], change=None, *, fmt="json", data: bytes | None = None, **xlsx):
        doc = copy.deepcopy(plan)
        if change:
            change(doc)
        if data is None:
            data = as_json(doc) if fmt == "json" else as_xlsx(doc, **xlsx)
        write(f"malformed/{name}", data)
        expected[name] = rules

    def both(doc, fn):
        for t in ("obligations", "payments"):
            fn(doc[t])

    bad("wrong_specific.json", ["FIN-IMP-CODE"], lambda d: both(d, lambda ls: ls[1].update(specific="999")))
    bad("wrong_programme.json", ["FIN-IMP-CODE"], lambda d: both(d, lambda ls: ls[0].update(programme="998")))
    bad("wrong_administrator.json", ["FIN-IMP-CODE"], lambda d: both(d, lambda ls: ls[0].update(administrator="777")))
    bad("code_not_digits.json", ["FIN-IMP-CODE"],
        lambda d: both(d, lambda ls: ls[0].update(specific="1x1")))
    bad("bin_mismatch.json", ["FIN-IMP-BIN"], lambda d: d.update(bin=make_bin("9")))
    bad("total_mismatch.json", ["FIN-IMP-TOTAL"], lambda d: d["obligations"][1].update(year="351.00"))
    bad("text_in_amount.json", ["FIN-IMP-AMOUNT"], lambda d: d["payments"][1]["months"].__setitem__(2, "сто"))
    bad("three_decimals.json", ["FIN-IMP-AMOUNT"], lambda d: d["payments"][1]["months"].__setitem__(0, "100.005"))
    bad("negative_month.json", ["FIN-IMP-NEGATIVE"], lambda d: both(d, lambda ls: (
        ls[1]["months"].__setitem__(0, "-100.00"), ls[1].update(year="150.50"))))
    bad("missing_payments.json", ["FIN-IMP-COLUMN"], lambda d: d.pop("payments"))
    bad("missing_months.json", ["FIN-IMP-COLUMN"], lambda d: d["obligations"][0].pop("months"))
    bad("duplicate_line.json", ["FIN-IMP-DUPLICATE"], lambda d: both(d, lambda ls: ls.append(copy.deepcopy(ls[0]))))
    bad("wrong_year.json", ["FIN-IMP-YEAR"], lambda d: d.update(date="2024-12-20"))
    bad("year_out_of_range.json", ["FIN-IMP-SCHEMA", "FIN-IMP-YEAR"], lambda d: d.update(year=1999))
    bad("bad_kind.json", ["FIN-IMP-SCHEMA", "FIN-IMP-KIND"], lambda d: d.update(kind="draft"))
    bad("structure_mismatch.json", ["FIN-IMP-STRUCTURE"], lambda d: d["payments"].pop(2))
    bad("plans_differ_in_year_total.json", ["FIN-IMP-STRUCTURE"], lambda d: d["payments"].__setitem__(
        1, line(("261", "003", "015", "141"), ["100.00"] * 3)))
    bad("no_lines.json", ["FIN-IMP-EMPTY"], lambda d: d.update(obligations=[], payments=[]))
    bad("empty.json", ["FIN-IMP-EMPTY"], data=b"")
    bad("truncated.json", ["FIN-IMP-FORMAT"], data=as_json(plan)[:300])
    bad("cp1251.json", ["FIN-IMP-ENCODING"], data=json.dumps(
        {**plan, "number": "ИПФ-1"}, ensure_ascii=False).encode("cp1251"))
    bad("array_document.json", ["FIN-IMP-SCHEMA"], data=b"[1, 2, 3]")
    full = as_xlsx(plan)
    bad("truncated.xlsx", ["FIN-IMP-FORMAT"], data=full[: len(full) // 2])
    bad("corrupt.xlsx", ["FIN-IMP-FORMAT"], data=b"PK\x03\x04 this is not really a workbook" * 10)
    bad("empty.xlsx", ["FIN-IMP-EMPTY"], data=b"")
    bad("missing_column.xlsx", ["FIN-IMP-COLUMN"], fmt="xlsx", drop_column="Март")
    bad("missing_sheet.xlsx", ["FIN-IMP-SHEET"], fmt="xlsx", sheet_names=("Документ", "Обязательства", "Прочее"))
    bad("text_in_amount.xlsx", ["FIN-IMP-AMOUNT"], lambda d: d["obligations"][0]["months"].__setitem__(4, "пятьсот"),
        fmt="xlsx")
    bad("bin_mismatch.xlsx", ["FIN-IMP-BIN"], lambda d: d.update(bin=make_bin("9")), fmt="xlsx")
    bad("negative_month.xlsx", ["FIN-IMP-NEGATIVE"], lambda d: both(d, lambda ls: (
        ls[2]["months"].__setitem__(5, "-1.00"), ls[2].update(year="-1.00"))), fmt="xlsx")
    bad("total_mismatch.xlsx", ["FIN-IMP-TOTAL"], lambda d: d["payments"][0].update(year="1.00"), fmt="xlsx")
    bad("duplicate_line.xlsx", ["FIN-IMP-DUPLICATE"], lambda d: both(d, lambda ls: ls.append(copy.deepcopy(ls[1]))),
        fmt="xlsx")
    (HERE / "malformed" / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
    print(f"{len(expected)} malformed files")


if __name__ == "__main__":
    main()
