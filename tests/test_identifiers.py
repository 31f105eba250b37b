"""IIN and BIN: check digit (two weight rounds modulo 11), date part, entity type, length.

The worked examples are computed by hand in the comments; the property test holds the code
against a second, deliberately naive implementation written here."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from access.identifiers import (
    check_digit,
    complete,
    has_valid_check_digit,
    validate_bin,
    validate_iin,
    validate_iin_or_bin,
)


def naive_check_digit(first_eleven: str) -> int | None:
    first = sum(int(first_eleven[i]) * (i + 1) for i in range(11)) % 11
    if first != 10:
        return first
    weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
    second = sum(int(first_eleven[i]) * weights[i] for i in range(11)) % 11
    return None if second == 10 else second


def code_of(validator, value) -> str:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value.code


# 8·1 + 5·2 + 0·3 + 1·4 + 0·5 + 1·6 + 3·7 + 0 + 0 + 0 + 0 = 49; 49 mod 11 = 5
IIN_FIRST_ROUND = "850101300005"
# first round: 49 + 3·9 = 76; 76 mod 11 = 10 → second round:
# 8·3 + 5·4 + 0·5 + 1·6 + 0·7 + 1·8 + 3·9 + 0·10 + 3·11 + 0·1 + 0·2 = 118; 118 mod 11 = 8
IIN_SECOND_ROUND = "850101303008"
# 5·1 + 6·10 = 65 ≡ 10 and 5·3 + 6·1 = 21 ≡ 10: no check digit exists
NEVER_ISSUED = "50000000060"


def test_first_round_check_digit():
    assert check_digit(IIN_FIRST_ROUND[:11]) == 5
    assert has_valid_check_digit(IIN_FIRST_ROUND)
    validate_iin(IIN_FIRST_ROUND)


def test_second_round_when_the_first_gives_ten():
    assert check_digit(IIN_SECOND_ROUND[:11]) == 8
    assert complete(IIN_SECOND_ROUND[:11]) == IIN_SECOND_ROUND
    validate_iin(IIN_SECOND_ROUND)
    # the first round's 10 must not leak into the number as a digit 0 or 1
    assert code_of(validate_iin, IIN_SECOND_ROUND[:11] + "0") == "iin_check_digit"


def test_no_number_when_both_rounds_give_ten():
    assert check_digit(NEVER_ISSUED) is None
    assert complete(NEVER_ISSUED) is None
    assert not any(has_valid_check_digit(NEVER_ISSUED + str(d)) for d in range(10))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_agrees_with_a_naive_implementation(first_eleven):
    expected = naive_check_digit(first_eleven)
    assert check_digit(first_eleven) == expected
    if expected is None:
        assert complete(first_eleven) is None
    else:
        full = complete(first_eleven)
        assert full == first_eleven + str(expected)
        assert has_valid_check_digit(full)
        assert [d for d in range(10) if has_valid_check_digit(first_eleven + str(d))] == [expected]


@pytest.mark.parametrize("value", ["85010130000", "8501013000050", "85010130000a", "", " 850101300005"])
def test_iin_of_wrong_length_or_not_digits(value):
    assert code_of(validate_iin, value) == "iin_format"
    assert not has_valid_check_digit(value)


def test_iin_wrong_check_digit():
    assert code_of(validate_iin, "850101300006") == "iin_check_digit"


@pytest.mark.parametrize("birth, century_sex", [
    ("851301", "3"),  # month 13
    ("850132", "3"),  # 32 January
    ("850229", "3"),  # 1985 is not a leap year
    ("000229", "3"),  # 1900 was not a leap year either
    ("850100", "4"),  # day 0
])
def test_iin_must_begin_with_a_real_date_of_birth(birth, century_sex):
    first_eleven = birth + century_sex + "0001"
    digit = naive_check_digit(first_eleven)
    value = first_eleven + str(digit if digit is not None else 0)
    assert code_of(validate_iin, value) == "iin_birth_date"


def test_iin_leap_day_of_2000_is_a_date():
    first_eleven = "000229" + "5" + "0001"  # century digit 5: born in the 2000s
    validate_iin(first_eleven + str(naive_check_digit(first_eleven)))


def bin_with(prefix: str) -> str:
    """prefix (YYMM, type, division) + the first serial that has a check digit + that digit."""
    for serial in range(1, 100):
        first_eleven = prefix + str(serial).zfill(11 - len(prefix))
        if naive_check_digit(first_eleven) is not None:
            return first_eleven + str(naive_check_digit(first_eleven))
    raise AssertionError(prefix)


@pytest.mark.parametrize("entity_type", ["4", "5", "6"])
def test_bin_entity_types(entity_type):
    value = bin_with("0104" + entity_type + "0")
    validate_bin(value)
    validate_iin_or_bin(value)


@pytest.mark.parametrize("entity_type", ["0", "3", "7", "9"])
def test_bin_fifth_digit_must_be_an_entity_type(entity_type):
    assert code_of(validate_bin, bin_with("0104" + entity_type + "0")) == "bin_entity_type"


@pytest.mark.parametrize("month", ["00", "13", "99"])
def test_bin_must_begin_with_a_registration_month(month):
    assert code_of(validate_bin, bin_with("01" + month + "40")) == "bin_month"


def test_bin_wrong_check_digit_and_format():
    good = bin_with("0104" + "4" + "0")
    wrong = good[:11] + str((int(good[11]) + 1) % 10)
    assert code_of(validate_bin, wrong) == "bin_check_digit"
    assert code_of(validate_bin, good[:11]) == "bin_format"
    assert code_of(validate_bin, good + "0") == "bin_format"


def test_counterparty_identifier_is_told_apart_by_its_fifth_digit():
    validate_iin_or_bin(IIN_FIRST_ROUND)  # fifth digit 0: a day of birth, so an IIN
    assert code_of(validate_iin_or_bin, "850101300006") == "iin_check_digit"
    assert code_of(validate_iin_or_bin, bin_with("0113" + "4" + "0")) == "bin_month"
