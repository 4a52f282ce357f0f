"""The one rule for text people type: which characters a label and a note may hold (pure).

A control character in a label broke the record's download header for everyone; a bidi override
made a download name lie about its extension; a lone surrogate (invalid Unicode) reached SQLite and
became a 500. Every text field goes through `text_problem` (server) and its mirror in
static/js/text.js (phone), so the same input is refused the same way in both places.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

# Bidi embeddings, overrides and isolates, and the invisible direction marks: they reorder what a
# reader sees (a name ending "fdp.exe" shown as "exe.pdf") without changing what is stored.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 and C1 controls, DEL, the bidi controls above, the Unicode line and paragraph separators, and
# lone surrogates (which only an escaped JSON string such as "\ud800" can produce).
_FORBIDDEN_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\u2028\u2029\ud800-\udfff]")
# In multi-line text a line break is \n or \r\n; every other control stays forbidden.
_FORBIDDEN_IN_TEXT = re.compile("\r(?!\n)|[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI_CONTROLS
                                + "\u2028\u2029\ud800-\udfff]")


def _describe(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"invalid Unicode (a lone surrogate U+{ord(char):04X})"
    name = unicodedata.name(char, "")
    if char in BIDI_CONTROLS:
        kind = "a text-direction control"
    elif char in "\r\n\u2028\u2029":
        kind = "a line break"
    else:
        kind = "a control character"
    return f"{kind} (U+{ord(char):04X}{' ' + name if name else ''})"


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why this text may not be stored, in plain words, or None when it may.

    Single-line text (labels, names, options) is printable characters only; multi-line text (notes,
    comments, text answers) may also hold line breaks.
    """
    match = (_FORBIDDEN_IN_TEXT if multiline else _FORBIDDEN_IN_LINE).search(value)
    if match is None:
        return None
    allowed = "line breaks but no other control characters" if multiline else "one line of printable characters"
    return f"it contains {_describe(match.group())} at position {match.start() + 1}; it may hold {allowed}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def first_invalid_unicode(data: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) in parsed JSON that is not valid Unicode, or None."""
    if isinstance(data, str):
        return path or "body" if _SURROGATE.search(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return path or "body"
            found = first_invalid_unicode(value, where)
            if found:
                return found
    if isinstance(data, list):
        for index, value in enumerate(data):
            found = first_invalid_unicode(value, f"{path}[{index}]")
            if found:
                return found
    return None


def safe_filename(text: str, fallback: str = "file") -> str:
    """Text made safe to name a download: printable, one line, no path separators or direction tricks.

    Stored labels from before the text rule may hold anything; their records must still download.
    """
    cleaned = _FORBIDDEN_IN_LINE.sub("", unicodedata.normalize("NFC", text.encode("utf-8", "replace")
                                                               .decode("utf-8")))
    cleaned = re.sub(r'[\s/\\:*?"<>|;,%]+', "-", cleaned).strip("-.")
    return cleaned[:80] or fallback


def whole_number(raw: str | None, maximum: int) -> int | None:
    """A typed whole number from 0 to `maximum`, in any script's decimal digits, or None.

    str.isdigit() also accepts superscripts ('²'), which int() refuses, and a thousand-digit number
    makes int() itself raise: every number read from a form or a query string goes through here.
    """
    text = (raw or "").strip()
    if not text or not text.isdecimal() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


_TIME_OF_DAY = re.compile(r"^([01]?[0-9]|2[0-3])[:.h]?([0-5][0-9])$")


def time_of_day(raw: str | None) -> str | None:
    """A time typed on the 24-hour clock as HH:MM ('21:30', '2130', '9:05', '21.30', '21h30'), or None.

    Browsers draw <input type=time> as a 12-hour field in some locales, where typing 2130 saved 14:13:
    time answers are typed as text and read here (and in static/js/text.js) the same way everywhere.
    Anything else, '9:30 pm' included, is refused rather than guessed.
    """
    match = _TIME_OF_DAY.match((raw or "").strip())
    if match is None:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}"
