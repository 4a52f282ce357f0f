"""Signed checkpoints: a Merkle root over every live run's (id, head, count), kept as JSON files.

A checkpoint fixes where every run's history stood at a moment. A later rewrite of a run, even one that
recomputes every hash with the app's own sealing function, no longer reaches the head the checkpoint
holds at that position, and `db verify` names it. With DONOHARM_TSA_URL set, an RFC 3161 timestamp from
that authority proves the checkpoint existed then, so it cannot be made afterwards and back-dated.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlite_utils import Database

from ..config import write_atomically
from ..db import integrity as integrity_db
from ..db import retention as retention_db
from ..db import runs as runs_db
from ..records.detached import sign_document, signature_problem, signed_body
from ..records.signing import SigningKey
from ..runs.integrity import first_fault
from ..runs.merkle import leaf, merkle_root

FORMAT = "donoharm-checkpoint/1"
FOLDER = "checkpoints"


class CheckpointError(Exception):
    """A checkpoint file that cannot be read or trusted; the message says why."""


def folder(instance: Path) -> Path:
    return instance / FOLDER


def build(db: Database, created_at: str, organisation: str) -> tuple[dict[str, Any], list[str]]:
    """The unsigned checkpoint of every live run whose chain verifies, and the runs left out (broken)."""
    leaves, broken = [], []
    for position in integrity_db.live_chain_positions(db):
        run, events = runs_db.run_with_events(db, position["id"])
        if run is None:
            continue  # deleted since the list was read
        if first_fault(run, events) is not None:
            broken.append(position["id"])  # never vouch for a history that does not verify
            continue
        leaves.append(leaf(run["id"], run["head_hash"], run["event_count"]))
    return {"format": FORMAT, "created_at": created_at, "organisation": organisation, "runs": len(leaves),
            "root": merkle_root(leaves), "leaves": leaves, "left_out": broken}, broken


def sign(checkpoint: dict[str, Any], key: SigningKey, timestamp_token=None) -> dict[str, Any]:
    """Sign the checkpoint; with a timestamp function, add its RFC 3161 token over the signed body."""
    signed = sign_document(checkpoint, key)
    if timestamp_token is not None:
        token = timestamp_token(signed_body(signed) + base64.b64decode(signed["signature"]))
        if token is not None:
            signed["timestamp"] = base64.b64encode(token).decode("ascii")
    return signed


def file_name(checkpoint: dict[str, Any]) -> str:
    moment = checkpoint["created_at"].replace(":", "").replace("-", "").replace(".", "")
    return f"checkpoint-{moment}.json"


def save(instance: Path, checkpoint: dict[str, Any]) -> Path:
    """Write the checkpoint atomically (temporary file, fsync, rename), readable by the service user only."""
    target = folder(instance)
    target.mkdir(mode=0o700, exist_ok=True)
    path = target / file_name(checkpoint)
    write_atomically(path, json.dumps(checkpoint, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return path


def listing(instance: Path) -> list[Path]:
    """Checkpoint files, newest first."""
    if not folder(instance).is_dir():
        return []
    return sorted(folder(instance).glob("checkpoint-*.json"), reverse=True)


def load(path: Path) -> dict[str, Any]:
    try:
        checkpoint = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path.name} cannot be read as JSON ({type(error).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not a Do No Harm checkpoint")
    if not isinstance(checkpoint.get("leaves"), list):
        raise CheckpointError(f"{path.name} has no list of runs")
    return checkpoint


def problems_of(checkpoint: dict[str, Any], roots: list[x509.Certificate], check_timestamp=None) -> list[str]:
    """Why the checkpoint itself cannot be trusted: signature, Merkle root, timestamp."""
    problems = []
    reason = signature_problem(checkpoint, roots)
    if reason:
        problems.append(f"the checkpoint's signature is not valid: {reason}")
    try:
        root = merkle_root(checkpoint["leaves"])
    except (KeyError, TypeError):
        return [*problems, "the checkpoint's list of runs is damaged"]
    if root != checkpoint.get("root"):
        problems.append("the checkpoint's list of runs does not add up to its Merkle root")
    if checkpoint.get("timestamp") and check_timestamp is not None:
        try:
            check_timestamp(base64.b64decode(checkpoint["timestamp"]),
                            signed_body(checkpoint) + base64.b64decode(checkpoint["signature"]))
        except Exception as error:  # any failure of the token is a verdict, not a crash
            problems.append(f"the checkpoint's timestamp is not valid: {error}")
    return problems


def differences(db: Database, checkpoint: dict[str, Any]) -> list[str]:
    """`run <id> seq <n>: …` for each run whose history no longer reaches the checkpoint's head."""
    found = []
    when = checkpoint.get("created_at", "?")
    for entry in checkpoint["leaves"]:
        run_id, count = entry.get("run"), entry.get("count")
        if not isinstance(run_id, str) or not isinstance(count, int):
            found.append("checkpoint: a damaged entry in its list of runs")
            continue
        if runs_db.get_run(db, run_id) is None:
            if not _deleted_by_retention(db, run_id, count, entry.get("head")):
                found.append(f"run {run_id} seq {count}: the run was in the checkpoint of {when} "
                             "and has been deleted since")
            continue
        head = integrity_db.head_at(db, run_id, count)
        if head is None:
            found.append(f"run {run_id} seq {count}: events held at the checkpoint of {when} are missing")
        elif head != entry.get("head"):
            found.append(f"run {run_id} seq {count}: its history up to this event differs from the "
                         f"checkpoint of {when} (rewritten after the checkpoint)")
    return found


def _deleted_by_retention(db: Database, run_id: str, count: int, head: Any) -> bool:
    """Whether the deletion register accounts for a run the checkpoint held: deleted by retention at or after
    that position (a run's head at the same count must be the one the register kept)."""
    deleted = retention_db.deleted_run(db, run_id)
    if deleted is None:
        return False
    return count < deleted["event_count"] or (count == deleted["event_count"] and head == deleted["head_hash"])
