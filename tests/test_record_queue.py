"""Signed records are issued off the request (issues 14 and 25): the submission queues the record in its own
transaction, a worker issues it, a failure is retried, and a full disk never leaves a partial file."""
from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import records as records_db
from donoharm.records import queue
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers
from tests.disk import fill, small_filesystem


def _submit(app, label="OP-TEST-001"):
    acc = Api(app, "acc")
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run(label=label)
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    return acc, run_id


def _rows(app, table, run_id):
    """A run's rows in a table; of `records`, the internal record of each issue (each has a shareable pair,
    tests/test_records_profiles.py)."""
    db = connect(app.config["DATABASE"])
    internal = " AND profile = 'internal' ORDER BY issued_at, rowid" if table == "records" else ""
    rows = [dict(r) for r in db.execute(f"SELECT * FROM {table} WHERE run_id = ?{internal}", [run_id]).fetchall()]
    db.conn.close()
    return rows


def _files(instance: Path) -> list[Path]:
    return sorted(p for p in (instance / "records").rglob("*") if p.is_file())


def test_a_submission_queues_its_record_and_the_page_says_it_is_being_issued(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"
    acc, run_id = _submit(signed_app)
    assert _rows(signed_app, "records", run_id) == []
    [due] = _rows(signed_app, "records_due", run_id)
    assert due["status"] == "submitted" and due["reason"] == "run.submitted"
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'id="record-due"' in page and "is being issued" in page

    result = signed_app.test_cli_runner().invoke(args=["records", "issue-due"])
    assert result.exit_code == 0 and "Issued 1 record(s)" in result.output
    assert len(_rows(signed_app, "records", run_id)) == 1 and _rows(signed_app, "records_due", run_id) == []
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'id="record-due"' not in page and "Download the signed record" in page


def test_the_worker_thread_issues_queued_records(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"
    _acc, run_id = _submit(signed_app)
    worker = queue.RecordWorker(signed_app, interval=0.05).start()
    try:
        deadline = time.monotonic() + 30
        while not _rows(signed_app, "records", run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert len(_rows(signed_app, "records", run_id)) == 1
    assert _rows(signed_app, "records_due", run_id) == []


def test_a_failed_issue_is_kept_and_retried_later(signed_app, users, monkeypatch):
    signed_app.config["RECORDS_WORKER"] = "off"
    _acc, run_id = _submit(signed_app)
    import donoharm.records.issuing as issuing

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(issuing, "sign_pdf", no_space)
    issued, failed = queue.issue_due(signed_app)
    assert (issued, failed) == ([], [run_id])
    [due] = _rows(signed_app, "records_due", run_id)
    assert due["attempts"] == 1 and "No space left" in due["last_error"] and due["next_attempt_at"] > due["due_at"]
    assert queue.issue_due(signed_app) == ([], [])  # not before its next attempt
    monkeypatch.undo()
    result = signed_app.test_cli_runner().invoke(args=["records", "issue-due"])  # the operator, space freed
    assert result.exit_code == 0 and len(_rows(signed_app, "records", run_id)) == 1


def test_two_workers_never_take_the_same_record(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"
    _acc, run_id = _submit(signed_app)
    [due] = _rows(signed_app, "records_due", run_id)
    db = connect(signed_app.config["DATABASE"])
    later = "2999-01-01T00:00:00.000Z"
    assert records_db.claim_due(db, run_id, due["head_hash"], "2026-01-01T00:00:00.000Z", later)
    assert not records_db.claim_due(db, run_id, due["head_hash"], "2026-01-01T00:00:01.000Z", later)
    db.conn.close()
    assert queue.issue_due(signed_app) == ([], [])  # held by the other worker


def test_a_write_that_fails_half_way_leaves_no_file(tmp_path, monkeypatch):
    from donoharm.config import write_atomically

    target = tmp_path / "record.pdf"
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", full)
    with pytest.raises(OSError):
        write_atomically(target, b"%PDF-1.7 synthetic" * 1000)
    monkeypatch.setattr("os.fsync", real_fsync)
    assert list(tmp_path.iterdir()) == []
    write_atomically(target, b"%PDF-1.7 synthetic")
    assert target.read_bytes() == b"%PDF-1.7 synthetic" and oct(target.stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 6 MB filesystem of its own (tmpfs)."""
    with small_filesystem(tmp_path / "tiny-disk", "6m") as mount:
        yield mount


def test_a_submission_on_a_nearly_full_disk_is_kept_and_its_record_issued_once_space_is_back(
        tiny_disk, key_folder, users):
    import shutil

    instance = tiny_disk / "instance"
    instance.mkdir()
    for path in key_folder.iterdir():
        shutil.copy(path, instance)
    app = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test", "RECORDS_WORKER": "off"})
    from donoharm.accounts.auth import hash_password
    from donoharm.db import users as users_db
    from tests.conftest import PASSWORD

    db = connect(app.config["DATABASE"])
    users_db.create_user(db, "acc", hash_password(PASSWORD), "accompanier")
    db.conn.close()
    acc = Api(app, "acc")
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(protocol)).status_code == 200
    # Room kept inside the database and its WAL (freed pages are reused, not given back to the disk), so the
    # submission can still be stored on a full disk while its ~50 KB record cannot be written.
    db = connect(app.config["DATABASE"])
    db.execute("CREATE TABLE scratch (b BLOB)")
    db.execute("INSERT INTO scratch VALUES (zeroblob(600000))")
    db.execute("DROP TABLE scratch")
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # kept open: the last connection to close deletes the WAL
    filler = fill(tiny_disk)
    os.truncate(filler, filler.stat().st_size - 40 * 1024)

    assert acc.send(run_id, attestation()).status_code == 200  # acknowledged: the submission is kept
    issued, failed = queue.issue_due(app)
    assert (issued, failed) == ([], [run_id])
    assert _files(instance) == []  # no partial PDF, no temporary file
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 503
    assert "could not be issued yet" in acc.get(f"/runs/{run_id}").get_data(as_text=True)

    filler.unlink()
    db.conn.close()
    result = app.test_cli_runner().invoke(args=["records", "issue-due"])
    assert result.exit_code == 0, result.output
    [record] = _rows(app, "records", run_id)
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 200
    assert sorted(p.name for p in _files(instance)) == sorted(f"{i}.pdf" for i in (record["id"], record["pair_id"]))


def test_an_upgrade_queues_the_records_a_failed_issue_left_out(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"
    _acc, run_id = _submit(signed_app)
    db = connect(signed_app.config["DATABASE"])
    db.execute("DROP TABLE records_due")  # as before the migration
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'records_m001_due'")
    db.conn.close()
    from donoharm.db import migrate

    assert "records_m001_due" in migrate(signed_app.config["DATABASE"])
    [due] = _rows(signed_app, "records_due", run_id)
    assert due["reason"] == "late issue (submitted)"
