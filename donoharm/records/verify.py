"""Verify a signed record: signatures intact and ours, nothing added after signing, issued by this server."""
from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from sqlite_utils import Database

from ..db import records as records_db
from .blocking import outside_event_loop
from .render import ATTACHMENT_NAME
from .signing import SigningKey

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Verdict:
    """What verification found; `valid` only when every check holds."""

    intact: bool = False
    trusted: bool = False
    unmodified: bool = False
    matches_record: bool = False
    signer: str | None = None
    signed_at: str | None = None
    run_id: str | None = None
    record_id: str | None = None
    head_hash: str | None = None
    signatures: int = 0
    latest: bool | None = None  # is this the run's newest record? (None when it matches none)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.intact and self.trusted and self.unmodified and self.matches_record and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "signer": self.signer, "signed_at": self.signed_at, "run_id": self.run_id,
                "record_id": self.record_id, "head_hash": self.head_hash, "matches_record": self.matches_record,
                "signatures_intact": self.intact, "signed_by_organisation": self.trusted,
                "unmodified_since_signing": self.unmodified, "signatures": self.signatures, "latest": self.latest,
                "problems": self.problems}


def embedded_record(reader) -> dict | None:
    """The audit-record.json attached to a PDF, parsed, or None."""
    from pyhanko.pdf_utils.generic import NameObject

    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return None
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) == ATTACHMENT_NAME:
            spec = names[index + 1].get_object()
            stream = spec["/EF"][NameObject("/F")].get_object()
            try:
                return json.loads(stream.data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def verify_pdf(data: bytes, key: SigningKey, db: Database | None = None) -> Verdict:
    """Check a PDF against this organisation's root certificate and, with `db`, the records issued."""
    verdict = Verdict()
    if len(data) > MAX_BYTES:
        verdict.problems.append(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return verdict
    if not data.startswith(b"%PDF-"):
        verdict.problems.append("this is not a PDF file")
        return verdict
    # pyHanko warns and logs about untrusted certificates and odd files; the verdict says it plainly instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.CRITICAL)
        try:
            _check(data, key, verdict)
        except Exception as error:  # a broken file must give a verdict, never a 500
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.problems.append(f"the file could not be read as a signed PDF ({type(error).__name__})")
        finally:
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)
    if db is not None and verdict.problems == []:
        _match(db, data, verdict)
    return verdict


def _check(data: bytes, key: SigningKey, verdict: Verdict) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(data), strict=False)
    signatures = reader.embedded_signatures
    verdict.signatures = len(signatures)
    if not signatures:
        verdict.problems.append("the file has no digital signature")
        return
    intact = trusted = unmodified = accepted = True
    for signature in signatures:
        context = ValidationContext(trust_roots=[key.root_cert], allow_fetching=False)
        status = outside_event_loop(validate_pdf_signature, signature, context)
        intact &= bool(status.intact and status.valid)
        trusted &= bool(status.trusted)
        # Anything appended after the signature (an annotation, a new attachment, a changed page) leaves the
        # signature covering one revision only, not the entire file; the digest alone would not show it.
        unmodified &= status.coverage.name == "ENTIRE_FILE"
        accepted &= bool(status.bottom_line)  # pyHanko's overall judgement, incl. modification analysis
        subject = status.signing_cert.subject
        verdict.signer = subject.native.get("common_name") or subject.human_friendly
        verdict.signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    verdict.intact, verdict.trusted, verdict.unmodified = intact, trusted, unmodified
    if not intact:
        verdict.problems.append("a signature does not match the file: it was changed after signing")
    elif not trusted:
        verdict.problems.append("the signature was not made with this organisation's certificate")
    if intact and not unmodified:
        verdict.problems.append("something was added to the file after it was signed")
    if intact and trusted and unmodified and not accepted:
        verdict.problems.append("the signature validator does not accept this signature")
    document = embedded_record(reader)
    if document is None:
        verdict.problems.append("the file carries no audit-record.json")
        return
    run = document.get("run") or {}
    verdict.run_id, verdict.head_hash = run.get("id"), run.get("head_hash")


def _match(db: Database, data: bytes, verdict: Verdict) -> None:
    record = records_db.record_by_sha256(db, hashlib.sha256(data).hexdigest())
    if record is None:
        verdict.problems.append("this server did not issue this exact file")
        return
    verdict.record_id = record["id"]
    if record["run_id"] != verdict.run_id or record["head_hash"] != verdict.head_hash:
        verdict.problems.append("the run or chain head in the file differs from the record this server issued")
        return
    verdict.matches_record = True
    newest = records_db.latest_record(db, record["run_id"])
    verdict.latest = newest is not None and newest["id"] == record["id"]
