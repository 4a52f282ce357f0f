"""Issue a run's signed record in both disclosure profiles (records/profiles.py): render, sign, write the files
atomically, index them as a pair and clear the queue row."""
from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path

from flask import current_app
from sqlite_utils import Database

from ..api.v1 import run_document
from ..config import write_atomically
from ..db import records as records_db
from ..db import transaction
from ..db import users as users_db
from ..protocols import Registry
from ..services import operations, run_service
from ..services.organisation import time_zone
from .profiles import INTERNAL, SHAREABLE, Disclosure, shareable_document
from .render import page_size, record_html, record_pdf, signature_image_of, stamp_box, zoned_when
from .signing import sign_pdf, signing_key

log = logging.getLogger(__name__)


def records_dir() -> Path:
    return Path(current_app.instance_path) / "records"


def record_path(record: dict) -> Path:
    return Path(current_app.instance_path) / record["path"]


def issue_record(db: Database, registry: Registry, run_id: str, reason: str) -> dict:
    """Render, sign and store the record of a run as it stands now, in both profiles; return the internal one.
    An existing one for this head is reused.

    The shareable profile is signed first, so that the internal record can name its sha256 (a signed file's hash
    is known only once it is signed); the shareable one names the internal record by id, run and chain head."""
    run = run_service.load_run(db, run_id)
    existing = records_db.record_for_head(db, run_id, run["head_hash"], run["status"])
    if existing:
        return existing
    state, events = run_service.run_state(db, registry, run)
    run_service.refuse_if_faulty(run_id, state)  # never sign what the database says without checking it
    protocol = run_service.protocol_of(registry, run)
    internal_id, shareable_id = str(uuid.uuid4()), str(uuid.uuid4())
    issued_at = run_service.utc_now()
    # The operation and its other runs as they stand at issue: a run joining later is named by later records.
    operation = operations.document_of(db, run)
    document = run_document(run, state, events, operation)
    roles = records_db.staff_roles(db, [event["actor"] for event in events if event.get("actor")])
    threshold = current_app.config.get("OVERSIGHT_MIN_COUNT", 5)
    # Full names as they are now, at issue: a later change of name shows in later records only.
    names = users_db.full_names(db, [*roles, run["created_by"],
                                     *(s["created_by"] for s in (operation or {}).get("siblings", []))])
    internal = Disclosure(INTERNAL, protocol, run["created_by"], threshold, roles, names)
    shareable = Disclosure(SHAREABLE, protocol, run["created_by"], threshold, roles)
    key = signing_key()

    shared_document = shareable_document(document, shareable)
    shared_document["disclosure"] = {
        "profile": SHAREABLE, "small_count_threshold": threshold, "withheld_steps": shareable.withheld_steps(),
        "internal": {"record_id": internal_id, "run_id": run_id, "head_hash": run["head_hash"]}}
    shared = _signed(key, shareable_id, record_html(
        shareable_id, issued_at, reason, run, protocol, state, events, None, operation, shareable,
        {"id": internal_id, "run_id": run_id, "head_hash": run["head_hash"]}), shared_document)
    shared_sha256 = hashlib.sha256(shared).hexdigest()
    whole = _signed(key, internal_id, record_html(
        internal_id, issued_at, reason, run, protocol, state, events, signature_image_of(state), operation,
        internal, {"id": shareable_id, "sha256": shared_sha256}),
        {**document, "disclosure": {"profile": INTERNAL,
                                    "shareable": {"record_id": shareable_id, "sha256": shared_sha256}}})

    (records_dir() / run_id).mkdir(parents=True, exist_ok=True)
    rows = [{"id": record_id, "run_id": run_id, "issued_at": issued_at, "reason": reason, "status": run["status"],
             "head_hash": run["head_hash"], "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
             "path": f"records/{run_id}/{record_id}.pdf", "profile": profile, "pair_id": pair_id, "data": data}
            for record_id, data, profile, pair_id in ((internal_id, whole, INTERNAL, shareable_id),
                                                      (shareable_id, shared, SHAREABLE, internal_id))]
    try:
        for row in rows:
            write_atomically(Path(current_app.instance_path) / row["path"], row.pop("data"))
    except OSError:  # e.g. a full disk after the first file: never leave half a pair behind
        for row in rows:
            (Path(current_app.instance_path) / row["path"]).unlink(missing_ok=True)
        raise
    with transaction(db):
        raced = records_db.record_for_head(db, run_id, run["head_hash"], run["status"])
        if raced is None:
            for row in rows:
                records_db.insert_record(db, row)
        records_db.finish_due(db, run_id, run["head_hash"])
    if raced is not None:  # another request issued it first: keep theirs
        for row in rows:
            (Path(current_app.instance_path) / row["path"]).unlink(missing_ok=True)
        return raced
    return rows[0]


def _signed(key, record_id: str, html: str, document: dict) -> bytes:
    pdf = record_pdf(html, document)
    # The stamp text is a %-template for pyHanko: escape what we fill in. The time is the organisation's (pyHanko's
    # own %(ts)s would be the server's local zone), with its offset, as every other time of the record.
    signed = zoned_when(run_service.utc_now(), time_zone())
    stamp = f"Signed by {key.subject}\n{signed}\nRecord {record_id}".replace("%", "%%")
    return sign_pdf(pdf, key, stamp, stamp_box(page_size()))


def current_record(db: Database, registry: Registry, run: dict) -> dict | None:
    """The latest record of a run; when its current status has none yet, it is issued now, for the person
    asking (the queue would issue it moments later)."""
    latest = records_db.latest_record(db, run["id"])
    if run["status"] in run_service.RECORD_STATUSES and (
            latest is None or latest["status"] != run["status"] or latest["head_hash"] != run["head_hash"]):
        due = records_db.due_record(db, run["id"])
        return issue_record(db, registry, run["id"], due["reason"] if due else f"late issue ({run['status']})")
    return latest


def in_profile(db: Database, record: dict, profile: str) -> dict | None:
    """The record of this issue in the profile asked for: itself, or the other one of its pair (None for a
    record issued before profiles existed, which has no shareable pair)."""
    if record.get("profile", INTERNAL) == profile:
        return record
    return records_db.pair_of(db, record)
