"""A transparency report as a signed JSON document: its period, its shape, its data hash, its signature (pure).

The document is signed like receipts and checkpoints (records/detached.py): the canonical JSON of every field but
`signature`, with the signing certificate carried in the document, checked against the roots one trusts.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..protocols import canonical_json

FORMAT = "donoharm-report/1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
MIN_AGE_DAYS = 30  # a period must have ended this long ago, so no figure can be tied to a recent operation
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class ReportError(ValueError):
    """A report that cannot be published or combined; the message says why, naming the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end


def quarter(text: str) -> Period:
    """'2026-Q2' as the period 2026-04-01 to 2026-06-30."""
    match = QUARTER.match(text.strip())
    if not match:
        raise ReportError("period", f"give the period as a quarter such as 2026-Q2 (got {text!r})")
    year, number = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period(start, following - timedelta(days=1), f"{year}-Q{number}")


def period_of(label: str | None = None, start: str | None = None, end: str | None = None) -> Period:
    """A quarter ('2026-Q2'), or explicit start and end days (YYYY-MM-DD, inclusive)."""
    if label and (start or end):
        raise ReportError("period", "give either a quarter or a start and end, not both")
    if label:
        return quarter(label)
    if not start or not end:
        raise ReportError("period", "give a quarter such as 2026-Q2, or both a start and an end day")
    days = {}
    for name, text in (("start", start), ("end", end)):
        try:
            days[name] = date.fromisoformat(text.strip())
        except ValueError:
            raise ReportError(name, f"give the {name} as a day, YYYY-MM-DD (got {text!r})") from None
    if days["end"] < days["start"]:
        raise ReportError("end", "the end of the period is before its start")
    return Period(days["start"], days["end"], f"{days['start'].isoformat()}/{days['end'].isoformat()}")


def publishable_problem(period: Period, today: date, published: list[Period]) -> ReportError | None:
    """Why a period cannot be published now: it ended less than 30 days ago, or overlaps a published one."""
    if period.end > today - timedelta(days=MIN_AGE_DAYS):
        first = period.end + timedelta(days=MIN_AGE_DAYS)
        return ReportError("period", f"the period ends on {period.end.isoformat()}: a report can be published "
                                     f"{MIN_AGE_DAYS} days after its end at the earliest ({first.isoformat()})")
    for other in published:
        if period.overlaps(other):
            return ReportError("period", f"the period overlaps the report already published for {other.label} "
                                         f"({other.start.isoformat()} to {other.end.isoformat()})")
    return None


def data_sha256(heads: list[str]) -> str:
    """The sha256 over the sorted chain heads of the runs a report was computed from (one per line)."""
    return hashlib.sha256("".join(f"{head}\n" for head in sorted(heads)).encode("ascii")).hexdigest()


def document_sha256(document: dict[str, Any]) -> str:
    """A signed document's identity: the sha256 of its canonical JSON, signature included."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def build_document(kind: str, instance: dict[str, str], period: Period, published_at: str, threshold: int,
                   protocols: list[dict[str, str]], figures: dict[str, Any], data_hash: str,
                   inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The unsigned report document (see report.schema.json)."""
    document = {"format": FORMAT, "kind": kind, "instance": instance, "period": period.to_json(),
                "published_at": published_at, "threshold": threshold,
                "protocols": sorted(protocols, key=lambda p: (p["id"], p["version"])),
                "figures": figures, "data_sha256": data_hash}
    if inputs is not None:
        document["inputs"] = inputs
    return document


def sign(document: dict[str, Any], key: Any) -> dict[str, Any]:
    """The document with the signing certificate and a detached signature (a records.signing.SigningKey)."""
    from ..records.detached import sign_document  # here: the records package imports the app's modules

    return sign_document(document, key)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


def schema_problems(document: Any) -> list[str]:
    """Where a document departs from the report schema, one line each (empty when it conforms)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        problems.append(f"{where}: {error.message[:200]}")
    return problems


def verify(document: Any, roots: list[Any]) -> str | None:
    """Why a report cannot be accepted (schema, then signature against `roots`), or None when it can."""
    problems = schema_problems(document)
    if problems:
        return "it does not follow the report schema: " + "; ".join(problems[:5])
    from ..records.detached import signature_problem

    return signature_problem(document, roots)


def parse(data: bytes) -> Any:
    """A report file's JSON; ReportError when it is not JSON."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ReportError("report", f"it is not a JSON document ({error})") from None
