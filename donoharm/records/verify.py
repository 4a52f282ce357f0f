"""Verify a signed record: signatures intact and ours, nothing added after signing, issued by this server."""
from __future__ import annotations

import hashlib
import json
import logging
import warnings
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from itertools import islice
from typing import Any

from sqlite_utils import Database

from ..db import records as records_db
from .blocking import outside_event_loop
from .render import ATTACHMENT_NAME
from .signing import SigningKey

MAX_BYTES = 20 * 1024 * 1024
# What one verification may cost (issue 13): a real record has 1-3 signatures (submission, approval,
# a re-issue), two to a few dozen pages, a few hundred objects and a JSON attachment of some hundred KB.
MAX_SIGNATURES = 10
MAX_REVISIONS = 2 * MAX_SIGNATURES + 2  # each signature is an incremental update; allow some more
MAX_PAGES = 2000
MAX_OBJECTS = 100_000  # the cross-reference table's /Size
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024  # audit-record.json, decompressed
MAX_STREAM_BYTES = 32 * 1024 * 1024  # any one stream, decompressed
MAX_DECODED_BYTES = 96 * 1024 * 1024  # all streams of one file together, decompressed
MiB = 1024 * 1024


class TooCostly(Exception):
    """The file is beyond what a record can be; the message says why, in plain words."""


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
    """The audit-record.json attached to a PDF, parsed, or None; TooCostly if it inflates past the limit."""
    from pyhanko.pdf_utils.generic import NameObject

    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return None
    for index in range(0, min(len(names), 2 * MAX_OBJECTS) - 1, 2):
        if str(names[index]) == ATTACHMENT_NAME:
            spec = names[index + 1].get_object()
            stream = spec["/EF"][NameObject("/F")].get_object()
            try:
                return json.loads(bounded_stream_data(stream, MAX_ATTACHMENT_BYTES).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def bounded_stream_data(stream, limit: int) -> bytes:
    """A stream's data, decompressed incrementally and never past `limit` bytes (TooCostly beyond).

    Only what this server writes is read: no filter, or one /FlateDecode without parameters."""
    too_big = f"its audit-record.json is larger than {limit // MiB} MB once decompressed"
    params = stream.get("/Params")
    declared = params.get("/Size") if isinstance(params, dict) else None
    if isinstance(declared, int) and declared > limit:
        raise TooCostly(too_big)
    filters = stream.get("/Filter")
    if isinstance(filters, list) and len(filters) == 1:
        filters = filters[0]
    encoded = stream.encoded_data
    if filters is None:
        if len(encoded) > limit:
            raise TooCostly(too_big)
        return bytes(encoded)
    if str(filters) not in ("/FlateDecode", "/Fl") or stream.get("/DecodeParms"):
        raise ValueError("unsupported attachment encoding")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(encoded, limit + 1)
    except zlib.error:
        raise ValueError("damaged attachment") from None
    if len(data) > limit:
        raise TooCostly(too_big)
    return data


def verify_pdf(data: bytes, key: SigningKey, db: Database | None = None) -> Verdict:
    """Check a PDF against this organisation's root certificate and, with `db`, the records issued."""
    verdict = Verdict()
    if len(data) > MAX_BYTES:
        verdict.problems.append(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return verdict
    if not data.startswith(b"%PDF-"):
        verdict.problems.append("this is not a PDF file")
        return verdict
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError

    # pyHanko warns and logs about untrusted certificates and odd files; the verdict says it plainly instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.CRITICAL)
        try:
            _check(data, key, verdict)
        except TooCostly as error:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.problems.append(f"the file is not a record this server could have issued: {error}")
        except PdfDecodeLimitError:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.problems.append("the file is not a record this server could have issued: its compressed "
                                    "content expands to more data than a record holds")
        except Exception as error:  # a broken file must give a verdict, never a 500
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.problems.append(f"the file could not be read as a signed PDF ({type(error).__name__})")
        finally:
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)
    if db is not None and verdict.problems == []:
        _match(db, data, verdict)
    return verdict


def decode_limits():
    """pyHanko's stream decoding limits, tightened to what a record needs (pyHanko stops at them)."""
    from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits

    return DecodeLimits(per_stream=StreamDecodeLimits(max_output_size=MAX_STREAM_BYTES),
                        document_budget=DocumentDecodeBudget(base_allowance=MAX_DECODED_BYTES, max_ratio=4))


def check_size(reader) -> None:
    """Refuse, before any signature is validated, a file far bigger in structure than any record."""
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        size = reader.trailer["/Size"]
    except KeyError:
        size = None
    revisions = reader.xrefs.total_revisions
    listed = sum(len(reader.xrefs.explicit_refs_in_revision(r)) for r in range(min(revisions, MAX_REVISIONS + 1)))
    if not isinstance(size, int) or max(size, listed) > MAX_OBJECTS:
        raise TooCostly(f"it has more than {MAX_OBJECTS:,} objects")
    signed = sum(1 for _ in islice(enumerate_sig_fields(reader, filled_status=True), MAX_SIGNATURES + 1))
    if signed > MAX_SIGNATURES:
        raise TooCostly(f"it has more than {MAX_SIGNATURES} signatures (a record has one to three)")
    if revisions > MAX_REVISIONS:
        raise TooCostly(f"it was changed more than {MAX_REVISIONS} times")
    pages = reader.root["/Pages"].get("/Count")
    if not isinstance(pages, int) or pages > MAX_PAGES:
        raise TooCostly(f"it has more than {MAX_PAGES:,} pages")


def _check(data: bytes, key: SigningKey, verdict: Verdict) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(data), strict=False, decode_limits=decode_limits())
    check_size(reader)
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
    try:
        document = embedded_record(reader)
    except TooCostly as error:
        verdict.problems.append(f"the file is not a record this server could have issued: {error}")
        return
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
