"""Trainers' protocol API: publish a version as YAML text, compare two versions (DESIGN section 5)."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request
from flask_login import current_user, login_required

from ..accounts.auth import roles_required
from ..db import get_db
from ..protocols import MAX_BYTES, ConflictError, ProtocolError
from ..protocols.diff import compare
from ..runs import policy
from ..services import library
from .errors import api_error
from .openapi import CORE_PATHS, ERROR, PROTOCOL_ID, _json, _ref, register_paths

bp = Blueprint("api_protocols", __name__, url_prefix="/api/v1")


@bp.post("/protocols")
@roles_required(*policy.TRAINERS)
def upload():
    """Publish a protocol version from the YAML text in the body."""
    if request.content_length is not None and request.content_length > MAX_BYTES:
        return _too_large()
    raw = request.stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return _too_large()
    try:
        protocol, created = library.publish(get_db(), raw, current_user.id)
    except ConflictError as error:
        return api_error(409, "version_conflict", error.problems[0].message,
                         [p.as_json() for p in error.problems])
    except ProtocolError as error:
        return api_error(422, "invalid_protocol", f"{len(error.problems)} problem(s) in the protocol",
                         [p.as_json() for p in error.problems])
    body = {"id": protocol.id, "version": protocol.version, "sha256": protocol.sha256, "created": created}
    return jsonify(body), 201 if created else 200


def _too_large():
    return api_error(413, "too_large", f"a protocol may be at most {MAX_BYTES // 1024} KB")


@bp.get("/protocols/<protocol_id>/diff")
@login_required
def diff(protocol_id: str):
    """Compare two versions of a protocol, step by step."""
    registry = library.get_registry()
    versions = {}
    for name in ("from", "to"):
        value = request.args.get(name)
        if not value:
            return api_error(400, "missing_version", f"give the versions to compare as ?from=…&to=… ({name} missing)")
        versions[name] = registry.get(protocol_id, value)
        if versions[name] is None:
            return api_error(404, "not_found", f"no version {value} of protocol {protocol_id}")
    return jsonify(compare(versions["from"], versions["to"]).to_json())


UPLOADED = {"type": "object", "required": ["id", "version", "sha256", "created"], "properties": {
    "id": {"type": "string"}, "version": {"type": "string"}, "sha256": {"type": "string"},
    "created": {"type": "boolean"}}}
STEP = {"type": "object", "required": ["id", "phase", "text", "kind", "critical"], "properties": {
    "id": {"type": "string"}, "phase": {"type": "string"}, "text": {"type": "string"},
    "kind": {"type": "string"}, "critical": {"type": "boolean"}}}
VERSION_REF = {"type": "object", "required": ["version", "sha256"], "properties": {
    "version": {"type": "string"}, "sha256": {"type": "string"}, "changelog": {"type": "string"}}}
SCHEMAS = {
    "ProtocolDiff": {"type": "object",
                     "required": ["protocol_id", "from", "to", "added", "removed", "moved", "changed"],
                     "properties": {
                         "protocol_id": {"type": "string"}, "from": VERSION_REF, "to": VERSION_REF,
                         "added": {"type": "array", "items": STEP}, "removed": {"type": "array", "items": STEP},
                         "moved": {"type": "array", "items": {"type": "object", "properties": {
                             "id": {"type": "string"}, "from_phase": {"type": "string"},
                             "to_phase": {"type": "string"}}}},
                         "changed": {"type": "array", "items": {"type": "object", "required": ["id", "changes"],
                                                                "properties": {"id": {"type": "string"},
                                                                               "phase": {"type": "string"},
                                                                               "changes": {"type": "object"}}}},
                         "protocol_changes": {"type": "object"}}},
}
PATHS = {
    # The document merges paths shallowly: keep the core GET beside the POST.
    "/api/v1/protocols": {**CORE_PATHS["/api/v1/protocols"], "post": {
        "summary": "Publish a protocol version (trainers and admins); the body is the YAML text",
        "description": "Checked exactly like `protocols check`. 201 when stored, 200 when the identical content "
                       "is published already, 409 when the id and version are published with different content, "
                       "422 with details [{line, message}] when the YAML is invalid, 413 over "
                       f"{MAX_BYTES // 1024} KB. Nothing is stored on refusal.",
        "requestBody": {"required": True, "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}}}},
        "responses": {"201": _json(_ref("UploadedProtocol"), "Published"),
                      "200": _json(_ref("UploadedProtocol"), "Identical content is published already"),
                      "400": ERROR, "401": ERROR, "403": ERROR, "409": ERROR, "413": ERROR, "422": ERROR}}},
    "/api/v1/protocols/{protocol_id}/diff": {"get": {
        "summary": "Steps added, removed, moved between phases and changed from one version to another, by step id",
        "parameters": [PROTOCOL_ID,
                       {"name": "from", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "to", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("ProtocolDiff")), "400": ERROR, "401": ERROR, "404": ERROR}}},
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_paths(app, PATHS, {**SCHEMAS, "UploadedProtocol": UPLOADED})
