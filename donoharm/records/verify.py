"""Verify a signed record: signatures intact and ours, nothing added after signing, issued by this server."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from itertools import islice
from typing import Any

from sqlite_utils import Database

from ..db import records as records_db
from .blocking import outside_event_loop
from .profiles import INTERNAL, PROFILES
from .render import ATTACHMENT_NAME
from .signing import SigningKey

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


def verify_pdf(data: bytes, key: SigningKey, db: Database | None = None, tsa_roots: list | None = None) -> Verdict:
    """Check a PDF against every root this organisation had and, with `db`, the records issued.

    `tsa_roots` (asn1crypto certificates) are the timestamp authorities trusted; by default DONOHARM_TSA_ROOT's."""
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
            if tsa_roots is None:
                from .timestamps import tsa_roots as configured_tsa_roots

                tsa_roots = configured_tsa_roots()
            _check(data, key, verdict, tsa_roots)
        except TooCostly as error:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
            verdict.problems.append(f"the file is not a record this server could have issued: {error}")
        except PdfDecodeLimitError:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
            verdict.problems.append("the file is not a record this server could have issued: its compressed "
                                    "content expands to more data than a record holds")
        except Exception as error:  # a broken file must give a verdict, never a 500
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
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


def _check(data: bytes, key: SigningKey, verdict: Verdict, tsa_roots: list) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    reader = PdfFileReader(BytesIO(data), strict=False, decode_limits=decode_limits())
    check_size(reader)
    signatures = reader.embedded_signatures
    verdict.signatures = len(signatures)
    if not signatures:
        verdict.problems.append("the file has no digital signature")
        return
    roots = {root.asn1.sha256: root for root in key.roots} or {key.root_cert.sha256: None}
    anchors = [root.asn1 for root in key.roots] or [key.root_cert]
    revocation = _embedded_revocation(reader)
    intact = trusted = unmodified = accepted = True
    for signature in signatures:
        stamp = _timestamp(signature, tsa_roots, anchors, revocation)
        if stamp["present"] and not stamp["intact"]:
            verdict.problems.append("the signature's timestamp does not match the signature: it was changed")
        proven = stamp["time"] if stamp["trusted"] else None
        claimed = signature.self_reported_timestamp
        signer_context = _context(anchors, _moment(proven, claimed), revocation)
        status = outside_event_loop(validate_pdf_signature, signature, signer_context, stamp["context"])
        intact &= bool(status.intact and status.valid)
        trusted &= bool(status.trusted)
        # Anything appended after the signature (an annotation, a new attachment, a changed page) leaves the
        # signature covering one revision only, not the entire file; the digest alone would not show it.
        unmodified &= status.coverage.name == "ENTIRE_FILE"
        if stamp["present"] and stamp["intact"] and not stamp["trusted"]:
            # A sound timestamp from an authority not trusted here (none configured, or a former one left out of
            # DONOHARM_TSA_ROOT) proves no time, but must not make a genuine record invalid: judge without it.
            status = dataclasses.replace(status, timestamp_validity=None)
        accepted &= bool(status.bottom_line)  # pyHanko's overall judgement, incl. modification analysis
        subject = status.signing_cert.subject
        verdict.signer = subject.native.get("common_name") or subject.human_friendly
        verdict.signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
        verdict.timestamped_at = proven.astimezone(UTC).isoformat() if proven else None
        verdict.timestamp_authority = stamp["authority"] if proven else None
        verdict.root_fingerprint = verdict.root_current = None
        if status.trusted and status.validation_path is not None:
            anchor = status.validation_path.trust_anchor.authority.certificate
            root = roots.get(anchor.sha256)
            verdict.root_fingerprint = _colons(anchor.sha256.hex().upper())
            verdict.root_current = root.current if root is not None else True
            made = proven or claimed
            if root is not None and root.retired_at is not None and made is not None and \
                    made > root.retired_at + TOLERANCE:
                verdict.problems.append(f"the signature chains to a root certificate this organisation retired on "
                                        f"{root.retired_at:%Y-%m-%d}, but it was made later ({made:%Y-%m-%d})")
    # A signature that does not match the file says nothing about what was added after it: never "unmodified".
    verdict.intact, verdict.trusted, verdict.unmodified = intact, trusted, intact and unmodified
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
    verdict.label, verdict.protocol_id, verdict.protocol_version, verdict.run_status, verdict.mode = (
        _text(run.get(key)) for key in ("label", "protocol_id", "protocol_version", "status", "mode"))
    disclosure = document.get("disclosure")
    profile = disclosure.get("profile") if isinstance(disclosure, dict) else INTERNAL  # records before profiles
    verdict.profile = profile if profile in PROFILES else None


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


def _context(anchors: list, moment: datetime, revocation: dict):
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(trust_roots=anchors, moment=moment, allow_fetching=False, crls=revocation["crls"],
                             ocsps=revocation["ocsps"], other_certs=revocation["certs"])


def _embedded_revocation(reader) -> dict:
    """The certificates, CRLs and OCSP responses in the document security store (PAdES B-LT), if any."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    found = {"certs": [], "crls": [], "ocsps": []}
    try:
        dss = reader.root["/DSS"]
    except KeyError:
        return found
    items = sum(len(dss[name]) for name in ("/Certs", "/CRLs", "/OCSPs") if name in dss)
    if items > MAX_DSS_ITEMS:  # a record's holds its chain and a few revocation answers
        raise TooCostly(f"its document security store holds more than {MAX_DSS_ITEMS} items")
    store = DocumentSecurityStore.read_dss(reader)
    found["certs"] = list(store.load_certs())
    found["crls"] = [ref.get_object().data for ref in store.crls]
    found["ocsps"] = [ref.get_object().data for ref in store.ocsps]
    return found


def _timestamp(signature, tsa_roots: list, anchors: list, revocation: dict) -> dict:
    """The signature's RFC 3161 timestamp: present, intact, trusted, its time and authority, and the context
    to validate it in: the authority's certificate as at the timestamp's own time, so that a timestamp outlives
    the authority's certificate (the authority's key is trusted not to have been used to forge earlier times).
    With no authority configured the token is checked against our own roots: intact or not, never trusted."""
    import asyncio

    from pyhanko.sign.validation.generic_cms import (
        extract_tst_data_iter,
        message_imprint_checker,
        validate_tst_signed_data,
    )
    from pyhanko.sign.validation.status import TimestampSignatureStatus

    answer = {"present": False, "intact": True, "trusted": False, "time": None, "authority": None, "context": None}
    token = next(iter(extract_tst_data_iter(signature.signer_info, signed=False)), None)
    if token is None:
        return answer
    answer["present"] = True
    try:
        when = token["encap_content_info"]["content"].parsed["gen_time"].native
    except (KeyError, AttributeError, TypeError, ValueError):
        answer["intact"] = False
        return answer
    answer["context"] = context = _context(list(tsa_roots) or anchors, when, revocation)
    status = TimestampSignatureStatus(**outside_event_loop(lambda: asyncio.run(
        validate_tst_signed_data(token, context, message_imprint_checker(signature.signer_info)))))
    answer["intact"] = bool(status.intact and status.valid)
    answer["trusted"] = bool(tsa_roots) and answer["intact"] and bool(status.trusted)
    answer["time"] = status.timestamp
    if status.validation_path is not None:
        name = status.validation_path.leaf.subject
        answer["authority"] = name.native.get("common_name") or name.human_friendly
    return answer


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
