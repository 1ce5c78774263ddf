"""Numbers as English words: cardinals, ordinals, years, decimals, money."""

from __future__ import annotations

ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SCALES = (
    (10**15, "quadrillion"), (10**12, "trillion"), (10**9, "billion"), (10**6, "million"),
    (1000, "thousand"),
)
# Irregular ordinal endings; the rest add "th" (with y -> ie).
ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_hundred(n: int) -> str:
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + (f"-{ONES[ones]}" if ones else "")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{ONES[hundreds]} hundred"] if hundreds else []
    if rest or not hundreds:
        parts.append(_below_hundred(rest))
    return " ".join(parts)


def cardinal(n: int) -> str:
    """1234 -> 'one thousand two hundred thirty-four' (US style, no 'and')."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 1000:
        return _below_thousand(n)
    parts = []
    for scale, name in SCALES:
        if n >= scale:
            count, n = divmod(n, scale)
            parts.append(f"{cardinal(count)} {name}")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def ordinal(n: int) -> str:
    """23 -> 'twenty-third'."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in ORDINAL_WORDS:
        last = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def digits(text: str) -> str:
    """'0314' -> 'zero three one four' (decimals, codes)."""
    return " ".join(ONES[int(d)] for d in text if d.isdigit())


def decimal(text: str) -> str:
    """'3.14' -> 'three point one four'; '1,234.5' -> '... point five'."""
    whole, _, frac = text.replace(",", "").partition(".")
    words = cardinal(int(whole or "0"))
    return f"{words} point {digits(frac)}" if frac else words


def year(n: int) -> str:
    """1999 -> 'nineteen ninety-nine', 2024 -> 'twenty twenty-four', 2005 -> 'two thousand five'."""
    if not 1000 <= n <= 9999:
        return cardinal(n)
    century, rest = divmod(n, 100)
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return cardinal(n)
    if rest == 0:
        return f"{cardinal(century)} hundred"
    if rest < 10:
        return f"{cardinal(century)} oh {ONES[rest]}"
    return f"{cardinal(century)} {_below_hundred(rest)}"


def clock(hours: int, minutes: int) -> str:
    """(9, 30) -> 'nine thirty', (14, 5) -> 'fourteen oh five', (9, 0) -> "nine o'clock"."""
    if minutes == 0:
        return f"{cardinal(hours)} o'clock"
    if minutes < 10:
        return f"{cardinal(hours)} oh {ONES[minutes]}"
    return f"{cardinal(hours)} {_below_hundred(minutes)}"
