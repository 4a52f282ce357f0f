"""The schemas of the OpenAPI document of /api/v1 (components.schemas): runs, events, their state, records and
the other objects the core paths (api/openapi.py) answer with; API modules add their own with register_paths."""
from __future__ import annotations

from typing import Any

# Every status a run can have; follow_up: approved, its protocol's follow-up steps still to answer; closed: the
# follow-up is done and the run is locked.
RUN_STATUSES = ["in_progress", "submitted", "returned", "approved", "follow_up", "closed"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "RecordStatus": {"type": "object", "required": ["latest", "being_issued"], "description":
                     "latest: the newest signed record issued for the run (null before the first). being_issued: "
                     "the record of the run's latest change is queued and not issued yet (attempts > 0: an "
                     "attempt failed and it is tried again later), else null",
                     "properties": {
                         "latest": {"anyOf": [{"type": "null"}, {
                             "type": "object", "required": ["id", "issued_at", "status", "sha256", "url"],
                             "properties": {"id": {"type": "string"}, "issued_at": {"type": "string"},
                                            "status": {"type": "string"}, "sha256": {"type": "string"},
                                            "url": {"type": "string"}}}]},
                         "being_issued": {"anyOf": [{"type": "null"}, {
                             "type": "object", "required": ["status", "since", "attempts"],
                             "properties": {"status": {"type": "string"}, "since": {"type": "string"},
                                            "attempts": {"type": "integer", "minimum": 0}}}]}}},
    "Integrity": {"type": "object", "required": ["intact", "fault"], "description":
                  "intact is false when the run's stored events no longer match their hashes (changed outside "
                  "the app); the state then covers only the events before fault.seq (0: the run's header)",
                  "properties": {"intact": {"type": "boolean"}, "fault": {"anyOf": [{"type": "null"}, {
                      "type": "object", "required": ["seq", "problem"],
                      "properties": {"seq": {"type": "integer", "minimum": 0}, "problem": {"type": "string"}}}]}}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
    "ProtocolSummary": {"type": "object", "required": ["id", "version", "sha256", "title", "status"],
                        "properties": {"id": {"type": "string"}, "version": {"type": "string"},
                                       "sha256": {"type": "string"}, "title": {"type": "string"},
                                       "status": {"type": "string", "enum": ["current", "published", "retired"]}}},
    "NewRun": {"type": "object", "required": ["protocol_id", "protocol_version", "label"], "properties": {
        "protocol_id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "protocol_version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"},
        "label": {"type": "string", "minLength": 1, "maxLength": 80,
                  "description": "An operation label, a code such as OP-2026-014, never a person's name: the "
                                 "whole label matches the organisation's DONOHARM_LABEL_PATTERN (default "
                                 "[A-Za-z0-9\\-]*[0-9][A-Za-z0-9\\-]*: letters, digits and hyphens, at least one "
                                 "digit, no spaces); one line of printable characters. Refused with 422 "
                                 "invalid_label, the rule in plain words as the message and details {pattern}"},
        "mode": {"type": "string", "enum": ["live", "practice"], "default": "live"},
        "language": {"type": "string", "maxLength": 20, "pattern": "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}$"},
        "created_at": {"type": "string", "format": "date-time",
                       "description": "Device time the run was started; refused (422 invalid_time) when more than "
                                      "a day ahead of the server's clock or before DONOHARM_TIME_FLOOR"},
        "versions_listed_at": {"type": "string", "format": "date-time",
                               "description": "When the server listed the versions this run's version was "
                                              "chosen from (a start form saved on the phone): a version "
                                              "retired after that is still accepted"},
        "operation_id": {"type": ["string", "null"], "format": "uuid",
                         "description": "Join this operation: one started on the UTC day the run was started "
                                        "(created_at, else now). 422 unknown_operation when there is none with "
                                        "this id, 422 operation_other_day when it was started another day. Live "
                                        "runs only (422 practice_operation); not together with operation. null: none"},
        "operation": {"type": ["object", "null"], "required": ["id", "label"], "description":
                      "Open a new operation with this run, its id made on the device: sending it again (or "
                      "another run with the same id and label, the same day) joins the same operation. 409 "
                      "operation_exists when that id has another label; 422 invalid_operation_label for a label "
                      "the label rule refuses. Live runs only; not together with operation_id. null: none",
                      "properties": {"id": {"type": "string", "format": "uuid"},
                                     "label": {"type": "string", "minLength": 1, "maxLength": 80,
                                               "description": "As a run's label: matches DONOHARM_LABEL_PATTERN "
                                                              "(422 invalid_operation_label, details {pattern}); "
                                                              "never a person's name"}}}}},
    "Run": {"type": "object", "properties": {
        "id": {"type": "string"}, "protocol_id": {"type": "string"}, "protocol_version": {"type": "string"},
        "protocol_sha256": {"type": "string"}, "label": {"type": "string"},
        "mode": {"type": "string", "enum": ["live", "practice"]}, "language": {"type": "string"},
        "created_by": {"type": "string"}, "created_at": {"type": "string"}, "received_at": {"type": "string"},
        "status": {"type": "string", "enum": RUN_STATUSES},
        "head_hash": {"type": "string"}, "event_count": {"type": "integer"},
        "submitted_at": {"type": ["string", "null"]}, "updated_at": {"type": "string"},
        "operation_id": {"type": ["string", "null"], "description": "The operation the run is part of, if any"}}},
    "Operation": {"type": "object", "required": ["id", "label", "day", "siblings"], "description":
                  "The operation a run is part of: organisational metadata kept beside the run, not covered by "
                  "its hash chain. siblings: its other runs as they stand now (in a signed record: when the "
                  "record was issued)",
                  "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                                 "day": {"type": "string", "description": "The UTC day it was started, YYYY-MM-DD"},
                                 "siblings": {"type": "array", "items": {
                                     "type": "object",
                                     "required": ["id", "label", "protocol_id", "protocol_version", "created_by",
                                                  "status"],
                                     "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                                                    "protocol_id": {"type": "string"},
                                                    "protocol_version": {"type": "string"},
                                                    "created_by": {"type": "string"},
                                                    "status": {"type": "string", "enum": RUN_STATUSES}}}}}},
    "Event": {"type": "object", "required": ["id", "type", "at"], "properties": {
        "id": {"type": "string", "format": "uuid", "description": "Made on the device; the idempotency key"},
        "type": {"type": "string", "enum": ["step.set", "step.cleared", "step.na", "note", "deviation",
                                             "run.submitted", "review.returned", "review.approved", "redaction"]},
        "step": {"type": ["string", "null"]},
        "value": {"description": "step.set: by kind (true, 'yes'/'no', integer, 'HH:MM', option id, text); "
                                 "run.submitted: {name, confirmed: true, signature?} where signature is a "
                                 "data:image/png;base64 URL of at most 100,000 characters and 1600 x 800 pixels, "
                                 "stored re-encoded; "
                                 "review.approved: {acknowledged: [the id of every red flag in state.red_flags: "
                                 "the event ids of flagged answers and of deviations]}, which may be left out "
                                 "when the run has no red flag; "
                                 "redaction (supervisors and administrators, in any status): {event: the id of "
                                 "the event whose free text is removed for good}, with the reason as note"},
        "note": {"type": ["string", "null"], "maxLength": 2000,
                 "description": "The reason (step.na), what happened (deviation), the comment (review.returned), "
                                "why a text is removed (redaction); line breaks allowed, no other control or "
                                "text-direction characters. Never a name: the personal-data guard cannot "
                                "recognise names"},
        "text_confirmed": {"type": "boolean", "default": False,
                           "description": "The person confirmed that the event's free text identifies nobody, "
                                          "after the personal-data guard questioned it; sealed with the event, "
                                          "and the text is marked for the supervisor"},
        "at": {"type": "string", "format": "date-time",
               "description": "Device time, with a time zone; at most a day ahead of the server's clock and not "
                              "before DONOHARM_TIME_FLOOR (default 2020-01-01)"}}},
    "StoredEvent": {"allOf": [_ref("Event"), {"type": "object", "properties": {
        "run": {"type": "string"}, "seq": {"type": "integer"}, "received_at": {"type": "string"},
        "actor": {"type": "string"}, "prev_hash": {"type": "string"}, "hash": {"type": "string"},
        "text_commitment": {"type": "string", "description": "Events sealed since texts are committed: "
                            "sha256(text_salt + canonical JSON of {note, value (if value_is_text, else null)}); "
                            "the hash covers this instead of the texts, so a removed text leaves the chain "
                            "verifiable. Absent for events sealed before, whose hash covers note and value"},
        "text_salt": {"type": ["string", "null"], "description": "null once the text was removed"},
        "value_is_text": {"type": "boolean", "description": "The value is a free-text answer, covered by the "
                          "commitment"},
        "redacted": {"type": "boolean", "description": "The event's free text (and salt) were removed by a "
                     "redaction event; note (and a text value) are null"}}}]},
    "RedFlag": {"type": "object", "required": ["id", "kind", "step", "at", "follow_up"], "description":
                "A sign of harm a supervisor acknowledges before approving: an answer the protocol flags "
                "(kind answer: value and reasons) or a deviation (kind deviation: note). id is the event id "
                "of the answer or deviation, so an answer changed after a return is a new flag.",
                "properties": {"id": {"type": "string"}, "kind": {"type": "string", "enum": ["answer", "deviation"]},
                               "step": {"type": ["string", "null"]}, "value": {},
                               "reasons": {"type": "array", "items": {
                                   "type": "object", "required": ["rule"], "description":
                                   "expected: {expected}; equals: {value}; above: {limit}; "
                                   "of: {of (the step counted), limit (its count)}",
                                   "properties": {"rule": {"type": "string",
                                                           "enum": ["expected", "equals", "above", "of"]}}}},
                               "note": {"type": ["string", "null"]}, "at": {"type": "string"},
                               "follow_up": {"type": "boolean", "description": "On a follow-up step"}}},
    "FollowUp": {"type": "object", "required": ["phase", "due_after_hours", "due_at", "open", "done_at", "on_time"],
                 "description": "A follow-up phase: due due_after_hours after the first submission (due_at is "
                                "null before it), the steps still open, when its last answer was made and whether "
                                "that was by due_at",
                 "properties": {"phase": {"type": "string"}, "due_after_hours": {"type": "integer"},
                                "due_at": {"type": ["string", "null"]},
                                "open": {"type": "array", "items": {"type": "string"}},
                                "done_at": {"type": ["string", "null"]},
                                "on_time": {"type": ["boolean", "null"]}}},
    "RunState": {"type": "object", "required": ["status", "steps", "missing_critical", "complete"], "properties": {
        "status": {"type": "string", "enum": RUN_STATUSES}, "steps": {"type": "object"}, "counts": {"type": "object"},
        "notes": {"type": "array"}, "deviations": {"type": "array"}, "submissions": {"type": "array"},
        "reviews": {"type": "array"}, "missing_critical": {"type": "array", "items": {"type": "string"}},
        "complete": {"type": "boolean"}, "unexpected_answers": {"type": "array", "items": {"type": "string"}},
        "red_flags": {"type": "array", "items": _ref("RedFlag"), "description": "Every red flag: flagged "
                      "answers in protocol order, then deviations in the order recorded"},
        "follow_ups": {"type": "array", "items": _ref("FollowUp")},
        "redactions": {"type": "array", "description": "Texts removed: {event (the redaction), target (the "
                       "event whose text was removed), actor, at, received_at, reason}; entries whose text was "
                       "removed carry redacted: true and a null note, comment or text value",
                       "items": {"type": "object"}},
        "superseded": {"type": "array", "description": "Step answers that arrived after an answer to the same step "
                       "made later (by device time) and so were not used: {event, step, type, value, at, "
                       "received_at, actor, by (the event id of the answer that stands)}",
                       "items": {"type": "object"}}}},
}
