"""GET /healthz (issue 25): 200 when the instance can do its work, 503 with the reason when it cannot."""
from __future__ import annotations

import uuid
from collections import namedtuple

import pytest

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import maintenance as maintenance_db
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers
from tests.disk import fill, small_filesystem

Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def fresh_answers(app):
    app.config["HEALTH_CACHE_SECONDS"] = 0  # these tests change the state between two questions


def _health(app):
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def _record_task(app, task, ok, at=None, detail=""):
    db = connect(app.config["DATABASE"])
    maintenance_db.record_task(db, task, ok, detail, at)
    db.conn.close()


def test_a_working_instance_is_healthy_without_an_account(app, users):
    status, body = _health(app)
    assert status == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "disk", "records", "backup", "verify"}
    assert body["checks"]["disk"]["free_mb"] > 0
    assert app.test_client().get("/healthz").headers["Cache-Control"] == "no-store"


def test_a_nearly_full_disk_is_a_503(app, users, monkeypatch):
    import donoharm.web.health as health

    monkeypatch.setattr(health.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 5 * 2**20, 5 * 2**20))
    status, body = _health(app)
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["disk"] == {"ok": False, "free_mb": 5, "min_free_mb": 500,
                                      "problem": "less than 500 MB free where the instance keeps its data"}


def test_a_failed_or_stale_backup_or_verify_is_a_503(app, users):
    _record_task(app, "backup", True)
    _record_task(app, "verify", True)
    assert _health(app)[0] == 200
    _record_task(app, "verify", False, detail="2 problem(s)")
    status, body = _health(app)
    assert status == 503 and body["checks"]["verify"]["problem"] == "the last verify failed: 2 problem(s)"
    _record_task(app, "verify", True)
    _record_task(app, "backup", True, at="2026-01-01T00:00:00Z")
    status, body = _health(app)
    assert status == 503 and "older than 36 hours" in body["checks"]["backup"]["problem"]


def test_an_old_instance_that_never_backed_up_is_a_503(app, users):
    assert _health(app)[0] == 200  # a new instance has not had its first night yet
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE users SET created_at = '2026-01-01T00:00:00+00:00'")
    db.conn.close()
    status, body = _health(app)
    assert status == 503 and body["checks"]["backup"]["problem"] == "no backup has ever succeeded"


def test_an_overdue_record_is_a_503(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"  # as if no worker had issued it
    acc = Api(signed_app, "acc")
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    status, body = _health(signed_app)
    assert status == 200 and body["checks"]["records"] == {"ok": True, "waiting": 1}  # within the grace time
    db = connect(signed_app.config["DATABASE"])
    db.execute("UPDATE records_due SET due_at = '2026-01-01T00:00:00.000Z' WHERE run_id = ?", [run_id])
    db.conn.close()
    status, body = _health(signed_app)
    assert status == 503 and body["checks"]["records"]["waiting"] == 1
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 200  # issued on request
    assert _health(signed_app)[0] == 200


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB filesystem of its own (tmpfs)."""
    with small_filesystem(tmp_path / "small-disk", "3m") as mount:
        yield mount


def test_a_really_full_disk_is_a_503_and_recovers(small_disk, users):
    app = create_app({"TESTING": True, "INSTANCE": small_disk / "instance", "SECRET_KEY": "test",
                      "HEALTH_MIN_FREE_MB": 1, "HEALTH_CACHE_SECONDS": 0})
    from donoharm.accounts.auth import hash_password

    db = connect(app.config["DATABASE"])
    from donoharm.db import users as users_db

    users_db.create_user(db, f"acc-{uuid.uuid4().hex[:6]}", hash_password("x" * 12), "accompanier")
    db.conn.close()
    assert _health(app)[0] == 200
    filler = fill(small_disk)
    status, body = _health(app)
    assert status == 503
    assert body["checks"]["disk"]["ok"] is False
    assert body["checks"]["database"] == {"ok": False,
                                          "problem": "the database cannot take a write (OperationalError)"}
    filler.unlink()
    assert _health(app)[0] == 200


def test_a_threshold_that_is_not_a_number_stops_the_start_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DONOHARM_HEALTH_MIN_FREE_MB", "lots")
    with pytest.raises(ValueError, match="DONOHARM_HEALTH_MIN_FREE_MB must be a whole number"):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    monkeypatch.setenv("DONOHARM_HEALTH_MIN_FREE_MB", "50")
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance2", "SECRET_KEY": "test"})
    assert _health(app)[1]["checks"]["disk"]["min_free_mb"] == 50


def test_a_flood_of_questions_is_answered_from_the_last_few_seconds(app, users, monkeypatch):
    app.config["HEALTH_CACHE_SECONDS"] = 60
    import donoharm.web.health as health

    probes = []
    real = health.maintenance_db.probe_write_read
    monkeypatch.setattr(health.maintenance_db, "probe_write_read", lambda db, at: probes.append(at) or real(db, at))
    for _ in range(20):
        assert _health(app)[0] == 200
    assert len(probes) == 1  # one write to the database, not twenty
