"""Sessions, protocols and runs over JSON (DESIGN section 5)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..clock import device_clock
from ..db import get_db
from ..db import records as records_db
from ..runs import policy
from ..services import operations, redaction, run_service
from ..services.library import get_registry
from ..services.run_service import RunError
from ..text import first_invalid_unicode
from .errors import api_error
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict:
    """The request's JSON object, or a 400 error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise RunError("malformed", "invalid_body", "the body must be a JSON object")
    where = first_invalid_unicode(data)
    if where:  # e.g. "\ud800": JSON can escape it, but it is not text and no database can store it
        raise RunError("invalid", "invalid_unicode", f"'{where}' is not valid Unicode text (a lone surrogate)",
                       {"field": where})
    return data


def readable_run(run_id: str) -> dict:
    """A run the current user may read; others' runs look like missing ones."""
    run = run_service.load_run(get_db(), run_id)
    if not policy.may_read_run(current_user.id, current_user.role, run):
        raise RunError("not_found", "not_found", "no such run")
    return run


def run_json(run: dict) -> dict:
    keys = ("id", "protocol_id", "protocol_version", "protocol_sha256", "label", "mode", "language",
            "created_by", "created_at", "received_at", "status", "head_hash", "event_count", "submitted_at",
            "updated_at", "operation_id")
    return {key: run.get(key) for key in keys}


PUBLIC_EVENT_FIELDS = ("id", "run", "seq", "type", "step", "value", "note", "at", "received_at", "actor",
                       "prev_hash", "hash")
# Sealed since texts are committed (runs/chain.py): with the salt anyone holding the document can check the
# texts against the commitment; after a redaction the texts and salt are null and `redacted` is true.
COMMITMENT_FIELDS = ("text_commitment", "text_salt", "value_is_text", "text_confirmed")


def event_json(event: dict) -> dict:
    found = {key: event[key] for key in PUBLIC_EVENT_FIELDS}
    if event.get("text_commitment"):
        found.update({key: event.get(key) for key in COMMITMENT_FIELDS})
        found["redacted"] = event.get("text_salt") is None
    return found


def run_document(run: dict, state, events: list[dict], operation: dict | None = None) -> dict:
    """A run's API representation (GET /api/v1/runs/<id>); signed records embed the same.

    A run changed outside the app: its events are given as stored (they are the evidence), its state only up
    to the first bad event, and `integrity` says so plainly (records are never issued for such a run).
    `operation` is operations.document_of(run): its operation and the other runs in it, null for none."""
    fault = state.integrity_fault
    return {"run": run_json(run), "state": state.to_json(), "events": [event_json(e) for e in events],
            "integrity": {"intact": fault is None, "fault": fault.to_json() if fault else None},
            "operation": operation}


@bp.get("/session")
@login_required
def session():
    return jsonify({"user": current_user.username, "role": current_user.role, "csrf_token": generate_csrf()})


@bp.get("/protocols")
@login_required
def protocols():
    registry = get_registry()
    return jsonify([{"id": p.id, "version": p.version, "sha256": p.sha256, "title": p.title,
                     "status": registry.status(p)} for p in registry.all()])


@bp.get("/protocols/<protocol_id>/<version>")
@login_required
def protocol(protocol_id: str, version: str):
    found = get_registry().get(protocol_id, version)
    if found is None:
        return api_error(404, "not_found", "no such protocol version")
    return jsonify({**found.to_json(), "status": get_registry().status(found)})


@bp.put("/runs/<run_id>")
@login_required
def put_run(run_id: str):
    run, created = run_service.start_run(get_db(), get_registry(), run_id, json_body(),
                                         current_user.actor, current_user.id, clock=device_clock())
    if not created and run["creator_id"] != current_user.id:
        raise RunError("conflict", "run_exists", "a different run already has this id")
    return jsonify(run_json(run)), 201 if created else 200


@bp.post("/runs/<run_id>/events")
@login_required
def post_events(run_id: str):
    body = json_body()
    readable_run(run_id)
    result = run_service.append_events(get_db(), get_registry(), run_id, body.get("events"), current_user.actor,
                                       clock=device_clock())
    from ..records.receipting import receipt_or_none  # here: the records package imports this module

    for raw in body["events"]:  # a redaction sent here, as through POST .../redactions: delete superseded files
        if isinstance(raw, dict) and raw.get("type") == "redaction" and str(raw.get("id")).lower() in result.accepted:
            redaction.remove_superseded_files(get_db(), str(raw["id"]).lower(), Path(current_app.instance_path))

    # A signed receipt for the head, also for a batch of replays: the phone keeps the latest per run.
    # Where the run stands and what this batch changed, not the whole state (GET has it): the answer's size and
    # cost do not grow with the run's history.
    return jsonify({"accepted": result.accepted, "duplicates": result.duplicates, "head": result.head,
                    **result.changes(), "receipt": receipt_or_none(get_db(), run_id, result.head)})


def record_status(run_id: str) -> dict:
    """The run's newest signed record, and whether the record of its latest change is still being issued."""
    db = get_db()
    latest, due = records_db.latest_record(db, run_id), records_db.due_record(db, run_id)
    return {"latest": {"id": latest["id"], "issued_at": latest["issued_at"], "status": latest["status"],
                       "sha256": latest["sha256"],
                       "url": url_for("records.earlier", run_id=run_id, record_id=latest["id"])} if latest else None,
            "being_issued": {"status": due["status"], "since": due["due_at"], "attempts": due["attempts"]}
            if due else None}


@bp.get("/runs/<run_id>")
@login_required
def get_run(run_id: str):
    run = readable_run(run_id)
    state, events = run_service.run_state(get_db(), get_registry(), run)
    # Not part of run_document: a signed record embeds that document, and cannot say it is being issued.
    return jsonify({**run_document(run, state, events, operations.document_of(get_db(), run)),
                    "record": record_status(run_id)})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app))
