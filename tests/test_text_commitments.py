"""Free text chained as a salted commitment, and the redaction event (issue 18, parts 2 and 3, the core).

What a user would notice: a removed text is gone while the run's seal still verifies; a text changed or removed
in the database without a redaction is reported as tampering; a run stored before commitments keeps verifying."""
from __future__ import annotations

import pytest

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.runs import seal
from donoharm.runs.chain import genesis_hash, text_commitment
from donoharm.runs.integrity import verify_chain
from donoharm.services import library
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers, event
from tests.protocol_factory import as_yaml, document

NOTE = "SYNTHETIC-NOTE-4KQ the officer shouted at the group"


def _stored(app, run_id):
    db = connect(app.config["DATABASE"])
    try:
        return runs_db.get_run(db, run_id), runs_db.events_of(db, run_id)
    finally:
        db.conn.close()


def _sql(app, statement, params=()):
    db = connect(app.config["DATABASE"])
    try:
        db.execute(statement, list(params))
    finally:
        db.conn.close()


def _redact(sup: Api, run_id: str, target: str, reason="Synthetic reason: not needed in the record", **extra):
    return sup.send(run_id, event("redaction", value={"event": target}, note=reason, **extra))


def test_a_text_is_sealed_as_a_commitment_and_its_removal_keeps_the_chain(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    run, events = _stored(app, run_id)
    stored = events[0]
    assert stored["text_salt"] and stored["text_commitment"] == text_commitment(stored["text_salt"], stored)
    assert verify_chain(run, events) == []

    response = _redact(sup, run_id, note["id"])
    assert response.status_code == 200, response.get_json()
    run, events = _stored(app, run_id)
    assert events[0]["note"] is None and events[0]["text_salt"] is None
    assert events[0]["text_commitment"] == stored["text_commitment"] and events[0]["hash"] == stored["hash"]
    assert verify_chain(run, events) == []
    # The redaction says who and why, never the text.
    assert events[1]["type"] == "redaction" and events[1]["actor"] == "sup"
    assert NOTE not in repr(events[1])
    state = acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]
    assert state["notes"][0]["note"] is None and state["notes"][0]["redacted"] is True
    assert state["redactions"][0]["target"] == note["id"]
    assert NOTE not in acc.get(f"/api/v1/runs/{run_id}").get_data(as_text=True)


@pytest.fixture
def text_protocol(app, users):
    """The factory's test protocol (it has a free-text step), published on the app."""
    db = connect(app.config["DATABASE"])
    with app.app_context():
        protocol, _created = library.publish(db, as_yaml(document()), users["trainer"])
    db.conn.close()
    return protocol


def test_a_text_answer_is_removed_with_its_value_and_other_answers_stay(app, users, text_protocol):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    protocol = text_protocol
    text_step = next(s for s in protocol.steps if s.kind == "text")
    run_id = acc.start_run(protocol.id, protocol.version)
    answers = complete_answers(protocol)
    for answer in answers:
        if answer["step"] == text_step.id:
            answer["value"] = "SYNTHETIC-ANSWER-8ZP"
    assert acc.send(run_id, *answers).status_code == 200
    target = next(a for a in answers if a["step"] == text_step.id)
    assert _redact(sup, run_id, target["id"]).status_code == 200
    state = acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]
    assert state["steps"][text_step.id]["value"] is None and state["steps"][text_step.id]["redacted"]
    other = next(a for a in answers if a["step"] != text_step.id)
    assert state["steps"][other["step"]]["value"] == other["value"]
    run, events = _stored(app, run_id)
    assert verify_chain(run, events) == []


def test_a_text_changed_in_the_database_is_tampering_even_with_its_hash_untouched(app, users):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    _sql(app, "UPDATE events SET note = ? WHERE id = ?", ["SYNTHETIC-FORGED", note["id"]])
    run, events = _stored(app, run_id)
    assert "does not match its hash" in verify_chain(run, events)[0]
    assert acc.send(run_id, event("note", note="Another synthetic note.")).status_code == 409


def test_a_text_removed_in_the_database_without_a_redaction_is_tampering(app, users):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    _sql(app, "UPDATE events SET note = NULL, text_salt = NULL WHERE id = ?", [note["id"]])
    run, events = _stored(app, run_id)
    assert "without a redaction being recorded" in verify_chain(run, events)[0]


def test_a_text_put_back_after_a_redaction_is_tampering(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    assert _redact(sup, run_id, note["id"]).status_code == 200
    _sql(app, "UPDATE events SET note = ? WHERE id = ?", [NOTE, note["id"]])
    run, events = _stored(app, run_id)
    assert "put back after a redaction" in verify_chain(run, events)[0]


def test_a_run_chained_before_commitments_keeps_verifying(app, users):
    """Events as they were sealed before this change (no salt, no commitment) verify unchanged."""
    acc = Api(app, "acc")
    run_id = acc.start_run()
    run, _ = _stored(app, run_id)
    old = seal({"id": "0b9a3c1e-0000-4000-8000-000000000001", "run": run_id, "type": "note", "step": None,
                "value": None, "note": "A synthetic note sealed the old way.", "at": "2026-01-01T10:00:00Z",
                "received_at": "2026-01-01T10:00:01Z", "actor": "acc", "seq": 1}, genesis_hash(run))
    db = connect(app.config["DATABASE"])
    runs_db.insert_events(db, [old])
    db.execute("UPDATE runs SET head_hash = ?, event_count = 1 WHERE id = ?", [old["hash"], run_id])
    db.conn.close()
    run, events = _stored(app, run_id)
    assert events[0]["text_commitment"] is None and verify_chain(run, events) == []
    # Such a text cannot be removed without breaking the seal: refused plainly, nothing stored.
    response = _redact(Api(app, "sup"), run_id, old["id"])
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_redactable"
    assert _stored(app, run_id)[0]["event_count"] == 1


@pytest.mark.parametrize("who", ["acc", "trainer"])
def test_only_reviewers_remove_texts(app, users, who):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    response = _redact(Api(app, who), run_id, note["id"])
    assert response.status_code in (403, 404)
    run, events = _stored(app, run_id)
    assert len(events) == 1 and events[0]["note"] == NOTE


def test_bad_redactions_are_refused_and_store_nothing(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    cases = [
        (event("redaction", value={"event": "0b9a3c1e-0000-4000-8000-00000000dead"}, note="Synthetic reason"),
         422, "no_text"),
        (event("redaction", value={"event": note["id"]}), 422, "reason_required"),
        (event("redaction", value={"id": note["id"]}, note="Synthetic reason"), 422, "invalid_value"),
        (event("redaction", step="local-protections-checked", value={"event": note["id"]}, note="Synthetic reason"),
         422, "invalid_field"),
        (event("redaction", value={"event": note["id"]}, note="Call +44 7700 900123 about it"), 422,
         "personal_data_suspected"),
    ]
    for raw, status, code in cases:
        response = sup.send(run_id, raw)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), raw
    assert _redact(sup, run_id, note["id"]).status_code == 200
    again = _redact(sup, run_id, note["id"])
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_redacted")
    assert len(_stored(app, run_id)[1]) == 2


def test_an_approved_run_is_locked_but_a_text_can_still_be_removed(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id = acc.start_run()
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    note = event("note", note=NOTE)
    assert acc.send(run_id, note, *complete_answers(protocol), attestation()).status_code == 200
    assert sup.send(run_id, event("review.approved", value={"acknowledged": []})).status_code == 200
    assert acc.send(run_id, event("note", note="A later synthetic note.")).status_code == 409
    assert _redact(sup, run_id, note["id"]).status_code == 200
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]["status"] == "approved"


def test_a_text_the_guard_questions_needs_a_confirmation_which_is_sealed(app, users):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    worrying = event("note", note="The SYNTHETIC person said she is a 15-year-old")
    refused = acc.send(run_id, worrying)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "personal_data_suspected"
    assert [span["kind"] for span in error["details"]["spans"]] == ["age"]
    assert _stored(app, run_id)[1] == []
    confirmed = {**worrying, "text_confirmed": True}
    assert acc.send(run_id, confirmed).status_code == 200
    run, events = _stored(app, run_id)
    assert events[0]["text_confirmed"] is True and events[0]["text_flagged"] == 1
    # The confirmation is sealed: flipping it in the database breaks the chain.
    _sql(app, "UPDATE events SET text_confirmed = 0 WHERE id = ?", [worrying["id"]])
    run, events = _stored(app, run_id)
    assert verify_chain(run, events)
    # A replay of the confirmed event is acknowledged, not a conflict.
    _sql(app, "UPDATE events SET text_confirmed = 1 WHERE id = ?", [worrying["id"]])
    assert acc.send(run_id, confirmed).get_json()["duplicates"] == [worrying["id"]]


def test_system_actor_can_redact_for_retention(app, users):
    from pathlib import Path

    from donoharm.db import get_db
    from donoharm.services.redaction import SYSTEM, redact

    acc = Api(app, "acc")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    assert acc.send(run_id, note).status_code == 200
    with app.app_context():
        result = redact(get_db(), get_registry(), run_id, note["id"], "Retention: synthetic", SYSTEM,
                        Path(app.instance_path))
    assert len(result.accepted) == 1
    run, events = _stored(app, run_id)
    assert events[1]["actor"] == "system" and events[0]["note"] is None
    assert verify_chain(run, events) == []
