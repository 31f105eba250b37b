"""What a scanned line is, before the count sees it. No Django here: the agent at the
workstation uses the same checks to show the operator a flag at once."""

import unicodedata

CODE_MAX = 128  # longer than any label's Code 128 or QR payload the register prints


def ean_check_digit(body: str) -> int:
    """GS1 check digit of the digits before it (EAN-8 and EAN-13 alike: weights 3,1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_ean(code: str) -> bool:
    return len(code) in (8, 13) and code.isascii() and code.isdigit()


def ean_valid(code: str) -> bool:
    return ean_check_digit(code[:-1]) == int(code[-1])


def classify(raw: str, *, partial: bool = False, noise: bool = False) -> tuple[str, str | None]:
    """(code, flag): the code as the count will look it up, and a flag when the line is not a
    usable code: "partial" (the line ended without its terminator or lacks its prefix/suffix),
    "noise" (empty, control characters, undecodable bytes, too long), "bad_check_digit" (an
    EAN-8/EAN-13 whose last digit does not match). None when the code goes to the count."""
    code = (raw or "").strip()
    if partial:
        return code[:CODE_MAX], "partial"
    if noise:
        return code[:CODE_MAX], "noise"
    if not code or len(code) > CODE_MAX:
        return code[:CODE_MAX], "noise"
    if "\ufffd" in code or any(unicodedata.category(ch)[0] == "C" for ch in code):
        return code[:CODE_MAX], "noise"
    if is_ean(code) and not ean_valid(code):
        return code, "bad_check_digit"
    return code, None
