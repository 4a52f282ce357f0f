"""Restore of a database backup: restored into a new instance it serves every run; a broken one changes nothing."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import runs as runs_db
from tests.conftest import complete_answers, event, login


def _new_instance(tmp_path, name="restored"):
    return create_app({"TESTING": True, "INSTANCE": tmp_path / name, "SECRET_KEY": "test"})


def test_backup_restored_into_a_new_instance_has_every_run_and_its_chain(app, api, runner, tmp_path):
    acc = api("acc")
    from donoharm.services.library import get_registry

    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    answered = acc.start_run(label="OP-TEST-001")
    assert acc.send(answered, *complete_answers(protocol)).status_code == 200
    practice = acc.start_run(label="OP-TEST-002", mode="practice")
    assert acc.send(practice, event("note", note="Practice.")).status_code == 200

    backup = tmp_path / "backup.db"
    result = runner.invoke(args=["db", "backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600

    restored = _new_instance(tmp_path)
    result = restored.test_cli_runner().invoke(args=["db", "restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert "Restored 2 run(s)" in result.output and "every run's chain verifies" in result.output

    # The restored app starts and serves the runs to their owner, with the same chain heads.
    restarted = _new_instance(tmp_path)
    client = restarted.test_client()
    login(client, "acc")
    for run_id in (answered, practice):
        body = client.get(f"/api/v1/runs/{run_id}").get_json()
        original = acc.get(f"/api/v1/runs/{run_id}").get_json()
        assert body["events"] == original["events"]
        assert body["run"]["status"] == original["run"]["status"]


def test_restore_refuses_to_overwrite_a_database_in_use(app, users, runner, tmp_path):
    backup = tmp_path / "backup.db"
    runner.invoke(args=["db", "backup", str(backup)])
    result = runner.invoke(args=["db", "restore", str(backup)])
    assert result.exit_code != 0
    assert "already has users or runs" in result.output


def test_restore_rejects_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database " * 100)
    result = _new_instance(tmp_path).test_cli_runner().invoke(args=["db", "restore", str(junk)])
    assert result.exit_code != 0
    assert f"{junk} is not a SQLite database" in result.output


def test_restore_refuses_a_broken_chain_and_changes_nothing(app, api, runner, tmp_path):
    acc = api("acc")
    run_id = acc.start_run()
    acc.send(run_id, event("note", note="Staff arrived."))
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE events SET note = 'changed afterwards' WHERE run_id = ?", [run_id])
    db.conn.close()
    backup = tmp_path / "backup.db"
    runner.invoke(args=["db", "backup", str(backup)])
    restored = _new_instance(tmp_path)
    before = _tree(tmp_path / "restored")
    result = restored.test_cli_runner().invoke(args=["db", "restore", str(backup)])
    assert result.exit_code == 1
    assert "content does not match its hash" in result.output and "nothing was restored" in result.output
    assert _tree(tmp_path / "restored") == before  # the edited database is not left in place
    db = connect(str(tmp_path / "restored" / "donoharm.db"))
    assert runs_db.get_run(db, run_id) is None
    db.conn.close()


def test_a_database_backup_opens_read_only_where_its_reader_cannot_write(app, users, runner, tmp_path):
    """A WAL-mode copy needs a -shm file beside it even to be read: the backup is a plain rollback-journal file."""
    backup = tmp_path / "backup.db"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    assert backup.read_bytes()[18:20] == b"\x01\x01"  # file format versions: 1 = rollback journal, 2 = WAL
    conn = sqlite3.connect(f"file:{backup}?immutable=0&mode=ro", uri=True)
    try:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == len(users)
    finally:
        conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == ["backup.db"]


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}
