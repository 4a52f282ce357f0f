"""The OpenAPI 3 description of /api/v1; each API module registers the paths it serves. The schemas of the
core's objects are in api/openapi_schemas.py."""
from __future__ import annotations

from typing import Any

from flask import Flask

from .openapi_schemas import RUN_STATUSES, SCHEMAS, _ref

ERROR = {"$ref": "#/components/responses/Error"}
# The public verification endpoints' answer beyond their per-client, per-minute limit (rate_limit.py).
RATE_LIMITED = {"description": "Too many verifications from this client in the last minute; "
                               "the Retry-After header says how many seconds to wait",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
PROTOCOL_ID = {"name": "protocol_id", "in": "path", "required": True, "schema": {"type": "string"}}
VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}

CORE_PATHS: dict[str, Any] = {
    "/api/v1/session": {"get": {
        "summary": "Who is signed in, and the CSRF token to send as X-CSRFToken on writes",
        "responses": {"200": _json({"type": "object", "required": ["user", "role", "csrf_token"], "properties": {
            "user": {"type": "string"}, "role": {"type": "string"}, "csrf_token": {"type": "string"}}}),
            "401": ERROR}}},
    "/api/v1/protocols": {"get": {
        "summary": "Every published protocol version",
        "responses": {"200": _json({"type": "array", "items": _ref("ProtocolSummary")}), "401": ERROR}}},
    "/api/v1/protocols/{protocol_id}/{version}": {"get": {
        "summary": "One protocol version as JSON, with its sha256 and status",
        "parameters": [PROTOCOL_ID, VERSION],
        "responses": {"200": _json({"type": "object"}), "401": ERROR, "404": ERROR}}},
    "/api/v1/runs/{run_id}": {
        "put": {
            "summary": "Start a run with a client-made UUID (idempotent: 200 when it exists already), joining "
                       "(operation_id) or opening (operation) an operation if asked",
            "parameters": [RUN_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewRun")}}},
            "responses": {"201": _json(_ref("Run"), "Created"), "200": _json(_ref("Run"), "Exists already"),
                          "400": ERROR, "401": ERROR, "409": ERROR, "422": ERROR}},
        "get": {
            "summary": "A run with its state and every event, whether its stored history still verifies, and its "
                       "signed record: the latest issued, and whether the record of its latest change is being "
                       "issued",
            "parameters": [RUN_ID],
            "responses": {"200": _json({"type": "object", "required": ["run", "state", "events", "integrity",
                                                                       "operation", "record"],
                                        "properties": {
                "run": _ref("Run"), "state": _ref("RunState"),
                "events": {"type": "array", "items": _ref("StoredEvent")},
                "integrity": _ref("Integrity"), "operation": {"anyOf": [_ref("Operation"), {"type": "null"}]},
                "record": _ref("RecordStatus")}}), "401": ERROR, "404": ERROR}}},
    "/api/v1/runs/{run_id}/events": {"post": {
        "summary": "Append a batch of events, all or nothing; replayed event ids are acknowledged again. "
                   "409 integrity_fault (details.seq: the first bad event) when the run's stored history was "
                   "changed outside the app: nothing is added until an administrator has dealt with it",
        "description": "Refusals name the event (details.index, details.event_id). Among them: 422 "
                       "red_flags_unacknowledged, a review.approved that does not acknowledge every red flag "
                       "(details.flags: the RedFlag objects not acknowledged; details.deviations: the ids of "
                       "those that are deviations); 422 invalid_value, one that acknowledges an id that is not a "
                       "red flag of the run (details.unknown); 409 follow_up_only, a change to an approved run "
                       "that is not an answer, note or deviation on one of its follow-up steps (details.steps: "
                       "the follow-up steps still open); 409 run_locked, any change to an approved or closed run "
                       "(a redaction excepted); 422 personal_data_suspected, a free text (note, reason, comment, "
                       "text answer) in which the personal-data guard found a likely age, phone number, e-mail "
                       "address, ID number, date of birth or street address, sent without text_confirmed: true "
                       "(details.spans: [{field, kind, start, end, text}]; rephrase, or confirm that it identifies "
                       "nobody); for a redaction: 403 forbidden (not a supervisor or administrator), 422 no_text "
                       "(no such event in the run, or it has no text), 422 reason_required, 409 already_redacted, "
                       "409 not_redactable (stored before texts were sealed as commitments). A redaction sent here "
                       "has the same effect as POST .../redactions: the server's files of the records it "
                       "supersedes are deleted.",
        "parameters": [RUN_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["events"],
            "properties": {"events": {"type": "array", "items": _ref("Event"), "maxItems": 500}}}}}},
        "responses": {"200": _json({"type": "object",
                                    "description": "Where the run now stands and what this batch changed; "
                                    "its size does not grow with the run's history (GET /api/v1/runs/{run_id} "
                                    "has the whole state)",
                                    "required": ["accepted", "duplicates", "head", "status", "event_count",
                                                 "counts", "missing_critical", "complete", "steps",
                                                 "removed_texts", "receipt"],
                                    "properties": {"accepted": {"type": "array", "items": {"type": "string"}},
                                                   "duplicates": {"type": "array", "items": {"type": "string"}},
                                                   "head": {"type": "string"},
                                                   "status": {"type": "string", "enum": RUN_STATUSES},
                                                   "event_count": {"type": "integer", "minimum": 0},
                                                   "counts": {"type": "object", "description": "Steps done, "
                                                              "not applicable (na) and still to do (todo)"},
                                                   "missing_critical": {"type": "array",
                                                                        "items": {"type": "string"}},
                                                   "complete": {"type": "boolean"},
                                                   "steps": {"type": "object", "description": "The current "
                                                             "entry of each step this batch's events named, "
                                                             "as in RunState.steps: an answer superseded by "
                                                             "one made later shows the one that stands"},
                                                   "removed_texts": {"type": "array", "description": "Every "
                                                                     "text removed from the run so far: {event, "
                                                                     "value_is_text}; a phone deletes its copies",
                                                                     "items": {"type": "object"}},
                                                   "receipt": {"anyOf": [_ref("Receipt"), {"type": "null"}],
                                                               "description": "The server's signed receipt for "
                                                               "`head`, also when every event was a replay; keep "
                                                               "the latest and check it with POST "
                                                               "/api/v1/receipts/verify. null only when the "
                                                               "server could not sign (its log says why)"}}}),
                      "400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR, "409": ERROR, "413": ERROR,
                      "422": ERROR}}},
    "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                     "responses": {"200": _json({"type": "object"})}}},
}


def register_paths(app: Flask, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add an API module's paths (and schemas) to the document."""
    extra = app.extensions.setdefault("donoharm.openapi", {"paths": {}, "schemas": {}})
    extra["paths"].update(paths)
    extra["schemas"].update(schemas or {})


def openapi_document(app: Flask) -> dict[str, Any]:
    """Assemble the OpenAPI 3.1 document."""
    extra = app.extensions.get("donoharm.openapi", {"paths": {}, "schemas": {}})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Do No Harm API", "version": "1",
                 "description": "Runs of 'do no harm' protocols. Sign in through /login; the API uses the same "
                                "session cookie. Writes need the X-CSRFToken header from GET /api/v1/session. "
                                "A signed-in person whose role must use two-step sign-in (DONOHARM_REQUIRE_2FA) "
                                "and has not set it up gets 403 two_factor_required from every endpoint that "
                                "needs a sign-in. "
                                "Errors are {\"error\": {\"code\", \"message\", \"details\"}} with a 4xx status."},
        "paths": {**CORE_PATHS, **extra["paths"]},
        "components": {
            "schemas": {**SCHEMAS, **extra["schemas"]},
            "responses": {"Error": _json(_ref("Error"), "An error")},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
        "security": [{"session": []}],
    }
