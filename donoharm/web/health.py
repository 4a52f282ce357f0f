"""GET /healthz: can this instance do its work right now? 200 or 503, for monitors; no account, no data.

It answers what a failing instance hides behind a working sign-in page: whether the database takes a
write, whether the disk has room, whether a signed record is overdue, and whether the last backup and
the last integrity check (`db verify`) succeeded.
"""
from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify

from .. import timefmt
from ..db import get_db
from ..db import maintenance as maintenance_db
from ..db import records as records_db

bp = Blueprint("health", __name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _older_than(iso: str | None, limit: timedelta) -> bool:
    if not iso:
        return False
    return _now() - timefmt.parse(iso) > limit


def database_check() -> dict[str, Any]:
    try:
        ok = maintenance_db.probe_write_read(get_db(), _now().isoformat())
    except sqlite3.Error as error:  # full disk, read-only file, locked for too long
        return {"ok": False, "problem": f"the database cannot take a write ({type(error).__name__})"}
    return {"ok": ok} if ok else {"ok": False, "problem": "a write to the database did not read back"}


def disk_check() -> dict[str, Any]:
    minimum = int(current_app.config.get("HEALTH_MIN_FREE_MB", 500))
    free = shutil.disk_usage(Path(current_app.instance_path)).free // (1024 * 1024)
    check: dict[str, Any] = {"ok": free >= minimum, "free_mb": free, "min_free_mb": minimum}
    if not check["ok"]:
        check["problem"] = f"less than {minimum} MB free where the instance keeps its data"
    return check


def records_check() -> dict[str, Any]:
    waiting, oldest = records_db.due_summary(get_db())
    grace = timedelta(minutes=int(current_app.config.get("HEALTH_RECORD_GRACE_MINUTES", 10)))
    check: dict[str, Any] = {"ok": not _older_than(oldest, grace), "waiting": waiting}
    if not check["ok"]:
        check["problem"] = "a signed record has waited to be issued for longer than expected"
    return check


def task_check(task: str, max_age: timedelta | None) -> dict[str, Any]:
    db = get_db()
    last = maintenance_db.last_task(db, task)
    if last is None:
        # A new instance has had no nightly run yet; one that has existed longer than the limit should have.
        overdue = max_age is not None and _older_than(maintenance_db.instance_started_at(db), max_age)
        return {"ok": not overdue, "last_ok_at": None,
                **({"problem": f"no {task} has ever succeeded"} if overdue else {})}
    check: dict[str, Any] = {"ok": bool(last["ok"]), "last_ok_at": last["last_ok_at"]}
    if not last["ok"]:
        check["problem"] = f"the last {task} failed: {last['detail']}"
    elif max_age is not None and _older_than(last["last_ok_at"], max_age):
        check["ok"] = False
        check["problem"] = f"the last successful {task} is older than {int(max_age.total_seconds() // 3600)} hours"
    return check


def run_checks() -> dict[str, Any]:
    max_age = timedelta(hours=int(current_app.config.get("HEALTH_MAX_TASK_AGE_HOURS", 36)))
    checks = {"database": database_check(), "disk": disk_check()}
    if checks["database"]["ok"]:  # the others read the database
        checks.update(records=records_check(), backup=task_check("backup", max_age),
                      verify=task_check("verify", max_age))
    return checks


@bp.get("/healthz")
def healthz():
    # Anyone may ask, and each answer writes to the database: within a few seconds a process gives the answer
    # it has, so a flood of requests cannot keep the writers of real events waiting.
    fresh_for = float(current_app.config.get("HEALTH_CACHE_SECONDS", 5))
    cache = current_app.extensions.setdefault("donoharm_health", {"at": None, "checks": None,
                                                                  "lock": threading.Lock()})
    with cache["lock"]:
        if cache["at"] is None or time.monotonic() - cache["at"] >= fresh_for:
            cache["checks"], cache["at"] = run_checks(), time.monotonic()
        checks = cache["checks"]
    healthy = all(check["ok"] for check in checks.values())
    response = jsonify({"status": "ok" if healthy else "fail", "checks": checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
