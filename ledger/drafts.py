"""What a caller hands the ledger to post: plain frozen values, no ORM."""

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

# Limits, each with its reason (TigerBeetle style: everything has a bound).
LINES_PER_ENTRY_MAX = 500  # a payroll summary entry for a large institution stays well below
ENTRIES_PER_BATCH_MAX = 20_000  # one statement per batch; memory stays under ~100 MB
AMOUNT_MAX = Decimal("9999999999999999.99")  # NUMERIC(18,2)
# Column widths, so over-long input is a named refusal, not a database error.
TEXT_MAX = {"doc_type": 60, "doc_number": 60, "basis": 300}
LINE_DESCRIPTION_MAX = 300
CORRECTION_SUFFIX_LENGTH = 2


@dataclass(frozen=True)
class LineDraft:
    account: str  # account code, e.g. "7010"
    side: str  # "D" or "C"
    amount: Decimal
    specific: str
    administrator: str
    programme: str
    subprogramme: str
    funding_source: str  # funding source code
    counterparty_id: int | None = None
    employee_id: int | None = None
    asset_id: int | None = None
    description: str = ""

    def negated(self) -> "LineDraft":
        return replace(self, amount=-self.amount)


@dataclass(frozen=True)
class EntryDraft:
    date: dt.date
    doc_type: str
    doc_number: str
    description: str
    lines: tuple[LineDraft, ...]
    basis: str = ""
    memorial_order: int | None = None
    kind: str = "regular"
    reverses_id: int | None = None
    extra: dict = field(default_factory=dict, compare=False)
