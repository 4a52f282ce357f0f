"""Appends in constant time (issue 14): an append resumes the run's state from the snapshot kept with it instead of
re-reading and re-folding its history, answers with what changed, and still refuses a run edited outside the app."""
from __future__ import annotations

import os

import pytest

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.services import run_service
from tests.conftest import Api, attestation, complete_answers, event


def _sql(app, statement, *values):
    db = connect(app.config["DATABASE"])
    db.execute(statement, list(values))
    db.conn.close()


def _fold_row(app, run_id):
    db = connect(app.config["DATABASE"])
    try:
        return db.execute("SELECT head_hash, event_count FROM run_folds WHERE run_id = ?", [run_id]).fetchone()
    finally:
        db.conn.close()


def _notes(acc, run_id, count, batch=10):
    for start in range(0, count, batch):
        notes = [event("note", note=f"Synthetic note {n}.") for n in range(start, min(count, start + batch))]
        assert acc.send(run_id, *notes).status_code == 200


def test_an_append_to_a_long_run_reads_none_of_its_history(app, users, monkeypatch):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    _notes(acc, run_id, 60)
    assert tuple(_fold_row(app, run_id)) == (acc.get(f"/api/v1/runs/{run_id}").get_json()["run"]["head_hash"], 60)

    def refuse(*args, **kwargs):
        raise AssertionError("an append read the run's whole history")

    monkeypatch.setattr(run_service, "run_state", refuse)
    monkeypatch.setattr(runs_db, "events_of", refuse)
    answered = acc.send(run_id, event("step.set", "immigration-officers-on-team", "no"))
    assert answered.status_code == 200, answered.get_json()
    body = answered.get_json()
    assert body["event_count"] == 61 and body["status"] == "in_progress"
    assert body["steps"]["immigration-officers-on-team"]["value"] == "no"  # what this batch changed
    assert set(body["steps"]) == {"immigration-officers-on-team"} and "notes" not in body
    monkeypatch.undo()
    whole = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert whole["integrity"]["intact"] is True and len(whole["state"]["notes"]) == 60
    assert whole["state"]["steps"]["immigration-officers-on-team"]["value"] == "no"


def test_a_run_without_a_snapshot_is_folded_once_then_resumed(app, users):
    """A database from before snapshots were kept (or one whose snapshot was dropped): appends still work."""
    acc = Api(app, "acc")
    run_id = acc.start_run()
    _notes(acc, run_id, 5)
    _sql(app, "DELETE FROM run_folds")
    assert acc.send(run_id, event("note", note="Synthetic note after.")).status_code == 200
    assert _fold_row(app, run_id)["event_count"] == 6


@pytest.mark.parametrize("statement", [
    "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 2",
    "DELETE FROM events WHERE run_id = ? AND seq = 2",
], ids=["edited", "deleted"])
def test_changing_a_stored_event_drops_the_snapshot_so_the_next_append_checks_everything(app, users, statement):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    _notes(acc, run_id, 4)
    _sql(app, statement, run_id)
    assert _fold_row(app, run_id) is None  # the database's own trigger, whoever ran the statement
    refused = acc.send(run_id, event("note", note="Synthetic note after the edit."))
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["seq"] == 2


def test_a_changed_last_event_or_header_is_caught_even_with_the_triggers_dropped(app, users):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    _notes(acc, run_id, 3)
    _sql(app, "DROP TRIGGER events_updated_drop_fold")
    _sql(app, "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 3", run_id)
    refused = acc.send(run_id, event("note", note="Synthetic note after the edit."))
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["seq"] == 3

    other = acc.start_run(label="OP-TEST-002")
    _notes(acc, other, 2)
    _sql(app, "UPDATE runs SET label = 'OP-TEST-CHANGED' WHERE id = ?", other)
    refused = acc.send(other, event("note", note="Synthetic note after the edit."))
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["seq"] == 0


def test_an_earlier_edit_hidden_from_appends_freezes_the_run_once_it_is_read(app, users):
    """With the triggers dropped, an edit to an earlier event escapes the append's check (it reads only the
    header and the last event); the next read of the run finds it, and from then on appends are refused."""
    acc = Api(app, "acc")
    run_id = acc.start_run()
    _notes(acc, run_id, 3)
    _sql(app, "DROP TRIGGER events_updated_drop_fold")
    _sql(app, "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 1", run_id)
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["integrity"]["intact"] is False
    refused = acc.send(run_id, event("note", note="Synthetic note after the edit."))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "integrity_fault"


def test_the_answer_names_the_standing_answer_and_every_removed_text(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id = acc.start_run()
    later = event("step.set", "immigration-officers-on-team", "no", at="2026-01-01T10:05:00+00:00")
    earlier = event("step.set", "immigration-officers-on-team", "yes", at="2026-01-01T10:00:00+00:00")
    assert acc.send(run_id, later).status_code == 200
    body = acc.send(run_id, earlier).get_json()  # made earlier, arrived later: it does not stand
    assert body["accepted"] == [earlier["id"]]
    assert body["steps"]["immigration-officers-on-team"]["event"] == later["id"]

    note = event("note", note="Synthetic note to remove.")
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    answers = [e for e in complete_answers(protocol) if e["step"] != "immigration-officers-on-team"]
    assert acc.send(run_id, note, *answers, attestation()).status_code == 200
    removed = sup.post(f"/api/v1/runs/{run_id}/redactions", json={"event": note["id"], "reason": "Synthetic."})
    assert removed.status_code == 201, removed.get_json()
    replay = acc.send(run_id, note).get_json()  # any later answer tells the phone, also one with only replays
    assert replay["duplicates"] == [note["id"]]
    assert replay["removed_texts"] == [{"event": note["id"], "value_is_text": False}]
    assert replay["status"] == "submitted" and replay["complete"] is True


@pytest.fixture
def keeping(app):
    """The production setting: each server thread keeps its connection between requests."""
    from donoharm.db import release_kept_connection

    app.config["KEEP_CONNECTIONS"] = True
    app.config["RECORDS_WORKER"] = "off"  # (the tests' inline record issuing opens a connection of its own)
    yield app
    release_kept_connection()


def test_a_server_thread_reuses_its_connection_and_never_a_stale_one(keeping, users, monkeypatch):
    import donoharm.db as db_module

    opened = []
    real = db_module.connect
    monkeypatch.setattr(db_module, "connect", lambda path: opened.append(path) or real(path))
    acc = Api(keeping, "acc")
    run_id = acc.start_run()
    before = len(opened)
    for number in range(3):
        assert acc.send(run_id, event("note", note=f"Synthetic note {number}.")).status_code == 200
    assert len(opened) == before  # the same connection, request after request

    with keeping.test_request_context():  # a request that failed inside a transaction leaves none open
        db = db_module.get_db()
        db.execute("BEGIN IMMEDIATE")
        db_module.close_db()
    assert acc.send(run_id, event("note", note="Synthetic note after.")).status_code == 200

    # A database file replaced underneath (a restore with the server stopped, a new instance) is opened afresh.
    database = keeping.config["DATABASE"]
    db_module.release_kept_connection()
    copy, live = real(database + ".copy"), real(database)
    live.conn.backup(copy.conn)
    copy.conn.close()
    live.conn.close()
    os.replace(database + ".copy", database)
    opened.clear()
    assert acc.get(f"/api/v1/runs/{run_id}").status_code == 200
    assert opened == [database]
