"""Starting a run: a client-made id, a protocol version that may still be started (or was chosen before it
was retired), a label by the organisation's rule, and the operation it joins. Repeating a start is harmless."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ..db import protocols as protocols_db
from ..db import runs as runs_db
from ..db import transaction
from ..protocols import Protocol, Registry
from ..runs import Actor, DeviceClock, genesis_hash, is_uuid
from .run_rules import LANGUAGE_TAG, RunError, _optional_time, checked_label, utc_now


def _run_fields(payload: Any, registry: Registry, clock: DeviceClock | None) -> tuple[Protocol, str, str, str, str]:
    if not isinstance(payload, dict):
        raise RunError("malformed", "invalid_body", "the body must be a JSON object")
    protocol = registry.get(str(payload.get("protocol_id")), str(payload.get("protocol_version")))
    if protocol is None:
        raise RunError("invalid", "unknown_protocol", "no such protocol version",
                       {"protocol_id": payload.get("protocol_id"),
                        "protocol_version": payload.get("protocol_version")})
    label = checked_label(payload.get("label"))
    mode = payload.get("mode", "live")
    if mode not in ("live", "practice"):
        raise RunError("invalid", "invalid_mode", "mode is 'live' or 'practice'")
    language = payload.get("language") or protocol.language
    if not isinstance(language, str) or not LANGUAGE_TAG.match(language):
        raise RunError("invalid", "invalid_language", "language must be a language tag such as en")
    created_at = _optional_time(payload, "created_at", clock) or utc_now()
    return protocol, label, mode, language, created_at


def start_run(db: Database, registry: Registry, run_id: str, payload: Any, actor: Actor,
              actor_id: int, clock: DeviceClock | None = None) -> tuple[dict[str, Any], bool]:
    """Create a run with a client-made id, joining or opening the operation the payload names (if any);
    return (run, created). Repeating it is harmless."""
    from . import operations  # here: it imports this module (RunError, the label rule)

    if not is_uuid(run_id):
        raise RunError("malformed", "invalid_id", "the run id must be a UUID made on the device")
    protocol, label, mode, language, created_at = _run_fields(payload, registry, clock)
    listed_at = _optional_time(payload, "versions_listed_at", clock)
    wanted = operations.requested(payload, mode)
    with transaction(db):
        existing = runs_db.get_run(db, run_id)
        if existing is not None:
            same = (existing["created_by"] == actor.username and existing["protocol_id"] == protocol.id
                    and existing["protocol_version"] == protocol.version and existing["label"] == label
                    and existing["mode"] == mode and existing["operation_id"] == (wanted.id if wanted else None))
            if not same:
                raise RunError("conflict", "run_exists", "a different run already has this id")
            return existing, False
        if registry.is_retired(protocol) and not _chosen_before_retirement(db, protocol, created_at, listed_at):
            raise RunError("invalid", "retired_protocol", f"{protocol.id} {protocol.version} is retired; "
                           "start the run on the current version")
        run = {"id": run_id, "protocol_id": protocol.id, "protocol_version": protocol.version,
               "protocol_sha256": protocol.sha256, "label": label, "mode": mode, "language": language,
               "created_by": actor.username, "created_at": created_at, "received_at": utc_now()}
        run["genesis_hash"] = genesis_hash(run)
        # Beside the header, not in it: the genesis hash above never covers the operation (organisational metadata).
        run["operation_id"] = operations.attach(db, wanted, created_at, actor_id) if wanted else None
        runs_db.insert_run(db, run, actor_id)
    return runs_db.get_run(db, run_id), True


def _chosen_before_retirement(db: Database, protocol: Protocol, created_at: str, listed_at: str | None) -> bool:
    """Whether a phone with no signal started the run, or chose its version from a list of versions,
    made before the version was retired. Such a run was begun in good faith and records real work:
    it keeps its version like every started run (the record shows the phone's and the server's times)."""
    retired = protocols_db.retired_at(db, protocol.id, protocol.version)
    if retired is None:
        return False
    moments = [created_at] + ([listed_at] if listed_at else [])
    return any(datetime.fromisoformat(moment) < datetime.fromisoformat(retired) for moment in moments)
