"""Deterministic generated ledger: entries of three postings (D a+b / C a / C b) spread
evenly over one year, random accounts from the chart, ~30 specifics, the demo programmes.

The entries pass the ФЛК controls of the service path: a line on an account listed in the
account–specific correspondence table takes one of its specifics (FLC-LED-002), and a cash
account is credited only while its running balance covers it (FLC-LED-004), so entries
fed in order never take cash below zero.

The generator keeps its own per-account totals in tiyn (integers), the third witness
beside the database and the tools.
"""

import calendar
import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.drafts import EntryDraft, LineDraft
from ledger.reference import Reference

DOC_TYPES = ("Мемориальный ордер", "Платёжное поручение", "Акт выполненных работ", "Накладная", "Авансовый отчёт")
WORDS = ("оплата", "поставщику", "по договору", "за услуги", "связи", "коммунальные", "канцтовары", "ремонт",
         "заработная плата", "командировочные", "аренда", "обучение", "медикаменты", "питание", "ГСМ")
SPECIFICS_WANTED = 30
FUNDING_USED = ("budget_local", "budget_republican", "paid_services")


@dataclass
class Shape:
    """What the generated entries may use, read from the reference snapshot."""

    year: int
    accounts: list[str]
    specifics: list[str]
    programmes: list[tuple[str, str, str]]
    funding: list[str]
    allowed_specifics: dict[str, list[str]] = field(default_factory=dict)  # correspondence table
    cash: frozenset[str] = frozenset()

    @classmethod
    def from_reference(cls, ref: Reference, year: int) -> "Shape":
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)

        def whole_year(row) -> bool:
            return row.valid_from <= first and (row.valid_to is None or row.valid_to >= last)

        accounts = sorted(code for code, a in ref.accounts.items() if whole_year(a))
        specifics = sorted(code for code, s in ref.specifics.items() if whole_year(s))[:SPECIFICS_WANTED]
        programmes = sorted(key for key, rows in ref.programmes.items() if any(whole_year(r) for r in rows))
        funding = [code for code in FUNDING_USED if code in ref.funding_sources] or sorted(ref.funding_sources)[:1]
        allowed = {}
        for code, rows in ref.correspondence.items():
            if any(row.valid_from <= last and (row.valid_to is None or row.valid_to >= first) for row in rows):
                # an account with rows takes only their specifics: keep it only if they hold all year
                allowed[code] = sorted({row.specific.code for row in rows if whole_year(row)})
        accounts = [code for code in accounts if allowed.get(code, True)]
        cash = frozenset(code for code in accounts if ref.accounts[code].is_cash)
        return cls(year, accounts, specifics, programmes, funding, allowed, cash)


@dataclass
class Generator:
    shape: Shape
    entries_total: int
    seed: int = 20251
    prefix: str = "Б"
    debit_tiyn: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credit_tiyn: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    produced: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.cash_tiyn: dict[str, int] = defaultdict(int)  # running balance of each cash account
        self.non_cash = [code for code in self.shape.accounts if code not in self.shape.cash]
        days = 366 if calendar.isleap(self.shape.year) else 365
        self.first_day = dt.date(self.shape.year, 1, 1)
        self.days = days
        # Each account is funded from one source (so turnovers have ~accounts × 12 × specifics rows).
        self.funding_of = {code: self.shape.funding[i % len(self.shape.funding)]
                           for i, code in enumerate(self.shape.accounts)}

    def next_drafts(self, count: int) -> list[EntryDraft]:
        """The next `count` entries, in date order over the whole ledger."""
        rng, shape = self.rng, self.shape
        drafts = []
        for i in range(self.produced, min(self.produced + count, self.entries_total)):
            day = self.first_day + dt.timedelta(days=i * self.days // self.entries_total)
            debit_acc, credit_a, credit_b = rng.sample(shape.accounts, 3)
            a_tiyn = rng.randrange(100, 10_000_000)
            b_tiyn = rng.randrange(100, 10_000_000)
            if credit_a in shape.cash and self.cash_tiyn[credit_a] < a_tiyn:
                credit_a = self._other(debit_acc, credit_b)
            if credit_b in shape.cash and self.cash_tiyn[credit_b] < b_tiyn:
                credit_b = self._other(debit_acc, credit_a)
            for code, change in ((debit_acc, a_tiyn + b_tiyn), (credit_a, -a_tiyn), (credit_b, -b_tiyn)):
                if code in shape.cash:
                    self.cash_tiyn[code] += change
            programme = shape.programmes[rng.randrange(len(shape.programmes))]
            text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} № {i}"

            def line(code, side, tiyn, programme=programme, text=text):
                return LineDraft(
                    account=code, side=side, amount=Decimal(tiyn).scaleb(-2),
                    specific=self._specific(code),
                    administrator=programme[0], programme=programme[1], subprogramme=programme[2],
                    funding_source=self.funding_of[code], description=text,
                )

            drafts.append(EntryDraft(
                date=day, doc_type=DOC_TYPES[i % len(DOC_TYPES)], doc_number=f"{self.prefix}-{i + 1}",
                description=text, lines=(line(debit_acc, "D", a_tiyn + b_tiyn), line(credit_a, "C", a_tiyn),
                                         line(credit_b, "C", b_tiyn)),
            ))
            self.debit_tiyn[debit_acc] += a_tiyn + b_tiyn
            self.credit_tiyn[credit_a] += a_tiyn
            self.credit_tiyn[credit_b] += b_tiyn
        self.produced += len(drafts)
        return drafts

    def _other(self, *taken: str) -> str:
        """A non-cash account not already on the entry."""
        while True:
            code = self.non_cash[self.rng.randrange(len(self.non_cash))]
            if code not in taken:
                return code

    def _specific(self, account: str) -> str:
        allowed = self.shape.allowed_specifics.get(account) or self.shape.specifics
        return allowed[self.rng.randrange(len(allowed))]

    def net_tiyn(self) -> dict[str, int]:
        """Debit minus credit per account code, over everything produced so far."""
        codes = set(self.debit_tiyn) | set(self.credit_tiyn)
        return {c: self.debit_tiyn.get(c, 0) - self.credit_tiyn.get(c, 0) for c in codes}
