"""Written forms (numbers, money, dates, URLs, abbreviations) expanded into the words spoken.

The captions show these words and Piper speaks exactly them, so nothing is left for espeak
to read its own way: every digit and symbol becomes a plain word here.
"""

from __future__ import annotations

import re

from pipeline.text import numbers as num
from pipeline.text.markup import drop_symbols, fold_typography

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
MONTH_ABBREV = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_ABBREV = {d[:3]: d for d in WEEKDAYS} | {"Tues": "Tuesday", "Thur": "Thursday", "Thurs": "Thursday"}

# symbol: (one, many, hundredth-one, hundredths-many)
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
}
MULTIPLIERS = {
    "k": "thousand", "K": "thousand", "thousand": "thousand",
    "m": "million", "M": "million", "mn": "million", "million": "million",
    "b": "billion", "B": "billion", "bn": "billion", "billion": "billion",
    "t": "trillion", "T": "trillion", "tn": "trillion", "trillion": "trillion",
}
# unit: (singular, plural). Ambiguous one-letter units (m, g, s, l) are left alone on purpose.
UNITS = {
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"), "lbs": ("pounds", "pounds"),
    "oz": ("ounce", "ounces"), "mi": ("mile", "miles"), "ft": ("foot", "feet"),
    "mph": ("mile per hour", "miles per hour"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "ml": ("milliliter", "milliliters"),
    "KB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"), "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"),
    "kW": ("kilowatt", "kilowatts"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "ms": ("millisecond", "milliseconds"), "hrs": ("hours", "hours"), "hr": ("hour", "hours"),
    "min": ("minute", "minutes"), "mins": ("minutes", "minutes"), "sec": ("second", "seconds"),
    "°C": ("degree Celsius", "degrees Celsius"), "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"), "x": ("times", "times"),
}
FRACTIONS = {"1/2": "one half", "1/3": "one third", "2/3": "two thirds", "1/4": "one quarter",
             "3/4": "three quarters", "24/7": "twenty-four seven"}

# Abbreviations: (pattern, spoken, may end a sentence). Those that can end a sentence keep
# their full stop when they are last, so the sentence still ends with punctuation.
ABBREVIATIONS = (
    (r"\bDr\.", "Doctor", False), (r"\bMr\.", "Mister", False), (r"\bMrs\.", "Missus", False),
    (r"\bMs\.", "Miz", False), (r"\bProf\.", "Professor", False), (r"\bMt\.", "Mount", False),
    (r"\bSt\.(?=\s+[A-Z])", "Saint", False), (r"\bSt\.", "Street", True),
    (r"\bAve\.", "Avenue", True), (r"\bJr\.", "Junior", True), (r"\bSr\.", "Senior", True),
    (r"\bvs\.?(?=\s)", "versus", False), (r"\betc\.", "et cetera", True),
    (r"\be\.g\.,?", "for example,", False), (r"\bi\.e\.,?", "that is,", False),
    (r"\bapprox\.", "approximately", False), (r"\bNo\.(?=\s*\d)", "number", False),
    (r"\bno\.(?=\s*\d)", "number", False), (r"\bInc\.", "Incorporated", True),
    (r"\bLtd\.", "Limited", True), (r"\bCorp\.", "Corporation", True), (r"\bCo\.", "Company", True),
    (r"\bfig\.", "figure", False), (r"\bFig\.", "Figure", False), (r"\bdept\.", "department", True),
)

NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
MONTH_NAME = r"(?:" + "|".join(MONTHS) + "|" + "|".join(MONTH_ABBREV) + r")\.?"
DAY_SUFFIX = r"(?:st|nd|rd|th)?"

EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|io|ai|dev|co|edu|gov|app|info|me|tv|ly|uk|us|de)"
    r"\b(?:/[^\s<>\"']*)?"
)
HANDLE = re.compile(r"(?<![\w@])@([A-Za-z_]\w*)")
HASHTAG = re.compile(r"(?<![\w#])#([A-Za-z]\w*)")
NUMBER_SIGN = re.compile(r"(?<![\w#])#\s?(?=\d)")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
MONTH_DAY = re.compile(rf"\b({MONTH_NAME})\s+(\d{{1,2}}){DAY_SUFFIX}\b(?:,?\s+(\d{{4}})\b)?")
DAY_MONTH = re.compile(rf"\b(\d{{1,2}}){DAY_SUFFIX}\s+(?:of\s+)?({MONTH_NAME})(?:,?\s+(\d{{4}})\b)?")
MONTH_ABBR_ALONE = re.compile(r"\b(" + "|".join(MONTH_ABBREV) + r")\.(?=\s)")
WEEKDAY_ABBR = re.compile(
    r"\b(" + "|".join(WEEKDAY_ABBREV) + rf")\.?(?=,?\s+(?:{MONTH_NAME}|\d))"
)
TIME_AMPM = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s?([AaPp])\.?\s?[Mm]\b\.?")
TIME_24H = re.compile(r"\b(\d{1,2}):(\d{2})\b")
CURRENCY = re.compile(
    r"(-)?([$€£¥])\s?(" + NUMBER + r")(?:\s?(" + "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
    + r")\b)?"
)
PERCENT = re.compile(r"(-?" + NUMBER + r"|-?\.\d+)\s?%")
UNIT = re.compile(
    r"(?<![\w.])(" + NUMBER + r")\s?(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)
ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
FRACTION = re.compile(r"(?<![\w/])(" + "|".join(re.escape(f) for f in FRACTIONS) + r")(?![\w/])")
RANGE = re.compile(r"(?<![\w.,-])(\d+)-(\d+)(?!\d|[.,]\d|-)")
NEGATIVE = re.compile(r"(?<![\w.,])-(?=\d)")
NUMBER_TOKEN = re.compile(r"(?<![\w])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\.\d+|\d+)(?!\w)|\d+")
DECADE = re.compile(r"\b(\d{2}|\d{3}0)'?s\b")
DOTTED = re.compile(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d.]\d)")   # versions and section numbers: 3.2.1
LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
SPACES = re.compile(r"\s+")


def _plural(n_text: str, one: str, many: str) -> str:
    return one if n_text.replace(",", "") in ("1", "1.0") else many


def _number_words(text: str) -> str:
    text = text.replace(",", "")
    return num.decimal(text) if "." in text else num.cardinal(int(text))


def _read_url(url: str) -> str:
    url = url.rstrip(".,;:!?)")
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.I)
    url = re.split(r"[?#]", url, maxsplit=1)[0].rstrip("/")
    host, _, path = url.partition("/")
    words = " dot ".join(p for p in host.split(".") if p)
    for segment in filter(None, path.split("/")):
        segment = " ".join(re.split(r"[-_.]+", segment))
        words += f" slash {segment}"
    return f" {words} "


def _read_email(address: str) -> str:
    local, _, domain = address.partition("@")
    for sep, word in ((".", " dot "), ("_", " underscore "), ("-", " dash "), ("+", " plus ")):
        local = local.replace(sep, word)
    return f" {local} at {' dot '.join(domain.split('.'))} "


def _split_camel(word: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", word).replace("_", " ")


def _month(name: str) -> str:
    name = name.rstrip(".")
    return MONTH_ABBREV.get(name, name)


def _date(year: int | None, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    words = f"{MONTHS[month - 1]} {num.ordinal(day)}"
    return f"{words}, {num.year(year)}" if year is not None else words


def _iso_date(m: re.Match) -> str:
    return _date(int(m[1]), int(m[2]), int(m[3])) or m[0]


def _slash_date(m: re.Match) -> str:
    a, b, y = int(m[1]), int(m[2]), m[3]
    year = int(y) + (2000 if int(y) < 50 else 1900) if len(y) == 2 else int(y)
    # US order (month first) unless the first number cannot be a month.
    month, day = (b, a) if a > 12 else (a, b)
    return _date(year, month, day) or m[0]


def _month_day(m: re.Match) -> str:
    words = f"{_month(m[1])} {num.ordinal(int(m[2]))}" if 1 <= int(m[2]) <= 31 else m[0]
    return f"{words}, {num.year(int(m[3]))}" if m[3] and words != m[0] else words


def _day_month(m: re.Match) -> str:
    if not 1 <= int(m[1]) <= 31:
        return m[0]
    words = f"the {num.ordinal(int(m[1]))} of {_month(m[2])}"
    return f"{words}, {num.year(int(m[3]))}" if m[3] else words


def _time_ampm(m: re.Match) -> str:
    hours, minutes = int(m[1]), int(m[2] or 0)
    if not (0 <= hours <= 12 and minutes < 60):
        return m[0]
    # Trailing space keeps "p.m." apart from a following word; the full stop of "a.m." stays in it.
    clock = num.cardinal(hours) if minutes == 0 else num.clock(hours, minutes)
    return f"{clock} {m[3].lower()}.m. "


def _time_24h(m: re.Match) -> str:
    hours, minutes = int(m[1]), int(m[2])
    return num.clock(hours, minutes) if hours < 24 and minutes < 60 else m[0]


def _currency(m: re.Match) -> str:
    sign = "minus " if m[1] else ""
    one, many, cent_one, cents_many = CURRENCIES[m[2]]
    amount, multiplier = m[3].replace(",", ""), m[4]
    if multiplier:
        return f" {sign}{_number_words(amount)} {MULTIPLIERS[multiplier]} {many} "
    whole, _, frac = amount.partition(".")
    if len(frac) > 2:
        return f" {sign}{num.decimal(amount)} {many} "
    units = int(whole or "0")
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if units or not cents:
        parts.append(f"{num.cardinal(units)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{num.cardinal(cents)} {cent_one if cents == 1 else cents_many}")
    return f" {sign}{' and '.join(parts)} "


def _percent(m: re.Match) -> str:
    value = m[1].lstrip("-")
    sign = "minus " if m[1].startswith("-") else ""
    return f"{sign}{_number_words('0' + value if value.startswith('.') else value)} percent"


def _unit(m: re.Match) -> str:
    one, many = UNITS[m[2]]
    return f"{_number_words(m[1])} {_plural(m[1], one, many)}"


def _number(m: re.Match) -> str:
    token = m[0]
    if "," in token or "." in token:
        return num.decimal("0" + token if token.startswith(".") else token)
    if len(token) > 1 and token.startswith("0") or len(token) > 15:
        return num.digits(token)  # codes, zip codes, long ids: read digit by digit
    n = int(token)
    # Four-digit numbers in this range are nearly always years in scripts; write 1,500 for a count.
    if len(token) == 4 and 1100 <= n <= 2099:
        return num.year(n)
    return num.cardinal(n)


def _decade(m: re.Match) -> str:
    words = num.year(int(m[1])) if len(m[1]) == 4 else num.cardinal(int(m[1]))
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def expand_abbreviations(text: str) -> str:
    for pattern, spoken, may_end in ABBREVIATIONS:
        def replace(m: re.Match, spoken: str = spoken, may_end: bool = may_end) -> str:
            at_end = may_end and not m.string[m.end():].strip()
            return spoken + ("." if at_end else "")
        text = re.sub(pattern, replace, text)
    return text


def expand_numbers(text: str) -> str:
    """Every digit-bearing form (dates, times, money, units, numbers) into words, in a safe order."""
    text = ISO_DATE.sub(_iso_date, text)
    text = SLASH_DATE.sub(_slash_date, text)
    text = WEEKDAY_ABBR.sub(lambda m: WEEKDAY_ABBREV[m[1]], text)
    text = MONTH_DAY.sub(_month_day, text)
    text = DAY_MONTH.sub(_day_month, text)
    text = MONTH_ABBR_ALONE.sub(lambda m: MONTH_ABBREV[m[1]], text)
    text = TIME_AMPM.sub(_time_ampm, text)
    text = TIME_24H.sub(_time_24h, text)
    text = RANGE.sub(lambda m: f"{m[1]} to {m[2]}", text)
    text = CURRENCY.sub(_currency, text)
    text = PERCENT.sub(_percent, text)
    text = UNIT.sub(_unit, text)
    text = ORDINAL.sub(lambda m: num.ordinal(int(m[1])), text)
    text = FRACTION.sub(lambda m: FRACTIONS[m[1]], text)
    text = NEGATIVE.sub("minus ", text)
    text = NUMBER_SIGN.sub("number ", text)
    text = DECADE.sub(_decade, text)
    text = DOTTED.sub(lambda m: " point ".join(m[0].split(".")), text)
    # Codes such as Q3, MP4, 3D: the number is read on its own.
    text = LETTER_DIGIT.sub(" ", text)
    return NUMBER_TOKEN.sub(_number, text)


def expand_symbols(text: str) -> str:
    text = EMAIL.sub(lambda m: _read_email(m[0]), text)
    text = URL.sub(lambda m: _read_url(m[0]), text)
    text = HANDLE.sub(lambda m: f"at {_split_camel(m[1])}", text)
    text = HASHTAG.sub(lambda m: f"hashtag {_split_camel(m[1])}", text)
    return text


def _final_symbols(text: str) -> str:
    text = text.replace("&", " and ").replace("@", " at ").replace("=", " equals ")
    text = re.sub(r"(?<=\w)\s?\+\s?(?=\w)", " plus ", text).replace("+", " plus ")
    text = re.sub(r"~\s?(?=\w)", "about ", text)
    text = re.sub(r"(?<=[A-Za-z])/(?=[A-Za-z])", " or ", text)
    text = re.sub(r"[/\\#~^*_|$€£¥%°<>{}]", " ", text)
    return text


def tidy(text: str) -> str:
    """Punctuation and spacing cleaned up: what is left is words and sentence punctuation."""
    text = re.sub(r'["`]', " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)   # quotation marks, not apostrophes in words
    text = re.sub(r"[(\[{]|[)\]}]", ", ", text)
    text = re.sub(r"\.{2,}", ",", text)               # espeak ignores ellipses; a comma keeps the pause
    text = re.sub(r"\s+-+\s+|\s+-+(?=\s|$)|(?<=\s)-+|^-+|--+", ", ", text)
    text = re.sub(r"\s+([.,!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]+\s*([.!?])", r"\1", text)
    text = re.sub(r"([!?])[!?.]+", r"\1", text)
    text = re.sub(r"\.(?:\s*\.)+", ".", text)
    text = re.sub(r"([,!?;:])(?=[A-Za-z])", r"\1 ", text)
    # A full stop run into the next word gets its space, but initialisms such as a.m. stay whole.
    text = re.sub(r"(?<=\w\w)\.(?=[A-Za-z]{2})", ". ", text)
    text = SPACES.sub(" ", text).strip()
    return re.sub(r"^[\s.,!?;:]+", "", text)


def normalize(text: str) -> str:
    """Text as the words to be spoken: no digits, symbols, emoji or markup left.

    >>> normalize("Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5.")
    'Doctor Smith paid three dollars and fifty cents at nine thirty a.m. on January fifth.'
    """
    text = drop_symbols(fold_typography(text))
    text = expand_symbols(text)
    text = expand_abbreviations(text)
    text = expand_numbers(text)
    text = _final_symbols(text)
    return tidy(text)
