"""Small formatting helpers shared by the exports (dates, doses, reference numbers, latin-1)."""

from __future__ import annotations

import unicodedata
from datetime import date

from b12.core.plan_models import DoseOut

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Characters outside latin-1 that the PDF core fonts cannot show, and what to print instead.
TRANSLITERATION: dict[str, str] = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u2026": "...",
    "\u2022": "-",
    "\u2023": "-",
    "\u2043": "-",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2260": "!=",
    "\u2248": "~",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2194": "<->",
    "\u21d2": "=>",
    "\u03bc": "\u00b5",  # Greek mu -> micro sign (latin-1)
    "\u2122": "(TM)",
    "\u20ac": "EUR",
    "\u2009": " ",  # thin space
    "\u200a": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
}


def _latin1_char(char: str) -> str:
    if char in TRANSLITERATION:
        return TRANSLITERATION[char]
    if char in "\n\t":
        return char
    if unicodedata.category(char) in ("Cc", "Cs", "Cn", "Co"):
        return " " if unicodedata.category(char) == "Cc" else "?"
    if ord(char) < 256:
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(
        c for c in decomposed if ord(c) < 256 and unicodedata.category(c) not in ("Mn", "Cc")
    )
    return kept or "?"


def latin1(text: str) -> str:
    """``text`` with every character the PDF core fonts cannot print replaced (never fails)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return "".join(_latin1_char(c) for c in text)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        return "".join(_latin1_char(c) for c in text)
    return text


def human_date(day: date) -> str:
    """``Mon 2 Mar 2026`` (fixed English names: no locale, same output everywhere)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """``2 Mar 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def month_label(day: date) -> str:
    """``Mar 2026``."""
    return f"{MONTHS[day.month - 1]} {day.year}"


def _number(value: float) -> str:
    return f"{value:g}"


def dose_text(dose: DoseOut | None) -> str:
    """``1 mg`` or ``100-200 mcg``; empty for no dose."""
    if dose is None:
        return ""
    if dose.max is not None and dose.max != dose.value:
        return f"{_number(dose.value)}-{_number(dose.max)} {dose.unit}"
    return f"{_number(dose.value)} {dose.unit}"


def refs_text(refs: tuple[int, ...]) -> str:
    """``[6, 7]``; empty when there are none."""
    return f"[{', '.join(str(n) for n in refs)}]" if refs else ""
