"""Template filters of the Esep UI: money, role names, month names, error slots."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from access.roles import Role

register = template.Library()

MONTHS = {
    1: _("January"), 2: _("February"), 3: _("March"), 4: _("April"), 5: _("May"), 6: _("June"),
    7: _("July"), 8: _("August"), 9: _("September"), 10: _("October"), 11: _("November"), 12: _("December"),
}


def separators() -> tuple[str, str]:
    """(decimal separator, thousands separator) of the active language. Django ships no number
    formats for Kazakh; Kazakh writes numbers as Russian does (1 234 567,89), so kk borrows
    ru's formats."""
    lang = (get_language() or "ru").split("-")[0]
    fmt_lang = "ru" if lang == "kk" else lang
    return get_format("DECIMAL_SEPARATOR", fmt_lang, use_l10n=True), get_format(
        "THOUSAND_SEPARATOR", fmt_lang, use_l10n=True)


@register.filter
def money(value, arg: str = ""):
    """Tenge with tiyn: thousands grouped, two decimals, in the active language's separators.
    `|money:"blank"` shows zero as an empty cell (reports)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    if arg == "blank" and number == 0:
        return ""
    decimal_sep, thousand_sep = separators()
    return numberformat.format(number, decimal_sep, decimal_pos=2, grouping=3, thousand_sep=thousand_sep,
                               force_grouping=True)


@register.filter
def role_label(code: str):
    try:
        return Role(code).label
    except ValueError:
        return code


@register.filter
def roles_label(codes) -> str:
    if isinstance(codes, str):
        codes = [c for c in codes.split(",") if c]
    return ", ".join(str(role_label(c)) for c in codes)


@register.filter
def month_name(month) -> str:
    try:
        return MONTHS[int(month)]
    except (KeyError, TypeError, ValueError):
        return ""


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def isodate(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else (value or "")


@register.filter
def balance(value):
    """A signed balance (debit positive) as an amount without sign; pair with balance_side."""
    if value is None or value == "":
        return ""
    return money(abs(Decimal(value)))


@register.filter
def balance_side(value) -> str:
    """'Dt' or 'Ct' for a signed balance (debit positive); nothing for zero."""
    from django.utils.translation import gettext

    if value is None or value == "" or Decimal(value) == 0:
        return ""
    return gettext("Dt") if Decimal(value) > 0 else gettext("Ct")
