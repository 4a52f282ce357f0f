"""Operations: one label and UTC day grouping the runs of several protocols, by one or several staff.

A run joins or opens an operation only when it is started (`run_service.start_run`), never later. The link is
organisational metadata kept beside the run (runs.operation_id), not part of the run's header: the run's genesis
hash does not cover it, and runs started before operations existed keep verifying unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlite_utils import Database

from .. import timefmt
from ..db import operations as operations_db
from ..runs import is_uuid
from .run_service import RunError, checked_label, utc_now


@dataclass(frozen=True)
class WantedOperation:
    """The operation a new run names: joined by id (label None), or opened with a client-made id and a label."""

    id: str
    label: str | None = None


def utc_day(iso: str) -> str:
    """The UTC day (YYYY-MM-DD) of an ISO 8601 time with a time zone."""
    return timefmt.parse(iso).astimezone(UTC).date().isoformat()


def requested(payload: dict[str, Any], mode: str) -> WantedOperation | None:
    """The operation a run's payload names (`operation_id` to join, `operation: {id, label}` to open), checked
    for shape only; None when it names none."""
    operation_id, opened = payload.get("operation_id"), payload.get("operation")
    if operation_id is None and opened is None:
        return None
    if operation_id is not None and opened is not None:
        raise RunError("invalid", "invalid_operation", "give operation_id to join an operation or operation to open "
                       "one, not both")
    # An operation is a real one: a practice run in it would sit in a live run's signed record.
    if mode == "practice":
        raise RunError("invalid", "practice_operation", "practice runs are not part of an operation; leave out "
                       "operation_id and operation")
    if operation_id is not None:
        if not is_uuid(operation_id):
            raise RunError("invalid", "invalid_operation", "operation_id must be the id (a UUID) of an operation "
                           "started the same day", {"operation_id": operation_id})
        return WantedOperation(operation_id.lower())
    if not isinstance(opened, dict) or not is_uuid(opened.get("id")):
        raise RunError("invalid", "invalid_operation", "operation must be {\"id\": a UUID made on the device, "
                       "\"label\": the operation's label}")
    label = checked_label(opened.get("label"), "invalid_operation_label", "the operation's label")
    return WantedOperation(opened["id"].lower(), label)


def attach(db: Database, wanted: WantedOperation, run_created_at: str, actor_id: int) -> str:
    """The id of the operation a new run goes into, opening it if asked (inside the run's transaction).

    The operation's day is the UTC day the run was started (the device's time when it sent one): a phone that
    starts a run with no signal, joining an operation of that day, is not refused when it sends it later."""
    day = utc_day(run_created_at)
    found = operations_db.get_operation(db, wanted.id)
    if found is None:
        if wanted.label is None:
            raise RunError("invalid", "unknown_operation", "no operation has this id; join an operation started today "
                           "or open a new one", {"operation_id": wanted.id})
        operations_db.insert_operation(db, {"id": wanted.id, "label": wanted.label, "day": day,
                                            "created_at": utc_now()}, actor_id)
        return wanted.id
    if wanted.label is not None and found["label"] != wanted.label:
        raise RunError("conflict", "operation_exists", "a different operation already has this id",
                       {"operation_id": wanted.id})
    if found["day"] != day:
        raise RunError("invalid", "operation_other_day", f"operation {found['label']} was started on {found['day']}; "
                       f"a run started on {day} can only join an operation started that day",
                       {"operation_id": wanted.id, "operation_day": found["day"], "run_day": day})
    return found["id"]


def joinable_today(db: Database) -> list[dict[str, Any]]:
    """The operations started today (UTC), by anyone, the latest first: what a new run may join."""
    return operations_db.operations_of_day(db, utc_day(utc_now()))


def find(db: Database, operation_id: Any) -> dict[str, Any] | None:
    """An operation (id, label, day, created_by, created_at) by id, or None."""
    return operations_db.get_operation(db, operation_id.lower()) if is_uuid(operation_id) else None


def with_runs(db: Database, operation_id: str) -> dict[str, Any] | None:
    """An operation with its runs (each with status and red flag count), or None."""
    found = find(db, operation_id)
    if found is None:
        return None
    return {**found, "runs": operations_db.runs_of_operation(db, found["id"])}


def document_of(db: Database, run: dict[str, Any]) -> dict[str, Any] | None:
    """What a run's API document and signed record say of its operation: id, label, day and the other runs
    (label, protocol, accompanier, status) as they stand now; None for a run in no operation."""
    if not run.get("operation_id"):
        return None
    operation = with_runs(db, run["operation_id"])
    if operation is None:
        return None
    siblings = [{"id": r["id"], "label": r["label"], "protocol_id": r["protocol_id"],
                 "protocol_version": r["protocol_version"], "created_by": r["created_by"], "status": r["status"]}
                for r in operation["runs"] if r["id"] != run["id"]]
    return {"id": operation["id"], "label": operation["label"], "day": operation["day"], "siblings": siblings}
