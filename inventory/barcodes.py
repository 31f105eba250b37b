"""Barcode values of the register's labels.

A label's value is the institution's BIN (12 digits) followed by an 8-digit serial number of
the asset within the institution: 20 digits, printed as Code 128 (set C packs two digits per
symbol, so the bar stays short) and as a QR code. Because the BIN leads, a label of another
institution is recognised as such (it is not an unknown code), and no label value can be
mistaken for an EAN-8 or EAN-13 (lengths 8 and 13). An asset may also carry a label it came
with (a manufacturer's EAN, an earlier system's sticker): any value unique in the institution.
"""

from access.identifiers import has_valid_check_digit

BIN_LENGTH = 12
SERIAL_DIGITS = 8
LENGTH = BIN_LENGTH + SERIAL_DIGITS
SERIAL_MAX = 10**SERIAL_DIGITS - 1  # a hundred million assets per institution


def make(bin_: str, serial: int) -> str:
    if not (0 < serial <= SERIAL_MAX):
        raise ValueError(f"serial {serial} out of range 1..{SERIAL_MAX}")
    return f"{bin_}{serial:0{SERIAL_DIGITS}d}"


def owner_bin(code: str) -> str | None:
    """The BIN a label value names, or None when the value is not in the register's layout."""
    if len(code) == LENGTH and code.isascii() and code.isdigit() and has_valid_check_digit(code[:BIN_LENGTH]):
        return code[:BIN_LENGTH]
    return None
