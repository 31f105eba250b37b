"""Pure checks of an entry draft against reference data: values in, errors out.

Every error names the field (`lines[2].specific`) and the rule, in the user's language.
The database re-checks what it can (balance, periods, tenants); these checks exist so the
user learns everything wrong with a form at once, in words, before anything is written.
"""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from access.errors import ControlError

from .drafts import (
    AMOUNT_MAX,
    CORRECTION_SUFFIX_LENGTH,
    LINE_DESCRIPTION_MAX,
    LINES_PER_ENTRY_MAX,
    TEXT_MAX,
    EntryDraft,
)
from .reference import Reference

# Faults whose refusal, on an otherwise well-formed entry, comes from the ФЛК catalogue
# (FLC-LED-001 balance, FLC-LED-003 classification) with the rule's code and message.
SUPERSEDED_BY_RULES = frozenset({"unbalanced", "specific_not_valid", "programme_not_valid"})


def validate_entry(draft: EntryDraft, ref: Reference) -> list[ControlError]:
    errors: list[ControlError] = []
    if not draft.doc_number.strip():
        errors.append(ControlError("required", _("Document number is required."), field="doc_number"))
    if not draft.description.strip():
        errors.append(ControlError("required", _("Description is required."), field="description"))
    if not draft.doc_type.strip():
        errors.append(ControlError("required", _("Document type is required."), field="doc_type"))
    for name, limit in TEXT_MAX.items():
        if name == "doc_number" and draft.kind != "regular":
            limit += CORRECTION_SUFFIX_LENGTH  # the service appends "-С" / "-И" to the original's number
        if len(getattr(draft, name)) > limit:
            errors.append(ControlError("too_long", _("At most %(max)s characters.") % {"max": limit}, field=name))
    if len(draft.lines) < 2:
        errors.append(ControlError("too_few_lines", _("An entry needs at least one debit and one credit line."),
                                   field="lines"))
    if len(draft.lines) > LINES_PER_ENTRY_MAX:
        errors.append(ControlError(
            "too_many_lines",
            _("An entry may have at most %(max)s lines.") % {"max": LINES_PER_ENTRY_MAX}, field="lines",
        ))
    day = draft.date
    debit = credit = Decimal(0)
    reversal = draft.kind == "reversal"
    for i, line in enumerate(draft.lines):
        where = f"lines[{i}]"
        try:
            amount = Decimal(line.amount)
        except (InvalidOperation, TypeError, ValueError):
            errors.append(ControlError("amount_invalid", _("Amount must be a number."), field=f"{where}.amount"))
            amount = None  # the rest of the line is still checked; only the totals skip it
        if amount is None:
            pass
        elif not amount.is_finite() or amount.as_tuple().exponent < -2:
            errors.append(ControlError("amount_precision", _("Amount must have at most two decimals (tiyn)."),
                                       field=f"{where}.amount"))
        elif amount == 0 or (amount < 0 and not reversal):
            errors.append(ControlError("amount_positive", _("Amount must be greater than zero."),
                                       field=f"{where}.amount"))
        elif abs(amount) > AMOUNT_MAX:
            errors.append(ControlError("amount_too_large", _("Amount is too large."), field=f"{where}.amount"))
        if len(line.description) > LINE_DESCRIPTION_MAX:
            errors.append(ControlError("too_long", _("At most %(max)s characters.") % {"max": LINE_DESCRIPTION_MAX},
                                       field=f"{where}.description"))
        if line.side not in ("D", "C"):
            errors.append(ControlError("side_invalid", _("Side must be debit or credit."), field=f"{where}.side"))
        elif amount is None:
            pass
        elif line.side == "D":
            debit += amount
        else:
            credit += amount
        account = ref.accounts.get(line.account)
        if account is None:
            errors.append(ControlError(
                "account_unknown", _("Account %(code)s is not in the chart of accounts.") % {"code": line.account},
                field=f"{where}.account",
            ))
        elif not account.is_valid_on(day):
            errors.append(ControlError(
                "account_not_valid",
                _("Account %(code)s is not valid on %(date)s.") % {"code": line.account, "date": day.isoformat()},
                field=f"{where}.account",
            ))
        specific = ref.specifics.get(line.specific)
        if specific is None or not specific.is_valid_on(day):
            errors.append(ControlError(
                "specific_not_valid",
                _("Specific %(code)s is not in the economic classification on %(date)s.")
                % {"code": line.specific, "date": day.isoformat()},
                field=f"{where}.specific",
            ))
        if not ref.programme_valid(line.administrator, line.programme, line.subprogramme, day):
            errors.append(ControlError(
                "programme_not_valid",
                _("Budget programme %(code)s is not in the classification on %(date)s.")
                % {"code": f"{line.administrator}.{line.programme}.{line.subprogramme}", "date": day.isoformat()},
                field=f"{where}.programme",
            ))
        if line.funding_source not in ref.funding_sources:
            errors.append(ControlError(
                "funding_source_unknown",
                _("Funding source %(code)s is unknown.") % {"code": line.funding_source},
                field=f"{where}.funding_source",
            ))
    if not errors and debit != credit:
        errors.append(ControlError(
            "unbalanced",
            _("Debits (%(debit)s) must equal credits (%(credit)s).") % {"debit": debit, "credit": credit},
            field="lines",
        ))
    return errors
