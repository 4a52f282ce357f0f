"""The verdict of verifying a signed record and the checks that need no PDF library: what a verdict holds, the
limits a record stays within, the embedded attachment read within them, the match against the records issued, and
what `records verify` says about profiles. records/pdf_reading.py reads the file with pyHanko; records/verify.py
puts the two together."""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from ..db import records as records_db

MAX_BYTES = 20 * 1024 * 1024
# What one verification may cost (issue 13): a real record has 1-3 signatures (submission, approval,
# a re-issue), two to a few dozen pages, a few hundred objects and a JSON attachment of some hundred KB.
MAX_SIGNATURES = 10
MAX_REVISIONS = 2 * MAX_SIGNATURES + 2  # each signature is an incremental update; allow some more
MAX_PAGES = 2000
MAX_OBJECTS = 100_000  # the cross-reference table's /Size
MAX_DSS_ITEMS = 200  # certificates, CRLs and OCSP responses in the document security store
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
    root_fingerprint: str | None = None  # SHA-256 of the organisation root the signing certificate chains to
    root_current: bool | None = None  # False: a root that was replaced (flask records rotate-root)
    timestamped_at: str | None = None  # the time a trusted RFC 3161 authority vouches for (None: no timestamp)
    timestamp_authority: str | None = None
    # The disclosure profile (records/profiles.py): as the file says, then as the records table says once matched.
    profile: str | None = None
    other_profile_record_id: str | None = None  # the other profile of the same issue, from the records table
    other_profile_sha256: str | None = None
    redacted_at: str | None = None  # superseded by a redaction then: it held a text removed since
    # What the record's embedded run says (audit-record.json), shown for a genuine record only (issue 21).
    label: str | None = None
    protocol_id: str | None = None
    protocol_version: str | None = None
    run_status: str | None = None  # the run's status when this record was issued
    mode: str | None = None
    readable: bool = True  # False: the file could not be read as a signed PDF at all
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.intact and self.trusted and self.unmodified and self.matches_record and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "signer": self.signer, "signed_at": self.signed_at, "run_id": self.run_id,
                "record_id": self.record_id, "head_hash": self.head_hash, "matches_record": self.matches_record,
                "signatures_intact": self.intact, "signed_by_organisation": self.trusted,
                "unmodified_since_signing": self.unmodified, "signatures": self.signatures, "latest": self.latest,
                "root_fingerprint": self.root_fingerprint, "root_current": self.root_current,
                "timestamped_at": self.timestamped_at, "timestamp_authority": self.timestamp_authority,
                "profile": self.profile, "other_profile_record_id": self.other_profile_record_id,
                "other_profile_sha256": self.other_profile_sha256, "redacted_at": self.redacted_at,
                "label": self.label, "protocol_id": self.protocol_id, "protocol_version": self.protocol_version,
                "run_status": self.run_status, "mode": self.mode, "problems": self.problems}


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


def _text(value: Any) -> str | None:
    """A string from the embedded document, or None (a hand-made attachment may hold anything)."""
    return value[:200] if isinstance(value, str) else None


TOLERANCE = timedelta(minutes=5)  # clocks of the signing server and of the timestamp authority differ a little


def _colons(hex_digest: str) -> str:
    return ":".join(hex_digest[i:i + 2] for i in range(0, len(hex_digest), 2))


def _moment(proven: datetime | None, claimed: datetime | None) -> datetime:
    """The time at which the signing certificate must have been valid.

    With a trusted timestamp, its time: an authority vouches that the signature existed then (PAdES B-T), so
    a certificate that expired or was replaced since does not matter. Without one, the time the signature
    says it was made, never later than now: the certificate can only chain to a root this organisation
    holds (the only trust anchors given), and records are signed with the certificate current at signing, so
    a record must not turn invalid the day its certificate expires or is replaced. The claim is the signer's
    own, so it proves nothing about the time by itself; a forged claim still needs a key under one of our
    roots, and a valid verdict also needs the exact file in this server's records."""
    now = datetime.now(UTC)
    if proven is not None:
        return proven
    if claimed is None or claimed > now:
        return now
    return claimed


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
    verdict.profile = record["profile"]
    other = records_db.pair_of(db, record)
    if other is not None:
        verdict.other_profile_record_id, verdict.other_profile_sha256 = other["id"], other["sha256"]
    newest = records_db.latest_record(db, record["run_id"], record["profile"])
    verdict.latest = newest is not None and newest["id"] == record["id"]
    redaction = records_db.redaction_of(db, record["id"])
    verdict.redacted_at = redaction["redacted_at"] if redaction else None


PROFILE_SUMMARIES = {"internal": "internal — the complete record, for this organisation only",
                     "shareable": "shareable — no free text, roles instead of names, small counts hidden"}


def verdict_lines(verdict: Verdict) -> list[str]:
    """What `records verify` adds about the file's profile, its pair and a redaction that superseded it."""
    lines = []
    if verdict.profile:
        lines.append(f"Profile: {PROFILE_SUMMARIES[verdict.profile]}")
    if verdict.other_profile_sha256:
        other = "shareable" if verdict.profile == "internal" else "internal"
        lines.append(f"{other} profile of the same record: {verdict.other_profile_record_id}, "
                     f"sha256 {verdict.other_profile_sha256}")
    if verdict.redacted_at:
        lines.append(f"superseded by a redaction on {verdict.redacted_at[:10]}: destroy copies of this file")
    return lines
