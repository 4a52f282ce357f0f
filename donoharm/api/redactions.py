"""POST /api/v1/runs/<run_id>/redactions: a supervisor or administrator removes an event's free text for good.

The same service as the review page (donoharm/services/redaction.py): a `redaction` event through the one append path,
then the server's files of the records that held the text are deleted. A run the user may not read looks
missing (404); anyone else but supervisors and administrators is refused (403, the core's rule, asked before the
body is read); the core decides what can be removed.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify
from flask_login import current_user, login_required

from ..db import get_db
from ..db import records as records_db
from ..runs import EventError, policy
from ..services import redaction, run_service
from ..services.library import get_registry
from .openapi import ERROR, RUN_ID, _json, _ref, register_paths
from .v1 import json_body, readable_run

bp = Blueprint("api_redactions", __name__, url_prefix="/api/v1")

BODY_FIELDS = ("event", "reason", "text_confirmed")


@bp.post("/runs/<run_id>/redactions")
@login_required
def create(run_id: str):
    readable_run(run_id)  # first: a run the user may not read is missing, whatever the body
    if not policy.may_redact(current_user.role):  # the core's rule, before the body is even read
        raise EventError("forbidden", "only supervisors and administrators can remove a text")
    body = json_body()
    unknown = sorted(set(body) - set(BODY_FIELDS))
    if unknown:
        raise EventError("invalid_field", f"unknown field(s): {', '.join(unknown)}", {"fields": unknown})
    if not isinstance(body.get("event"), str):
        raise EventError("invalid_value", "give the id of the event whose text is removed as 'event'")
    if not isinstance(body.get("reason", ""), str):
        raise EventError("invalid_field", "'reason' must be text", {"field": "reason"})
    confirmed = body.get("text_confirmed", False)
    if not isinstance(confirmed, bool):
        raise EventError("invalid_field", "'text_confirmed' is true or false", {"field": "text_confirmed"})
    db = get_db()
    try:
        result = redaction.redact(db, get_registry(), run_id, body["event"], body.get("reason") or "",
                                  current_user.actor, Path(current_app.instance_path), confirmed=confirmed)
    except EventError as error:
        raise in_body_terms(error) from None
    redaction_id = result.accepted[0]
    # The whole state as it now reads (an append keeps only what validation needs): a rare request, folded here.
    state, _events = run_service.run_state(db, get_registry(), run_service.load_run(db, run_id))
    return jsonify({"redaction": redaction_id, "head": result.head, "state": state.to_json(),
                    "records_superseded": records_db.superseded_by(db, redaction_id)}), 201


def in_body_terms(error: EventError) -> EventError:
    """The core's refusal, speaking of this body's fields: the reason is the redaction event's `note`, and the
    index and id of the event made here mean nothing to the caller."""
    details = error.details
    if isinstance(details, dict):
        details = {key: value for key, value in details.items() if key not in ("index", "event_id")}
        if details.get("field") == "note":
            details["field"] = "reason"
        if isinstance(details.get("spans"), list):
            details["spans"] = [{**span, "field": "reason"} if span.get("field") == "note" else span
                                for span in details["spans"]]
    error.message = error.message.replace("'note'", "'reason'")
    error.details = details or None
    return error


NEW_REDACTION = {"type": "object", "required": ["event", "reason"], "additionalProperties": False, "properties": {
    "event": {"type": "string", "format": "uuid", "description": "The id of the event whose free text is removed: "
              "a note, deviation, not-applicable reason, text answer or review comment of this run"},
    "reason": {"type": "string", "minLength": 1, "maxLength": 2000,
               "description": "Why the text is removed; stored with the redaction event, shown where the text "
                              "was. Checked by the personal-data guard like any text, and never a name"},
    "text_confirmed": {"type": "boolean", "default": False,
                       "description": "The person confirmed that the reason identifies nobody, after the guard "
                                      "questioned it (422 personal_data_suspected)"}}}
REDACTION = {"type": "object", "required": ["redaction", "head", "state", "records_superseded"], "properties": {
    "redaction": {"type": "string", "format": "uuid", "description": "The id of the redaction event"},
    "head": {"type": "string", "description": "The run's chain head after the redaction"},
    "state": _ref("RunState"),
    "records_superseded": {"type": "array", "items": {"type": "string"},
                           "description": "The ids of the signed records that held the text: the server's "
                                          "files are deleted, downloading them answers 410, and every other copy "
                                          "should be destroyed (the administrator's list)"}}}
PATHS = {
    "/api/v1/runs/{run_id}/redactions": {"post": {
        "summary": "Remove an event's free text for good (supervisors and administrators, in any run status)",
        "description": "Appends a `redaction` event (who, when, why; never the text) through the same path as "
                       "POST /api/v1/runs/{run_id}/events. The text and its salt are deleted; the chain still "
                       "verifies against the text's commitment. Records issued since the event are superseded: "
                       "their files are deleted from the server and listed for the administrator; a run with a "
                       "record gets a new one. 403 forbidden for anyone but supervisors and administrators; 404 "
                       "for a run the user may not read; 422 no_text (no such event in this run, or it has no "
                       "text), reason_required, personal_data_suspected (details.spans, field reason: rephrase "
                       "or send text_confirmed: true); 409 already_redacted, not_redactable (stored before texts "
                       "were sealed as commitments), integrity_fault.",
        "parameters": [RUN_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewRedaction")}}},
        "responses": {"201": _json(_ref("Redaction"), "The text was removed"), "400": ERROR, "401": ERROR,
                      "403": ERROR, "404": ERROR, "409": ERROR, "422": ERROR}}},
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)  # CSRF-protected like every API write: send X-CSRFToken
    register_paths(app, PATHS, {"NewRedaction": NEW_REDACTION, "Redaction": REDACTION})
