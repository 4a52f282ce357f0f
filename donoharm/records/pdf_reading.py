"""Read a signed PDF with pyHanko, within the limits of what a record can be: its size and structure, each
signature and its RFC 3161 timestamp against this organisation's roots, and the audit-record.json it carries.
Fills a Verdict (records/verification.py); records/verify.py is the entry point."""
from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from io import BytesIO
from itertools import islice

from .blocking import outside_event_loop
from .profiles import INTERNAL, PROFILES
from .render import ATTACHMENT_NAME
from .signing import SigningKey
from .verification import (
    MAX_ATTACHMENT_BYTES,
    MAX_DECODED_BYTES,
    MAX_DSS_ITEMS,
    MAX_OBJECTS,
    MAX_PAGES,
    MAX_REVISIONS,
    MAX_SIGNATURES,
    MAX_STREAM_BYTES,
    TOLERANCE,
    TooCostly,
    Verdict,
    _colons,
    _moment,
    _text,
    bounded_stream_data,
)


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
