"""POST /api/v1/verify: anyone may check a record PDF (no session needed; nothing is stored).

Rate-limited per client (VERIFY_RATE_LIMIT a minute, see donoharm/web/rate_limit.py): 429 with Retry-After."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request

from ..db import get_db
from ..records import signing_key, verify_pdf
from ..records.verdicts import OUTCOMES, protocol_title, verdict_json
from ..records.verify import MAX_BYTES
from ..services.library import get_registry
from .errors import api_error, rate_limited
from .openapi import RATE_LIMITED, register_paths

bp = Blueprint("api_verify", __name__, url_prefix="/api/v1")

VERDICT_SCHEMA = {
    "type": "object",
    "required": ["valid", "signer", "signed_at", "run_id", "matches_record", "problems"],
    "properties": {
        "valid": {"type": "boolean", "description": "every check below holds"},
        "signer": {"type": ["string", "null"]},
        "signed_at": {"type": ["string", "null"]},
        "run_id": {"type": ["string", "null"]},
        "record_id": {"type": ["string", "null"]},
        "head_hash": {"type": ["string", "null"]},
        "matches_record": {"type": "boolean"},
        "signatures_intact": {"type": "boolean"},
        "signed_by_organisation": {"type": "boolean"},
        "unmodified_since_signing": {"type": "boolean"},
        "signatures": {"type": "integer"},
        "latest": {"type": ["boolean", "null"], "description": "false when the run has a newer record"},
        "root_fingerprint": {"type": ["string", "null"], "description": "SHA-256 fingerprint (AA:BB:…) of the "
                             "organisation root certificate the signature chains to"},
        "root_current": {"type": ["boolean", "null"], "description": "false when that root was since replaced "
                         "(records signed under an earlier root stay valid)"},
        "timestamped_at": {"type": ["string", "null"], "format": "date-time", "description": "the time a "
                           "trusted RFC 3161 timestamp authority vouches the signature existed; null without one"},
        "timestamp_authority": {"type": ["string", "null"], "description": "the name of that authority"},
        "profile": {"enum": ["internal", "shareable", None], "description": "the record's disclosure profile: "
                    "internal (complete, for the organisation) or shareable (no free text, roles instead of names, "
                    "counts under the oversight threshold as '<N', no nationality or immigration totals); from the "
                    "records table once the file matches a record issued here, else as the file says"},
        "other_profile_record_id": {"type": ["string", "null"], "description": "the record of the same issue in "
                                    "the other profile (null for records issued before profiles existed)"},
        "other_profile_sha256": {"type": ["string", "null"], "description": "its sha256, from the records table"},
        "redacted_at": {"type": ["string", "null"], "format": "date-time", "description": "set when a redaction "
                        "superseded this record (it held a text removed since): copies of the file should be "
                        "destroyed; the record stays genuine and `valid`"},
        "verdict": {"enum": list(OUTCOMES), "description": "the one verdict a reader needs first: genuine, "
                    "superseded_by_redaction or superseded (all three `valid`), else why not: not_a_record, damaged, "
                    "changed (after signing), not_signed_here (not this organisation's certificate), "
                    "added_after_signing, not_issued_here, problem (see `problems`)"},
        "summary": {"type": "string", "description": "that verdict as one plain English sentence, e.g. 'This "
                    "file was changed after it was signed.'"},
        "label": {"type": ["string", "null"], "description": "the run's operation label, as the record's "
                  "embedded audit-record.json says (trust it only when `valid`)"},
        "protocol_id": {"type": ["string", "null"], "description": "the protocol the run followed, as the file "
                        "says"},
        "protocol_version": {"type": ["string", "null"]},
        "protocol_title": {"type": ["string", "null"], "description": "that protocol version's title, when this "
                           "server knows it"},
        "run_status": {"type": ["string", "null"], "description": "the run's status when the record was issued "
                       "(submitted, returned, approved, follow_up, closed…), as the file says"},
        "mode": {"type": ["string", "null"], "description": "live or practice, as the file says"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}


@bp.post("/verify")
def verify():
    refused = rate_limited("verify", "VERIFY_RATE_LIMIT")
    if refused is not None:
        return refused
    length = request.content_length
    if length is not None and length > MAX_BYTES:
        return api_error(413, "too_large", f"a record is at most {MAX_BYTES // (1024 * 1024)} MB")
    data = request.get_data(cache=False)
    if not data:
        return api_error(400, "empty_body", "send the PDF file as the request body")
    verdict = verify_pdf(data, signing_key(), get_db())
    found = verdict_json(verdict, protocol_title(verdict, get_registry()))
    if not data.startswith(b"%PDF-"):
        return api_error(422, "not_pdf", "the body is not a PDF file", found)
    return jsonify(found), 200


PATHS = {
    "/api/v1/verify": {
        "post": {
            "summary": "Verify a signed audit record",
            "description": "Public: no session needed. 200 with `valid: false` and `problems` when the PDF "
                           "is not an unaltered record signed and issued here. Limited per client and minute "
                           "(429 beyond it).",
            "security": [],
            "requestBody": {"required": True, "content": {"application/pdf": {
                "schema": {"type": "string", "format": "binary"}}}},
            "responses": {
                "200": {"description": "The verdict", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Verdict"}}}},
                "400": {"description": "Empty body"},
                "413": {"description": "Larger than the limit"},
                "422": {"description": "Not a PDF"},
                "429": RATE_LIMITED,
            },
        }
    }
}


def init_app(app: Flask) -> None:
    from .. import csrf

    csrf.exempt(bp)  # public and read-only: it changes nothing, so there is nothing to forge
    app.register_blueprint(bp)
    register_paths(app, PATHS, {"Verdict": VERDICT_SCHEMA})
