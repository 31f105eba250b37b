"""Forms of the ledger pages: they parse what the user typed into drafts and filters.

Nothing here writes. The entry editor is a header form plus line rows named `line-<n>-<field>`
(rows are added and removed in the browser, so <n> has gaps); `EntryEditor` turns both into an
`EntryDraft` and maps every error, ours or `validate_entry`'s (`lines[2].specific`), to the
slot next to the field it concerns.
"""

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from access.errors import ControlError
from rules import services as rules_services
from rules.texts import language as rules_language

from . import facts as ledger_facts
from .drafts import LINES_PER_ENTRY_MAX, TEXT_MAX, EntryDraft, LineDraft
from .models import BudgetProgramme, Counterparty, EntryKind, FundingSource, Period, PeriodStatus, Side
from .reference import Reference
from .validation import SUPERSEDED_BY_RULES, validate_entry

LINE_FIELDS = ("account", "side", "amount", "specific", "programme", "funding_source", "counterparty",
               "description")
HEADER_FIELDS = ("date", "doc_type", "doc_number", "memorial_order", "description", "basis", "programme",
                 "funding_source", "reason", "cancel_only")
LINE_KEY = re.compile(r"^line-(\d{1,4})-(" + "|".join(LINE_FIELDS) + r")$")
ERROR_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
# Common primary documents of a state institution; the field stays free text.
DOC_TYPES = (
    _("Memorial order"), _("Payment order"), _("Invoice"), _("Certificate of completed works"),
    _("Waybill"), _("Advance report"), _("Payroll statement"), _("Cash receipt order"),
    _("Cash disbursement order"), _("Bank statement"), _("Accounting certificate"),
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def parse_amount(raw: str) -> Decimal | str:
    """'1 234,56', '1234.56' → Decimal; anything else is returned as typed so that
    validate_entry reports it as not a number."""
    text = (raw or "").strip().replace("\xa0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return raw or ""
    return value if value.is_finite() else raw


def programme_key(p: BudgetProgramme) -> str:
    return f"{p.administrator}.{p.programme}.{p.subprogramme}"


def programme_choices(institution, day: dt.date | None = None) -> list[tuple[str, str]]:
    """Programmes of the institution's administrator valid on `day` (all of them when the
    administrator has none), as 'administrator.programme.subprogramme'."""
    day = day or timezone.localdate()
    rows = [p for p in BudgetProgramme.objects.all() if p.is_valid_on(day)]
    own = [p for p in rows if institution is not None and p.administrator == institution.administrator_code]
    seen, choices = set(), []
    for p in own or rows:
        key = programme_key(p)
        if key not in seen:
            seen.add(key)
            choices.append((key, f"{key} {p.name}"))
    return choices


def funding_choices() -> list[tuple[str, str]]:
    return [(f.code, f.name) for f in FundingSource.objects.all()]


class Form(forms.Form):
    """Our wording for the length limit (Django's Kazakh catalogue lacks its own)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["max_length"] = _("At most %(limit_value)s characters (now %(show_value)s).")


class EntryHeaderForm(Form):
    """The header as typed. Required fields and lengths are left to validate_entry, so the
    form and the API refuse with the same words; the inputs still stop typing at the limit."""

    date = forms.DateField(label=_("Date"), widget=DateInput())
    doc_type = forms.CharField(label=_("Document type"), required=False, widget=forms.TextInput(
        attrs={"list": "dl-doc-types", "maxlength": TEXT_MAX["doc_type"]}))
    doc_number = forms.CharField(label=_("Document number"), required=False, widget=forms.TextInput(
        attrs={"maxlength": TEXT_MAX["doc_number"]}))
    memorial_order = forms.IntegerField(label=_("Memorial order"), min_value=1, max_value=999, required=False)
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    basis = forms.CharField(label=_("Basis document"), required=False, widget=forms.TextInput(
        attrs={"maxlength": TEXT_MAX["basis"]}))
    programme = forms.ChoiceField(label=_("Administrator · programme · subprogramme"))
    funding_source = forms.ChoiceField(label=_("Funding source"))

    def __init__(self, *args, institution=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = programme_choices(institution)
        self.fields["funding_source"].choices = funding_choices()


class CorrectionForm(Form):
    reason = forms.CharField(label=_("Reason for the correction"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    date = forms.DateField(label=_("Date of the correction"), widget=DateInput())
    description = forms.CharField(label=_("Description of the corrected entry"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    cancel_only = forms.BooleanField(label=_("Cancel only (reversal without a corrected entry)"), required=False)
    # Not required: a cancellation has no lines; the lines' own check names a missing one.
    programme = forms.ChoiceField(label=_("Administrator · programme · subprogramme"), required=False)
    funding_source = forms.ChoiceField(label=_("Funding source"), required=False)

    def __init__(self, *args, institution=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].choices = programme_choices(institution)
        self.fields["funding_source"].choices = funding_choices()


@dataclasses.dataclass
class LineRow:
    """One line row as typed: raw strings, and where its errors go."""

    n: int
    account: str = ""
    side: str = Side.DEBIT
    amount: str = ""
    specific: str = ""
    programme: str = ""  # "" = the header's default
    funding_source: str = ""  # "" = the header's default
    counterparty: str = ""  # IIN/BIN as typed
    description: str = ""

    @property
    def blank(self) -> bool:
        return not any((self.account, self.amount, self.specific, self.counterparty, self.description))

    def slot(self, field: str) -> str:
        return f"line-{self.n}-{field}"

    @property
    def slots(self) -> dict[str, str]:
        return {f: self.slot(f) for f in LINE_FIELDS}


def rows_from_post(data) -> list[LineRow]:
    rows: dict[int, LineRow] = {}
    for key in data:
        match = LINE_KEY.match(key)
        if match:
            n = int(match.group(1))
            row = rows.setdefault(n, LineRow(n=n))
            setattr(row, match.group(2), (data.get(key) or "").strip())
    return [rows[n] for n in sorted(rows)]


def blank_rows(count: int = 2) -> list[LineRow]:
    return [LineRow(n=i, side=Side.DEBIT if i % 2 == 0 else Side.CREDIT) for i in range(count)]


def rows_from_lines(lines, default_programme: str, default_funding: str, counterparties: dict) -> list[LineRow]:
    """Line rows prefilled from LineDrafts (the correction form starts from the original)."""
    rows = []
    for n, line in enumerate(lines):
        key = f"{line.administrator}.{line.programme}.{line.subprogramme}"
        rows.append(LineRow(
            n=n, account=line.account, side=line.side, amount=f"{Decimal(line.amount):.2f}",
            specific=line.specific, programme="" if key == default_programme else key,
            funding_source="" if line.funding_source == default_funding else line.funding_source,
            counterparty=counterparties.get(line.counterparty_id, "") if line.counterparty_id else "",
            description=line.description,
        ))
    return rows


class EntryEditor:
    """The entry (or corrected entry) as typed → a draft, totals and errors per slot."""

    def __init__(self, header: forms.Form, rows: list[LineRow], *, institution, ref: Reference,
                 doc_type: str | None = None, doc_number: str | None = None, description_default: str = ""):
        self.header = header
        self.rows = rows
        self.institution = institution
        self.ref = ref
        self.fixed_doc_type = doc_type
        self.fixed_doc_number = doc_number
        self.description_default = description_default
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.used_rows = [r for r in rows if not r.blank]
        self.draft: EntryDraft | None = None
        self.debit = Decimal(0)
        self.credit = Decimal(0)

    # -- errors ---------------------------------------------------------------------------
    def add(self, slot: str, message) -> None:
        message = str(message)
        if message not in self.errors[slot]:
            self.errors[slot].append(message)

    def add_control(self, error: ControlError) -> None:
        for one in getattr(error, "errors", None) or [error]:
            self.add(self.slot_of(one.field), one.message)

    def slot_of(self, field: str | None) -> str:
        if not field:
            return "general"
        match = ERROR_FIELD.match(field)
        if match:
            i, name = int(match.group(1)), match.group(2)
            if i < len(self.used_rows):
                return self.used_rows[i].slot(name if name in LINE_FIELDS else "account")
            return "lines"
        if field in ("lines", "counterparty"):
            return "lines"
        return field if field in self.header.fields else "general"

    @property
    def has_errors(self) -> bool:
        return any(self.errors.values())

    @property
    def difference(self) -> Decimal:
        return self.debit - self.credit

    def slots(self) -> list[str]:
        names = [name for name in HEADER_FIELDS if name in self.header.fields] + ["lines", "general"]
        for row in self.rows:
            names.extend(row.slot(f) for f in LINE_FIELDS)
        return names

    def hints(self) -> dict[str, str]:
        """Slot → the name of the account or specific typed there (shown under the code)."""
        hints = {}
        for row in self.rows:
            account = self.ref.accounts.get(row.account)
            hints[row.slot("account")] = account.name if account else ""
            specific = self.ref.specifics.get(row.specific)
            hints[row.slot("specific")] = specific.name if specific else ""
        return hints

    def line_views(self) -> list[dict]:
        """What the template needs per row: the values, the errors and hints per field."""
        hints = self.hints()
        return [
            {
                "row": row,
                "errors": {f: list(self.errors.get(row.slot(f), [])) for f in LINE_FIELDS},
                "hints": {f: hints.get(row.slot(f), "") for f in ("account", "specific")},
            }
            for row in self.rows
        ]

    def slot_errors(self) -> list[tuple[str, list[str]]]:
        """Every error slot of the form with its messages (empty ones too: they clear)."""
        return [(slot, list(self.errors.get(slot, []))) for slot in self.slots() if slot != "general"]

    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())

    # -- parsing --------------------------------------------------------------------------
    def _header_value(self, name: str, default=""):
        if self.header.is_bound and hasattr(self.header, "cleaned_data") and name in self.header.cleaned_data:
            value = self.header.cleaned_data[name]
            return default if value is None else value
        return default

    def build(self) -> EntryDraft | None:
        """Parse everything; fills self.errors and self.draft (None when the header cannot
        make a draft at all, e.g. no valid date)."""
        header_ok = self.header.is_valid()
        for name, messages in self.header.errors.items():
            for message in messages:
                self.add(name if name in self.header.fields else "general", message)
        day = self._header_value("date", None)
        default_programme = self._header_value("programme", "") or self.header.data.get("programme", "")
        default_funding = self._header_value("funding_source", "") or self.header.data.get("funding_source", "")
        if len(self.used_rows) > LINES_PER_ENTRY_MAX:
            self.add("lines", _g("An entry may have at most %(max)s lines.") % {"max": LINES_PER_ENTRY_MAX})
        counterparties = self._counterparties()
        lines = []
        for row in self.used_rows:
            amount = parse_amount(row.amount)
            if isinstance(amount, Decimal) and row.side in (Side.DEBIT, Side.CREDIT):
                if row.side == Side.DEBIT:
                    self.debit += amount
                else:
                    self.credit += amount
            programme = (row.programme or default_programme).split(".")
            if len(programme) != 3:
                programme = ["", "", ""]
            counterparty_id = None
            if row.counterparty:
                counterparty_id = counterparties.get(row.counterparty)
                if counterparty_id is None:
                    self.add(row.slot("counterparty"),
                             _g("Counterparty %(id)s is not in this institution's directory.")
                             % {"id": row.counterparty})
            lines.append(LineDraft(
                account=row.account, side=row.side, amount=amount, specific=row.specific,
                administrator=programme[0], programme=programme[1], subprogramme=programme[2],
                funding_source=row.funding_source or default_funding, counterparty_id=counterparty_id,
                description=row.description,
            ))
        if day is None:
            # Without a date the classification cannot be dated; check the rest as of today.
            day_for_checks = timezone.localdate()
        else:
            day_for_checks = day
        draft = EntryDraft(
            date=day_for_checks,
            doc_type=self.fixed_doc_type or self._header_value("doc_type", ""),
            doc_number=self.fixed_doc_number or self._header_value("doc_number", ""),
            description=self._header_value("description", "") or self.description_default,
            lines=tuple(lines),
            basis=self._header_value("basis", ""),
            memorial_order=self._header_value("memorial_order", None),
        )
        errors = validate_entry(draft, self.ref)
        if day is not None and header_ok and not any(e.code not in SUPERSEDED_BY_RULES for e in errors):
            # A well-formed entry: the ФЛК verdict the service will give, read-only.
            self._check_controls(draft)
        else:
            for error in errors:
                self.add_control(error)
            if day is not None:
                self._check_period(day)
        self.draft = draft if header_ok and day is not None else None
        return self.draft

    def _check_controls(self, draft: EntryDraft) -> None:
        """Preview the posting controls (FLC-PER-001, FLC-LED-001…004) with the institution's
        switches and parameters: no lock taken, nothing recorded; the service decides again
        under its locks on submit."""
        day = draft.date
        period = Period.objects.filter(institution=self.institution, year=day.year, month=day.month).first()
        balances = ledger_facts.read_cash_balances(self.institution.id, [draft], self.ref)
        verdict = rules_services.preview("posting", ledger_facts.posting_facts(draft, self.ref, period, balances),
                                         institution=self.institution, on_date=day)
        current = rules_language()
        for hit in verdict.blocks:
            self.add_control(ControlError(hit.code, hit.text(current), field=hit.field or None))

    def _counterparties(self) -> dict[str, int]:
        wanted = {r.counterparty for r in self.used_rows if r.counterparty}
        if not wanted or self.institution is None:
            return {}
        return dict(Counterparty.objects.filter(institution=self.institution, iin_bin__in=wanted)
                    .values_list("iin_bin", "id"))

    def _check_period(self, day: dt.date) -> None:
        """The same refusal the service gives, read-only, so the form warns before submit."""
        period = Period.objects.filter(institution=self.institution, year=day.year, month=day.month).first()
        if period is None:
            self.add("date", _g("There is no accounting period for %(date)s.") % {"date": day.isoformat()})
        elif period.status != PeriodStatus.OPEN:
            self.add("date", _g("Period %(period)s is %(status)s: entries dated %(date)s are not accepted.")
                     % {"period": str(period), "status": period.get_status_display().lower(),
                        "date": day.isoformat()})


class JournalFilterForm(Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    account = forms.CharField(label=_("Account"), required=False, max_length=4,
                              widget=forms.TextInput(attrs={"list": "dl-accounts", "size": 6}))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *EntryKind.choices])
    doc_number = forms.CharField(label=_("Document number"), required=False, max_length=60)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)


class TrialBalanceForm(Form):
    date_from = forms.DateField(label=_("From"), widget=DateInput())
    date_to = forms.DateField(label=_("To"), widget=DateInput())
    specific = forms.CharField(label=_("Specific"), required=False, max_length=3,
                               widget=forms.TextInput(attrs={"list": "dl-specifics", "size": 5}))
    funding_source = forms.ChoiceField(label=_("Funding source"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["funding_source"].choices = [("", _("All")), *[(str(f.id), f.name) for f in
                                                                    FundingSource.objects.all()]]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data


class AccountCardForm(TrialBalanceForm):
    account = forms.CharField(label=_("Account"), max_length=4,
                              widget=forms.TextInput(attrs={"list": "dl-accounts", "size": 6}))
    field_order = ["account", "date_from", "date_to", "specific", "funding_source"]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class CounterpartyForm(Form):
    """A new counterparty of the institution's directory; the service validates the IIN/BIN."""

    iin_bin = forms.CharField(label=_("IIN/BIN"), max_length=12, min_length=12)
    name = forms.CharField(label=_("Name"), max_length=300)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
