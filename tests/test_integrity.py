"""Tamper evidence against the server's own database (issue 15): a run edited in SQLite is caught before it
is trusted, appended to or signed, and `db verify` names it — even when every hash was recomputed."""
from __future__ import annotations

import json

import pytest

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.runs import seal
from donoharm.runs.chain import genesis_hash, text_commitment
from donoharm.runs.integrity import ChainGuard
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers, event, login


def _protocol(app):
    with app.app_context():
        return get_registry().get("immigration-separation", "1.0.0")


def _run_with_notes(acc, label="OP-TEST-001", notes=3):
    run_id = acc.start_run(label=label)
    for number in range(notes):
        assert acc.send(run_id, event("note", note=f"Synthetic note {number + 1}.")).status_code == 200
    return run_id


def _sql(app, statement, *values):
    db = connect(app.config["DATABASE"])
    db.execute(statement, list(values))
    db.conn.close()


def _db_verify(app):
    return app.test_cli_runner().invoke(args=["db", "verify"])


EDITS = {
    "note": ("UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 2", 2),
    "type": ("UPDATE events SET type = 'deviation' WHERE run_id = ? AND seq = 2", 2),
    "value": ("UPDATE events SET value = '\"no\"' WHERE run_id = ? AND seq = 1", 1),
    "actor": ("UPDATE events SET actor = 'sup' WHERE run_id = ? AND seq = 3", 3),
    "deleted event": ("DELETE FROM events WHERE run_id = ? AND seq = 2", 2),
    "label": ("UPDATE runs SET label = 'OP-TEST-CHANGED' WHERE id = ?", 0),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edited_row_freezes_the_run_and_db_verify_names_it(app, users, edit):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    assert acc.send(run_id, event("step.set", "immigration-officers-on-team", "yes")).status_code == 200  # seq 1
    acc.send(run_id, event("note", note="Synthetic note one."), event("note", note="Synthetic note two."))
    statement, bad_seq = EDITS[edit]
    _sql(app, statement, run_id)

    refused = acc.send(run_id, event("note", note="Synthetic note after the edit."))
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "integrity_fault" and error["details"]["seq"] == bad_seq

    shown = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert shown["integrity"] == {"intact": False, "fault": {"seq": bad_seq, "problem": error["details"]["problem"]}}

    result = _db_verify(app)
    assert result.exit_code == 1
    assert f"run {run_id} seq {bad_seq}:" in result.output


def test_the_pages_say_so_and_offer_no_change(app, users):
    acc = Api(app, "acc")
    run_id = _run_with_notes(acc)
    _sql(app, "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 2", run_id)

    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'id="integrity-fault"' in page and "changed outside the app" in page
    assert "SYNTHETIC TAMPERED NOTE" not in page  # only the history that still verifies is shown
    assert "Synthetic note 1." in page
    assert f'action="/runs/{run_id}/events"' not in page  # no step or note forms

    admin = Api(app, "admin")
    home = admin.get("/").get_data(as_text=True)
    assert "1 run was changed outside the app" in home and f"/runs/{run_id}" in home
    assert "1 run was changed" not in acc.get("/").get_data(as_text=True)  # administrators only


def test_a_faulty_submitted_run_cannot_be_reviewed_or_signed(signed_app, users):
    acc = Api(signed_app, "acc")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(_protocol(signed_app)), attestation()).status_code == 200
    _sql(signed_app, "DELETE FROM records")  # as if the record was never issued
    _sql(signed_app, "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 1", run_id)

    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 409
    db = connect(signed_app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    db.conn.close()

    sup = Api(signed_app, "sup")
    page = sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert 'id="integrity-fault"' in page and 'id="approve-run"' not in page
    refused = sup.post(f"/api/v1/runs/{run_id}/events", json={"events": [
        event("review.returned", note="Synthetic comment.")]})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "integrity_fault"


def _rewrite_consistently(app, run_id, seq, note):
    """What an attacker with the app's code would do: change one event, then re-seal every later one."""
    db = connect(app.config["DATABASE"])
    run = runs_db.get_run(db, run_id)
    events = runs_db.events_of(db, run_id)
    prev = genesis_hash(run)
    for stored in events:
        changed = {**stored, "note": note} if stored["seq"] == seq else stored
        if changed.get("text_salt"):  # the texts' commitment too, with the salt stored beside them
            changed["text_commitment"] = text_commitment(changed["text_salt"], changed)
        sealed = seal({k: v for k, v in changed.items() if k not in ("prev_hash", "hash")}, prev)
        db.execute("UPDATE events SET note = ?, text_commitment = ?, prev_hash = ?, hash = ? WHERE id = ?",
                   [sealed["note"], sealed.get("text_commitment"), sealed["prev_hash"], sealed["hash"], sealed["id"]])
        prev = sealed["hash"]
    db.execute("UPDATE runs SET head_hash = ? WHERE id = ?", [prev, run_id])
    db.conn.close()


def test_a_consistent_rewrite_is_caught_by_the_checkpoint(signed_app, users):
    acc = Api(signed_app, "acc")
    run_id = _run_with_notes(acc)
    other = _run_with_notes(acc, label="OP-TEST-002", notes=1)
    made = signed_app.test_cli_runner().invoke(args=["db", "checkpoint"])
    assert made.exit_code == 0, made.output
    assert "Checkpoint of 2 run(s)" in made.output
    assert _db_verify(signed_app).exit_code == 0

    _rewrite_consistently(signed_app, run_id, 2, "SYNTHETIC REWRITTEN NOTE")
    # Every hash holds, so the chain check alone is satisfied...
    assert acc.send(run_id, event("note", note="Synthetic note after the rewrite.")).status_code == 200
    result = _db_verify(signed_app)
    # ...but the checkpoint still holds the old head at event 3.
    assert result.exit_code == 1
    assert f"run {run_id} seq 3:" in result.output and "checkpoint" in result.output
    assert other not in result.output


def test_a_consistent_rewrite_is_caught_by_the_records_signed_before(signed_app, users):
    acc = Api(signed_app, "acc")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(_protocol(signed_app)), attestation()).status_code == 200
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 200
    assert _db_verify(signed_app).exit_code == 0

    _rewrite_consistently(signed_app, run_id, 1, "SYNTHETIC REWRITTEN NOTE")
    result = _db_verify(signed_app)
    assert result.exit_code == 1
    assert f"run {run_id} seq" in result.output and "record" in result.output


def test_db_verify_checks_record_files(signed_app, users, tmp_path):
    acc = Api(signed_app, "acc")
    run_id = acc.start_run()
    acc.send(run_id, *complete_answers(_protocol(signed_app)), attestation())
    acc.get(f"/runs/{run_id}/record.pdf")
    db = connect(signed_app.config["DATABASE"])
    path = db.execute("SELECT path FROM records WHERE run_id = ?", [run_id]).fetchone()[0]
    db.conn.close()
    pdf = tmp_path / "instance" / path
    pdf.write_bytes(pdf.read_bytes() + b"\n% synthetic appended bytes\n")
    result = _db_verify(signed_app)
    assert result.exit_code == 1 and "differs from the one issued" in result.output
    pdf.unlink()
    result = _db_verify(signed_app)
    assert result.exit_code == 1 and "the signed file is missing" in result.output


def test_a_tampered_checkpoint_file_is_named(signed_app, users, tmp_path):
    acc = Api(signed_app, "acc")
    run_id = _run_with_notes(acc, notes=1)
    signed_app.test_cli_runner().invoke(args=["db", "checkpoint"])
    path = next((tmp_path / "instance" / "checkpoints").glob("checkpoint-*.json"))
    checkpoint = json.loads(path.read_text())
    checkpoint["leaves"][0]["count"] = 5
    path.write_text(json.dumps(checkpoint))
    result = _db_verify(signed_app)
    assert result.exit_code == 1
    assert "signature is not valid" in result.output and "Merkle root" in result.output
    assert f"run {run_id} seq 5:" in result.output


def test_db_verify_is_clean_on_an_untouched_instance(signed_app, users):
    acc = Api(signed_app, "acc")
    _run_with_notes(acc)
    run_id = acc.start_run(label="OP-TEST-002")
    acc.send(run_id, *complete_answers(_protocol(signed_app)), attestation())
    acc.get(f"/runs/{run_id}/record.pdf")
    signed_app.test_cli_runner().invoke(args=["db", "checkpoint"])
    acc.send(run_id, event("note", note="Synthetic note after the checkpoint."))  # growth is not a rewrite
    result = _db_verify(signed_app)
    assert result.exit_code == 0, result.output
    assert "2 run(s)" in result.output and "0 problem(s)" in result.output


def test_admins_list_and_download_checkpoints(signed_app, users):
    acc = Api(signed_app, "acc")
    _run_with_notes(acc, notes=1)
    client = signed_app.test_client()
    login(client, "admin")
    page = client.get("/admin/checkpoints").get_data(as_text=True)
    assert "No checkpoint yet" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/admin/checkpoints", data={"csrf_token": token}).status_code == 302
    assert client.post("/admin/checkpoints", data={}).status_code == 400  # no CSRF token, no checkpoint
    page = client.get("/admin/checkpoints").get_data(as_text=True)
    name = page.split('href="/admin/checkpoints/')[1].split('"')[0]
    download = client.get(f"/admin/checkpoints/{name}")
    assert download.status_code == 200 and download.get_json()["runs"] == 1
    assert client.get("/admin/checkpoints/..%2Fdonoharm.db").status_code == 404
    assert acc.get("/admin/checkpoints").status_code == 403


def test_the_guard_rehashes_only_rows_that_changed(monkeypatch):
    from donoharm.runs import integrity

    run = {"id": "r", "protocol_id": "p", "protocol_version": "1", "protocol_sha256": "s", "label": "OP-TEST-001",
           "mode": "live", "created_by": "acc", "created_at": "2026-01-01T00:00:00Z"}
    run["genesis_hash"] = genesis_hash(run)
    events, prev = [], run["genesis_hash"]
    for seq in range(1, 6):
        sealed = seal({"id": f"e{seq}", "run": "r", "type": "note", "step": None, "value": None,
                       "note": f"n{seq}", "at": "t", "received_at": "t", "actor": "acc", "seq": seq}, prev)
        events.append(sealed)
        prev = sealed["hash"]
    hashed = []
    real = integrity.event_hash
    monkeypatch.setattr(integrity, "event_hash", lambda p, e: hashed.append(e["seq"]) or real(p, e))
    guard = ChainGuard()
    assert guard.check(run, events) is None and hashed == [1, 2, 3, 4, 5]
    hashed.clear()
    assert guard.check(run, events) is None and hashed == []  # nothing changed: nothing re-hashed
    events[3] = {**events[3], "note": "SYNTHETIC EDIT"}
    fault = guard.check(run, events)
    assert fault is not None and fault.seq == 4 and hashed == [4]


def test_a_fault_is_cleared_only_once_the_run_verifies_again(app, users):
    acc = Api(app, "acc")
    run_id = _run_with_notes(acc, notes=2)
    db = connect(app.config["DATABASE"])
    original = db.execute("SELECT note FROM events WHERE run_id = ? AND seq = 1", [run_id]).fetchone()[0]
    db.conn.close()
    _sql(app, "UPDATE events SET note = 'SYNTHETIC TAMPERED NOTE' WHERE run_id = ? AND seq = 1", run_id)
    acc.get(f"/runs/{run_id}")  # the page finds the fault
    admin = Api(app, "admin")
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["db", "clear-fault", run_id])
    assert refused.exit_code != 0 and f"run {run_id} seq 1:" in refused.output
    assert "1 run was changed outside the app" in admin.get("/").get_data(as_text=True)

    _sql(app, "UPDATE events SET note = ? WHERE run_id = ? AND seq = 1", original, run_id)  # as a restore would
    assert "1 run was changed outside the app" in admin.get("/").get_data(as_text=True)  # not repaired silently
    cleared = runner.invoke(args=["db", "clear-fault", run_id])
    assert cleared.exit_code == 0, cleared.output
    assert "changed outside the app" not in admin.get("/").get_data(as_text=True)
    assert acc.send(run_id, event("note", note="Synthetic note after the restore.")).status_code == 200


def test_an_append_between_reading_the_run_and_its_events_is_not_taken_for_tampering(app, users, monkeypatch):
    """A page read while a phone appends: the run's row and its events come from one snapshot, so the
    cached count and head always match the events read (reading them apart once flagged a genuine run)."""
    import uuid

    from donoharm.db import runs as runs_module
    from donoharm.services import run_service

    acc = Api(app, "acc")
    run_id = _run_with_notes(acc, notes=2)
    real_get_run = runs_module.get_run
    appended = []

    def get_run_then_another_writer_appends(db, wanted):
        run = real_get_run(db, wanted)
        if wanted == run_id and not appended:
            other = connect(app.config["DATABASE"])  # another request, committing its append now
            stored = runs_db.events_of(other, run_id)
            sealed = seal({"id": str(uuid.uuid4()), "run": run_id, "type": "note", "step": None, "value": None,
                           "note": "Synthetic concurrent note.", "at": "2026-01-01T00:00:00.000Z",
                           "received_at": "2026-01-01T00:00:00.000Z", "actor": "acc", "seq": len(stored) + 1},
                          stored[-1]["hash"])
            runs_db.insert_events(other, [sealed])
            other.execute("UPDATE runs SET head_hash = ?, event_count = ? WHERE id = ?",
                          [sealed["hash"], sealed["seq"], run_id])
            other.conn.close()
            appended.append(sealed)
        return run

    monkeypatch.setattr(runs_module, "get_run", get_run_then_another_writer_appends)
    db = connect(app.config["DATABASE"])
    with app.app_context():
        run = real_get_run(db, run_id)
        state, events = run_service.run_state(db, get_registry(), run)
    db.conn.close()
    assert appended and state.integrity_fault is None
    monkeypatch.undo()
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["integrity"]["intact"] is True
    assert "changed outside the app" not in Api(app, "admin").get("/").get_data(as_text=True)


def test_a_run_deleted_while_it_is_read_is_not_found_not_a_fault(app, users, monkeypatch):
    from donoharm.db import runs as runs_module
    from donoharm.services import run_service
    from donoharm.services.run_service import RunError

    acc = Api(app, "acc")
    run_id = _run_with_notes(acc, notes=1)
    db = connect(app.config["DATABASE"])
    run = runs_module.get_run(db, run_id)
    monkeypatch.setattr(runs_module, "run_with_events", lambda db, wanted: (None, []))  # purged meanwhile
    with app.app_context(), pytest.raises(RunError) as raised:
        run_service.run_state(db, get_registry(), run)
    assert raised.value.kind == "not_found"
    assert db.execute("SELECT count(*) FROM integrity_faults").fetchone()[0] == 0
    db.conn.close()
