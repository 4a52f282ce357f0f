"""Issue signed records when a run's status changes, store them, and catch up on missed ones."""
from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path

from flask import current_app, has_app_context
from sqlite_utils import Database

from .. import run_service
from ..api.v1 import run_document
from ..config import write_private
from ..db import records as records_db
from ..db import transaction
from ..protocols import Registry
from .render import page_size, record_html, record_pdf, signature_image_of, stamp_box
from .signing import sign_pdf, signing_key
from .timestamps import TimestampError

log = logging.getLogger(__name__)
ISSUING_STATUSES = ("submitted", "returned", "approved")


def records_dir() -> Path:
    return Path(current_app.instance_path) / "records"


def record_path(record: dict) -> Path:
    return Path(current_app.instance_path) / record["path"]


def issue_record(db: Database, registry: Registry, run_id: str, reason: str) -> dict:
    """Render, sign and store the record of a run as it stands now; an existing one for this head is reused."""
    run = run_service.load_run(db, run_id)
    existing = records_db.record_for_head(db, run_id, run["head_hash"], run["status"])
    if existing:
        return existing
    state, events = run_service.run_state(db, registry, run)
    run_service.refuse_if_faulty(run_id, state)  # never sign what the database says without checking it
    protocol = run_service.protocol_of(registry, run)
    record_id = str(uuid.uuid4())
    issued_at = run_service.utc_now()
    html = record_html(record_id, issued_at, reason, run, protocol, state, events, signature_image_of(state))
    pdf = record_pdf(html, run_document(run, state, events))
    key = signing_key()
    # The stamp text is a %-template for pyHanko (%(ts)s is the signing time): escape the organisation's name.
    stamp = f"Signed by {key.subject.replace('%', '%%')}\n%(ts)s\nRecord {record_id}"
    signed = sign_pdf(pdf, key, stamp, stamp_box(page_size()))
    folder = records_dir() / run_id
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"records/{run_id}/{record_id}.pdf"
    write_private(Path(current_app.instance_path) / relative, signed)
    record = {"id": record_id, "run_id": run_id, "issued_at": issued_at, "reason": reason, "status": run["status"],
              "head_hash": run["head_hash"], "sha256": hashlib.sha256(signed).hexdigest(), "size": len(signed),
              "path": relative}
    with transaction(db):
        raced = records_db.record_for_head(db, run_id, run["head_hash"], run["status"])
        if raced is None:
            records_db.insert_record(db, record)
    if raced is not None:  # another request issued it first: keep theirs
        (Path(current_app.instance_path) / relative).unlink(missing_ok=True)
        return raced
    return record


def current_record(db: Database, registry: Registry, run: dict) -> dict | None:
    """The latest record of a run, issuing it now if a status change was never recorded (e.g. issuing failed)."""
    latest = records_db.latest_record(db, run["id"])
    if run["status"] in ISSUING_STATUSES and (latest is None or latest["status"] != run["status"]):
        return issue_record(db, registry, run["id"], f"late issue ({run['status']})")
    return latest


def on_status_changed(run_id: str, status: str, reason: str) -> None:
    """Issue a record after a committed status change; a failure is logged and caught up on later."""
    if not has_app_context() or "donoharm_records" not in current_app.extensions:
        return
    if status not in ISSUING_STATUSES or current_app.config.get("RECORDS_ISSUE_ON_CHANGE") is False:
        return
    from ..db import get_db
    from ..library import get_registry

    try:
        issue_record(get_db(), get_registry(), run_id, reason)
    except TimestampError as error:  # never issued without the timestamp the organisation asked for
        log.warning("the record of run %s was not issued: %s; it will be issued when next requested", run_id, error)
    except Exception:  # the events are committed; /record.pdf issues the record when asked
        log.exception("issuing the record of run %s failed; it will be issued when next requested", run_id)
