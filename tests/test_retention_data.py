"""Retention of closed runs (issue 18, part 5): free texts go after DONOHARM_RETAIN_TEXT_DAYS through system
redaction events, whole runs after DONOHARM_RETAIN_RUN_YEARS leaving a row in the deletion register, both by
`flask db purge` from the maintenance timer; `--dry-run` lists what would go and changes nothing.

Time is a fixture clock (donoharm.services.retention.utc_now), counted from the server's time of the event that locked
the run: no test waits."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from donoharm.config import ConfigError, load_config
from donoharm.db import connect
from donoharm.db import retention as retention_db
from donoharm.db import runs as runs_db
from donoharm.runs import seal
from donoharm.runs.chain import genesis_hash
from donoharm.services import retention
from tests.conftest import attestation, complete_answers, event

NOTE = "SYNTHETIC-NOTE-RET7 the team waited outside the station"
DEVIATION = "SYNTHETIC-DEVIATION-RET7 briefing started late"
COMMENT = "SYNTHETIC-COMMENT-RET7 handled well"
LEGACY = "SYNTHETIC-LEGACY-RET7 a note sealed before commitments"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock(monkeypatch):
    """The retention job's clock, set by each test."""
    class Clock:
        now: datetime | None = None

    fixed = Clock()
    monkeypatch.setattr(retention, "utc_now", lambda: fixed.now)
    return fixed


def _db(app):
    return connect(app.config["DATABASE"])


def _query(app, sql, *params):
    db = _db(app)
    try:
        return [dict(row) for row in db.execute(sql, list(params)).fetchall()]
    finally:
        db.conn.close()


def _events(app, run_id):
    db = _db(app)
    try:
        return runs_db.events_of(db, run_id)
    finally:
        db.conn.close()


def _add_legacy_note(app, run_id):
    """A note sealed as events were before commitments (no salt, no commitment): it verifies, but only deleting
    the whole run can remove it."""
    db = _db(app)
    try:
        run = runs_db.get_run(db, run_id)
        old = seal({"id": str(uuid.uuid4()), "run": run_id, "type": "note", "step": None, "value": None,
                    "note": LEGACY, "at": "2026-01-01T10:00:00Z", "received_at": "2026-01-01T10:00:01Z",
                    "actor": "acc", "seq": 1}, genesis_hash(run))
        runs_db.insert_events(db, [old])
        db.execute("UPDATE runs SET head_hash = ?, event_count = 1 WHERE id = ?", [old["hash"], run_id])
    finally:
        db.conn.close()


def closed_run(app, api, label, legacy=False, operation=None):
    """A run answered in full with a note and a deviation, submitted and approved with a comment (so locked,
    with a signed record); returns its id."""
    acc, sup = api("acc"), api("sup")
    run_id = str(uuid.uuid4())
    body = {"protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": label}
    if operation:
        body["operation"] = {"id": str(uuid.uuid4()), "label": label}
    assert acc.put(f"/api/v1/runs/{run_id}", json=body).status_code == 201
    if legacy:
        _add_legacy_note(app, run_id)
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    deviation = event("deviation", protocol.steps[0].id, note=DEVIATION)
    response = acc.send(run_id, event("note", note=NOTE), *complete_answers(protocol), deviation, attestation())
    assert response.status_code == 200, response.get_json()
    approved = sup.send(run_id, event("review.approved", value={"acknowledged": [deviation["id"]]}, note=COMMENT))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    return run_id


def locked_at(app, run_id) -> datetime:
    """The server's time of the event that locked the run (its approval)."""
    db = _db(app)
    try:
        found = {run["id"]: run["locked_at"] for run in retention_db.locked_runs(db, "9999")}
    finally:
        db.conn.close()
    return datetime.fromisoformat(found[run_id].replace("Z", "+00:00"))


def years_after(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def texts_left(app, run_id) -> list[str]:
    return [text for e in _events(app, run_id) for text in (e["note"],) if text and not text.startswith("Retention")]


def purge(runner, *args):
    return runner.invoke(args=["db", "purge", *args])


def verified(runner) -> bool:
    result = runner.invoke(args=["db", "verify"])
    assert result.exit_code == 0, result.output
    return True


def test_a_dry_run_lists_what_would_go_and_changes_nothing(app, api, runner, clock):
    text_run = closed_run(app, api, "OP-TEST-101")
    in_progress = api("acc").start_run(label="OP-TEST-102")
    assert api("acc").send(in_progress, event("note", note=NOTE)).status_code == 200
    app.config.update(RETAIN_TEXT_DAYS=30, RETAIN_RUN_YEARS=5)
    instance = Path(app.instance_path)
    files = sorted(p for p in instance.rglob("*") if p.is_file() and "checkpoint" not in p.name)
    before = {p: p.read_bytes() for p in files}

    clock.now = locked_at(app, text_run) + timedelta(days=31)
    result = purge(runner, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would remove 3 free text(s) of 1 run(s) closed 30 day(s) ago or more" in result.output
    assert "Would delete 0 closed run(s)" in result.output

    clock.now = years_after(locked_at(app, text_run), 5) + timedelta(days=1)
    result = purge(runner, "--dry-run")
    assert "Would delete 1 closed run(s) locked 5 year(s) ago or more" in result.output
    assert f"{text_run}  OP-TEST-101  locked " in result.output  # the operator sees which run goes
    assert "OP-TEST-102" not in result.output

    # Not a byte of the database, its write-ahead log or the records changed.
    assert sorted(p for p in instance.rglob("*") if p.is_file() and "checkpoint" not in p.name) == files
    assert all(p.read_bytes() == data for p, data in before.items())
    assert texts_left(app, text_run) == [NOTE, DEVIATION, COMMENT]


def test_texts_of_a_run_closed_31_days_ago_go_by_system_redactions_and_the_chain_verifies(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-111", legacy=True)
    app.config["RETAIN_TEXT_DAYS"] = 30
    clock.now = locked_at(app, run_id) + timedelta(days=31)
    result = purge(runner)
    assert result.exit_code == 0, result.output
    assert "Removed 3 free text(s) of 1 run(s)" in result.output
    assert "Kept: 1 text(s) stored before texts could be removed" in result.output

    events = _events(app, run_id)
    redactions = [e for e in events if e["type"] == "redaction"]
    assert len(redactions) == 3
    assert {e["actor"] for e in redactions} == {"system"}
    assert {e["note"] for e in redactions} == {"Retention: free text kept for 30 days"}
    assert texts_left(app, run_id) == [LEGACY]  # only the text the chain cannot lose
    state = api("sup").get(f"/api/v1/runs/{run_id}").get_json()["state"]
    assert state["status"] == "approved" and len(state["redactions"]) == 3
    assert verified(runner)

    # The next night finds nothing more to do.
    again = purge(runner)
    assert "Removed 0 free text(s)" in again.output and len(_events(app, run_id)) == len(events)


def test_a_supervisors_earlier_redaction_reason_goes_too_and_retentions_own_reasons_stay(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-115")
    note = next(e for e in _events(app, run_id) if e["note"] == NOTE)
    reason = "SYNTHETIC-REASON-RET7 the note named someone"
    removed = api("sup").send(run_id, event("redaction", value={"event": note["id"]}, note=reason))
    assert removed.status_code == 200, removed.get_json()
    app.config["RETAIN_TEXT_DAYS"] = 30
    approval = next(e for e in _events(app, run_id) if e["type"] == "review.approved")
    # Thirty days to the millisecond after the approval: the supervisor's later redaction did not restart them.
    clock.now = datetime.fromisoformat(approval["received_at"].replace("Z", "+00:00")) + timedelta(days=30)
    assert "Removed 3 free text(s)" in purge(runner).output  # deviation, comment and the supervisor's reason
    assert texts_left(app, run_id) == []
    reasons = [e["note"] for e in _events(app, run_id) if e["type"] == "redaction"]
    assert reasons == [None] + ["Retention: free text kept for 30 days"] * 3
    assert "Removed 0 free text(s)" in purge(runner).output
    assert verified(runner)


def test_texts_of_a_run_closed_29_days_ago_stay(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-121")
    app.config["RETAIN_TEXT_DAYS"] = 30
    clock.now = locked_at(app, run_id) + timedelta(days=29)
    result = purge(runner)
    assert result.exit_code == 0 and "Removed 0 free text(s)" in result.output
    assert texts_left(app, run_id) == [NOTE, DEVIATION, COMMENT]


def test_the_text_boundary_is_exact(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-131")
    app.config["RETAIN_TEXT_DAYS"] = 30
    due = locked_at(app, run_id) + timedelta(days=30)
    clock.now = due - timedelta(milliseconds=1)
    assert "Removed 0 free text(s)" in purge(runner).output
    assert texts_left(app, run_id) == [NOTE, DEVIATION, COMMENT]
    clock.now = due
    assert "Removed 3 free text(s)" in purge(runner).output
    assert texts_left(app, run_id) == []


def test_a_run_not_closed_is_never_touched(app, api, runner, clock):
    acc = api("acc")
    in_progress = acc.start_run(label="OP-TEST-141")
    assert acc.send(in_progress, event("note", note=NOTE)).status_code == 200
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    submitted = acc.start_run(label="OP-TEST-142")
    assert acc.send(submitted, event("note", note=NOTE), *complete_answers(protocol), attestation()).status_code == 200
    app.config.update(RETAIN_TEXT_DAYS=1, RETAIN_RUN_YEARS=1)
    clock.now = datetime.now(UTC) + timedelta(days=365 * 30)
    result = purge(runner)
    assert result.exit_code == 0, result.output
    assert "Deleted 0 closed run(s)" in result.output and "Removed 0 free text(s)" in result.output
    assert texts_left(app, in_progress) == [NOTE] and texts_left(app, submitted) == [NOTE]
    assert not _query(app, "SELECT * FROM deleted_runs")


def test_a_run_closed_longer_than_the_years_is_deleted_with_its_records_and_leaves_a_register_row(
        app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-151", operation=True)
    run = _query(app, "SELECT * FROM runs WHERE id = ?", run_id)[0]
    record_files = [Path(app.instance_path) / r["path"] for r in _query(app, "SELECT path FROM records "
                                                                             "WHERE run_id = ?", run_id)]
    assert record_files and all(path.exists() for path in record_files)
    assert runner.invoke(args=["db", "checkpoint"]).exit_code == 0  # the nightly checkpoint holds the run
    app.config.update(RETAIN_RUN_YEARS=5, RETAIN_TEXT_DAYS=30)
    locked = locked_at(app, run_id)
    clock.now = years_after(locked, 5) + timedelta(days=1)

    result = purge(runner)
    assert result.exit_code == 0, result.output
    assert "Deleted 1 closed run(s)" in result.output
    for table, column in [("runs", "id"), ("events", "run_id"), ("records", "run_id"), ("run_facts", "run_id"),
                          ("run_steps", "run_id"), ("records_due", "run_id")]:
        assert not _query(app, f"SELECT * FROM {table} WHERE {column} = ?", run_id), table
    assert not any(path.exists() for path in record_files)
    assert not _query(app, "SELECT * FROM operations")  # its label could name the operation

    register = _query(app, "SELECT * FROM deleted_runs WHERE run_id = ?", run_id)
    assert register == [{"run_id": run_id, "protocol_id": "immigration-separation", "protocol_version": "1.0.0",
                         "created_at": run["created_at"],
                         "locked_at": locked.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                         "deleted_at": retention.stamp(clock.now), "head_hash": run["head_hash"],
                         "event_count": run["event_count"]}]
    # Nothing the run said is left in the database file or its write-ahead log, not even its label.
    database = Path(app.config["DATABASE"])
    stored = b"".join(path.read_bytes() for path in (database, database.with_name(database.name + "-wal"))
                      if path.exists())
    for text in ("OP-TEST-151", NOTE, DEVIATION, COMMENT):
        assert text.encode() not in stored, text
    # The checkpoint made while the run existed still verifies: the register accounts for the deletion.
    assert verified(runner)


def test_the_run_boundary_is_exact(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-161")
    app.config["RETAIN_RUN_YEARS"] = 2
    due = years_after(locked_at(app, run_id), 2)
    clock.now = due - timedelta(milliseconds=1)
    assert "Deleted 0 closed run(s)" in purge(runner).output
    assert _query(app, "SELECT id FROM runs WHERE id = ?", run_id)
    clock.now = due
    assert "Deleted 1 closed run(s)" in purge(runner).output
    assert not _query(app, "SELECT id FROM runs WHERE id = ?", run_id)
    assert verified(runner)


def test_without_settings_everything_is_kept(app, api, runner, clock):
    run_id = closed_run(app, api, "OP-TEST-171")
    clock.now = datetime.now(UTC) + timedelta(days=365 * 50)
    result = purge(runner)
    assert result.exit_code == 0 and "everything is kept" in result.output
    assert texts_left(app, run_id) == [NOTE, DEVIATION, COMMENT]


def test_db_purge_also_deletes_expired_practice_runs(app, api, runner, clock):
    acc = api("acc")
    practice = acc.start_run(label="OP-TEST-181", mode="practice")
    app.config["PRACTICE_RETENTION_DAYS"] = 30
    clock.now = datetime.now(UTC) + timedelta(days=31)
    assert "Would delete 1 practice run(s)" in purge(runner, "--dry-run").output
    assert "Deleted 1 practice run(s)" in purge(runner).output
    assert not _query(app, "SELECT id FROM runs WHERE id = ?", practice)


@pytest.mark.parametrize("name", ["DONOHARM_RETAIN_TEXT_DAYS", "DONOHARM_RETAIN_RUN_YEARS"])
@pytest.mark.parametrize("value", ["thirty", "-1", "0", "1.5", "2y"])
def test_a_bad_retention_setting_stops_the_start_with_one_line(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert str(refused.value).startswith(f"{name} must be a whole number") and "\n" not in str(refused.value)


def test_unset_retention_keeps_for_good_and_numbers_are_read(tmp_path, monkeypatch):
    config = load_config(tmp_path)
    assert config["RETAIN_TEXT_DAYS"] is None and config["RETAIN_RUN_YEARS"] is None
    monkeypatch.setenv("DONOHARM_RETAIN_TEXT_DAYS", " 90 ")
    monkeypatch.setenv("DONOHARM_RETAIN_RUN_YEARS", "7")
    config = load_config(tmp_path)
    assert (config["RETAIN_TEXT_DAYS"], config["RETAIN_RUN_YEARS"]) == (90, 7)


def test_the_maintenance_timer_runs_the_purge_before_the_checkpoint_and_the_check():
    commands = [line.split("flask --app app ", 1)[1]
                for line in (ROOT / "deploy" / "donoharm-maintenance.service").read_text().splitlines()
                if line.startswith("ExecStart=") and "flask --app app " in line]
    assert commands.index("db purge") < commands.index("db checkpoint") < commands.index("db verify")
