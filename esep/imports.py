"""The shape every import refuses a file in (financing plans, contracts from ЭМС, treasury
statements, personnel data, e-invoices, scanner batch files).

An import is all-or-nothing: the validator reads the whole file, collects every problem it
finds, and only a file with none is written, in one transaction. A problem says where
(sheet, row, column), what was there (value), which rule it broke (a stable code) and why,
in the user's language. `ImportRefused` is a ControlErrors, so the API answers 422 with
the full list and a page can show it as a table.
"""

from dataclasses import dataclass

from django.utils.functional import Promise

from access.errors import ControlError, ControlErrors

PROBLEMS_MAX = 1000  # a broken 10,000-line file answers with its first thousand problems, not megabytes


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str | Promise
    sheet: str = ""
    row: int | None = None  # 1-based, as the user sees it in the file or spreadsheet
    column: str = ""
    value: str = ""

    def as_error(self) -> ControlError:
        where = (("sheet", self.sheet), ("row", self.row), ("value", self.value))
        params = {k: v for k, v in where if v not in ("", None)}
        return ControlError(self.rule, self.message, field=self.column or None, **params)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": str(self.message), "sheet": self.sheet, "row": self.row,
                "column": self.column, "value": self.value}


class Problems:
    """Collects problems while a validator walks a file."""

    def __init__(self):
        self.items: list[Problem] = []
        self.truncated = False

    def add(self, rule: str, message, *, sheet: str = "", row: int | None = None, column: str = "",
            value="") -> None:
        if len(self.items) >= PROBLEMS_MAX:
            self.truncated = True
            return
        text = "" if value is None else str(value)
        self.items.append(Problem(rule, message, sheet, row, column, text[:200]))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportRefused(self.items, truncated=self.truncated)


class ImportRefused(ControlErrors):
    """The file was refused and nothing was written; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem], *, truncated: bool = False):
        self.problems = problems
        self.truncated = truncated
        super().__init__([p.as_error() for p in problems])

    def as_dict(self) -> dict:
        return {"code": "import_refused", "truncated": self.truncated,
                "errors": [p.as_dict() for p in self.problems]}
