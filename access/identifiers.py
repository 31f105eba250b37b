"""IIN and BIN: the 12-digit identifiers of individuals and legal entities.

Both end in a check digit computed with two weight rounds modulo 11 (the public rule of the
national registries). A control value of 10 in both rounds means the number was never issued.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first_eleven: str) -> int | None:
    """Return the check digit for 11 leading digits, or None if no number can end them."""
    digits = [int(c) for c in first_eleven]
    control = sum(d * w for d, w in zip(digits, WEIGHTS_FIRST, strict=True)) % 11
    if control == 10:
        control = sum(d * w for d, w in zip(digits, WEIGHTS_SECOND, strict=True)) % 11
    return None if control == 10 else control


def has_valid_check_digit(value: str) -> bool:
    if len(value) != 12 or not value.isdigit():
        return False
    return check_digit(value[:11]) == int(value[11])


def complete(first_eleven: str) -> str | None:
    """The full 12-digit identifier for 11 leading digits (demo data and tests), or None."""
    digit = check_digit(first_eleven)
    return None if digit is None else first_eleven + str(digit)


def validate_iin(value: str) -> None:
    """IIN: YYMMDD of birth, a century-and-sex digit, serial, check digit."""
    if len(value) != 12 or not value.isdigit():
        raise ValidationError(_("IIN must be exactly 12 digits."), code="iin_format")
    century_sex = int(value[6])
    if 1 <= century_sex <= 6:
        century = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}[century_sex]
        try:
            dt.date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
        except ValueError:
            raise ValidationError(
                _("IIN must begin with a valid date of birth (YYMMDD)."), code="iin_birth_date"
            ) from None
    if not has_valid_check_digit(value):
        raise ValidationError(_("IIN check digit is wrong."), code="iin_check_digit")


def validate_bin(value: str) -> None:
    """BIN: YYMM of registration, entity type (4 resident, 5 non-resident, 6 joint
    entrepreneurship), a division digit, serial, check digit."""
    if len(value) != 12 or not value.isdigit():
        raise ValidationError(_("BIN must be exactly 12 digits."), code="bin_format")
    if not 1 <= int(value[2:4]) <= 12:
        raise ValidationError(_("BIN must begin with a registration year and month (YYMM)."),
                              code="bin_month")
    if value[4] not in "456":
        raise ValidationError(_("BIN fifth digit must be 4, 5 or 6 (type of entity)."),
                              code="bin_entity_type")
    if not has_valid_check_digit(value):
        raise ValidationError(_("BIN check digit is wrong."), code="bin_check_digit")


def validate_iin_or_bin(value: str) -> None:
    """A counterparty is a person (IIN) or an entity (BIN); the fifth digit tells which."""
    if len(value) == 12 and value.isdigit() and value[4] in "456":
        validate_bin(value)
    else:
        validate_iin(value)
