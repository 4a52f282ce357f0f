"""Find likely personal data in free text: ages, phone numbers, e-mail addresses, ID numbers, dates of birth
and street addresses (pure). Mirrored by static/js/personal-data.js; both are checked against the same table
(tests/fixtures/personal_data.json).

It cannot find names: a name looks like any other word. The fields say so next to them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("age", "phone", "email", "id_number", "date_of_birth", "address")

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.UNICODE)),
    ("age", re.compile(r"\b\d{1,2}[- ]?(year|yr)s?[- ]old\b|\baged? \d{1,2}\b", re.IGNORECASE)),
    ("phone", re.compile(r"(?<![\w])\+?\d[\d\s().-]{6,}\d(?![\w])")),
]


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    text: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "text": self.text}


def find_personal_data(text: str | None) -> list[Span]:
    """Every likely piece of personal data in the text, in order, without overlaps."""
    if not text:
        return []
    found: list[Span] = []
    for kind, pattern in _RULES:
        for match in pattern.finditer(text):
            if not any(s.start < match.end() and match.start() < s.end for s in found):
                found.append(Span(kind, match.start(), match.end(), match.group(0)))
    return sorted(found, key=lambda span: span.start)
