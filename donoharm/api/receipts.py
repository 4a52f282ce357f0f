"""POST /api/v1/receipts/verify: anyone holding a receipt (an auditor, say) may check it; nothing is stored.

Public like POST /api/v1/verify, and rate-limited the same way (VERIFY_RATE_LIMIT a minute per client,
counted separately). The answer says only whether the receipt is genuine and still contained, and why not:
the run is looked up only for a receipt this server signed, so a made-up one learns nothing about runs.
"""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request

from ..db import get_db
from ..records.receipting import MAX_BYTES, check_with_server
from ..records.receipts import FORMAT, MAX_INTERMEDIATES, parse_receipt, shape_problems
from .errors import api_error, rate_limited
from .openapi import ERROR, RATE_LIMITED, register_paths

bp = Blueprint("api_receipts", __name__, url_prefix="/api/v1")


@bp.post("/receipts/verify")
def verify_receipt():
    refused = rate_limited("receipts", "VERIFY_RATE_LIMIT")
    if refused is not None:
        return refused
    if request.content_length is not None and request.content_length > MAX_BYTES:
        return _too_large()
    data = request.stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _too_large()
    if not data.strip():
        return api_error(400, "empty_body", "send the receipt (the JSON file saved from the phone) as the body")
    try:
        receipt = parse_receipt(data)
    except ValueError as error:
        return api_error(400, "not_json", f"the body is not a receipt: {error}")
    problems = shape_problems(receipt)
    if problems:
        return api_error(422, "invalid_receipt", "the body is not a receipt: " + "; ".join(problems), problems)
    return jsonify(check_with_server(get_db(), receipt).to_json()), 200


def _too_large():
    return api_error(413, "too_large", f"a receipt is at most {MAX_BYTES // 1024} KB")


RECEIPT_SCHEMA = {
    "type": "object",
    "description": "The server's signed word that a run's chain had `head` at position `seq` (0: no events yet). "
                   "Signed (RSA PKCS#1 v1.5 or ECDSA, SHA-256) over the canonical JSON (keys sorted, no spaces, "
                   "UTF-8) of every field except `signature`.",
    "required": ["format", "run", "seq", "head", "received_at", "certificate", "signature"],
    "properties": {
        "format": {"type": "string", "enum": [FORMAT]},
        "run": {"type": "string", "description": "The run's id"},
        "seq": {"type": "integer", "minimum": 0, "description": "How many events the chain held"},
        "head": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The chain's hash at `seq`"},
        "received_at": {"type": "string", "description": "When the server received the event at `seq` "
                                                         "(for position 0: the run)"},
        "certificate": {"type": "string", "description": "The signing certificate, base64 DER"},
        "chain": {"type": "array", "maxItems": MAX_INTERMEDIATES, "items": {"type": "string"},
                  "description": "Intermediate certificates up to the root, base64 DER (only when there are any)"},
        "signature": {"type": "string", "description": "base64"},
    },
}

RECEIPT_VERDICT_SCHEMA = {
    "type": "object",
    "required": ["valid", "genuine", "contained", "problems"],
    "properties": {
        "valid": {"type": "boolean", "description": "genuine and contained"},
        "genuine": {"type": "boolean", "description": "signed over these fields with a certificate one of this "
                                                      "organisation's roots issued, valid at the receipt's time"},
        "contained": {"type": "boolean", "description": "the run's chain today, recomputed from its stored "
                                                        "events, has this head at this position (only looked at "
                                                        "for a genuine receipt)"},
        "signer": {"type": ["string", "null"]},
        "run": {"type": ["string", "null"]},
        "seq": {"type": ["integer", "null"]},
        "head": {"type": ["string", "null"]},
        "received_at": {"type": ["string", "null"]},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}

PATHS = {
    "/api/v1/receipts/verify": {
        "post": {
            "summary": "Check a receipt a phone kept: genuine, and still contained in the run's chain",
            "description": "Public: no session or CSRF token needed (it changes nothing and stores nothing), so "
                           "anyone holding a receipt can check it. 200 with `valid: false` and `problems` for a "
                           "receipt that is not genuine, names a run this server no longer has, or whose head is "
                           "no longer at its position (the history was changed). Nothing about the run is "
                           "revealed beyond that. Limited per client and minute (429 beyond it).",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Receipt"}}}},
            "responses": {
                "200": {"description": "The verdict", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ReceiptVerdict"}}}},
                "400": ERROR,
                "413": ERROR,
                "422": ERROR,
                "429": RATE_LIMITED,
            },
        }
    }
}


def init_app(app: Flask) -> None:
    from .. import csrf

    csrf.exempt(bp)  # public and read-only: it changes nothing, so there is nothing to forge
    app.register_blueprint(bp)
    register_paths(app, PATHS, {"Receipt": RECEIPT_SCHEMA, "ReceiptVerdict": RECEIPT_VERDICT_SCHEMA})
