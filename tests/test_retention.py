"""Retention: practice runs older than N days are deleted with their events and records; live runs stay."""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from donoharm import create_app
from donoharm.db import connect
from donoharm.db.retention import cutoff, purge_practice
from tests.conftest import event


def _age(app, run_id: str, days: int) -> None:
    """Pretend a run was last changed `days` ago."""
    stamp = cutoff(days, datetime.now(UTC))
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE runs SET updated_at = ? WHERE id = ?", [stamp, run_id])
    db.conn.close()


def _record(app, run_id: str) -> str:
    """Store a record row and file for a run, as the records module does."""
    name = f"records/{uuid.uuid4()}.pdf"
    path = Path(app.instance_path) / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"%PDF-1.7 test")
    db = connect(app.config["DATABASE"])
    db.execute("INSERT INTO records (id, run_id, issued_at, reason, status, head_hash, sha256, size, path) "
               "VALUES (?, ?, ?, 'submitted', 'submitted', 'h', ?, 13, ?)",
               [str(uuid.uuid4()), run_id, "2026-01-01T00:00:00Z", uuid.uuid4().hex, name])
    db.conn.close()
    return path


def _count(app, sql: str, *params) -> int:
    db = connect(app.config["DATABASE"])
    try:
        return db.execute(sql, list(params)).fetchone()[0]
    finally:
        db.conn.close()


@pytest.fixture
def runs(app, api):
    acc = api("acc")
    made = {}
    for index, (name, mode, days) in enumerate([("old_practice", "practice", 40), ("new_practice", "practice", 5),
                                                ("old_live", "live", 400)], 1):
        run_id = acc.start_run(mode=mode, label=f"OP-TEST-{index:03}")
        assert acc.send(run_id, event("note", note="Staff arrived."), event("note", note="Left.")).status_code == 200
        _age(app, run_id, days)
        made[name] = run_id
    return made


def test_purge_deletes_old_practice_runs_with_events_and_record_files(app, runner, runs):
    old_file = _record(app, runs["old_practice"])
    live_file = _record(app, runs["old_live"])
    result = runner.invoke(args=["runs", "purge-practice", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 practice run(s)" in result.output and "2 events" in result.output
    assert _count(app, "SELECT count(*) FROM runs WHERE id = ?", runs["old_practice"]) == 0
    assert _count(app, "SELECT count(*) FROM events WHERE run_id = ?", runs["old_practice"]) == 0
    assert _count(app, "SELECT count(*) FROM records WHERE run_id = ?", runs["old_practice"]) == 0
    assert not os.path.exists(old_file)
    # A recent practice run and an old live run are kept, with their events and record.
    kept = _count(app, "SELECT count(*) FROM events WHERE run_id IN (?, ?)", runs["new_practice"], runs["old_live"])
    assert kept == 4
    assert os.path.exists(live_file)


def test_dry_run_deletes_nothing(app, runner, runs):
    result = runner.invoke(args=["runs", "purge-practice", "--days", "30", "--dry-run"])
    assert "Would delete 1 practice run(s)" in result.output
    assert _count(app, "SELECT count(*) FROM runs") == 3


def test_without_a_setting_the_command_explains_what_to_set(runner, runs):
    result = runner.invoke(args=["runs", "purge-practice"])
    assert result.exit_code != 0
    assert "DONOHARM_PRACTICE_RETENTION_DAYS" in result.output


def test_setting_purges_on_start(app, runs, tmp_path, monkeypatch):
    monkeypatch.setenv("DONOHARM_PRACTICE_RETENTION_DAYS", "30")
    restarted = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    assert _count(restarted, "SELECT count(*) FROM runs WHERE mode = 'practice'") == 1
    assert _count(restarted, "SELECT count(*) FROM runs WHERE mode = 'live'") == 1


def test_a_bad_setting_stops_the_start_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DONOHARM_PRACTICE_RETENTION_DAYS", "thirty")
    with pytest.raises(ValueError, match="whole number of days"):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "other", "SECRET_KEY": "test"})


def test_purge_spares_a_run_changed_just_after_the_cutoff(app, runs):
    db = connect(app.config["DATABASE"])
    try:
        purged = purge_practice(db, cutoff(41), Path(app.instance_path))
    finally:
        db.conn.close()
    assert purged.runs == 0
    assert cutoff(1, datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
