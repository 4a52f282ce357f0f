"""The hash chain's published formulas (runs/chain.py, README "How the seal survives"), written for mutants
`make mutate` found alive (issue 14). Anyone may re-compute a run's hashes from the formulas: a commitment is
sha256(salt + canonical JSON of {"note", "value"}), an event's hash sha256(prev_hash + canonical JSON of its
hashed fields). Each expected value here is computed from the formula alone, not by the code under test."""
from __future__ import annotations

import hashlib
import json

from donoharm.runs.chain import (
    COMMITTED_EVENT_FIELDS,
    HASHED_EVENT_FIELDS,
    commit_texts,
    event_hash,
    hashed_body,
    text_commitment,
    text_problem,
)

SALT = "00112233445566778899aabbccddeeff"
PREV = "ab" * 32


def canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer(**changes):
    event = {"id": "ev-1", "run": "run-1", "type": "step.set", "step": "debrief", "value": "Roles agreed.",
             "note": "Team lead only.", "at": "2026-03-01T10:00:00+00:00", "received_at": "2026-03-01T10:00:01+00:00",
             "actor": "u-1", "seq": 4}
    return {**event, **changes}


def test_a_commitment_covers_the_note_and_a_free_text_value_under_their_names():
    text = answer(value_is_text=True)
    assert text_commitment(SALT, text) == sha256(SALT + '{"note":"Team lead only.","value":"Roles agreed."}')
    # A value that is not free text (a choice, a count) is not a text: it stays in the hash in the clear.
    choice = answer(value="on-site", value_is_text=False)
    assert text_commitment(SALT, choice) == sha256(SALT + '{"note":"Team lead only.","value":null}')


def test_a_committed_event_is_hashed_over_its_commitment_with_its_texts_left_out():
    event = answer(value_is_text=1, text_confirmed=0, text_commitment="c" * 64, text_salt=SALT)
    body = hashed_body(event)
    expected = {field: event.get(field) for field in COMMITTED_EVENT_FIELDS}
    expected.update(note=None, value=None, value_is_text=True, text_confirmed=False)
    assert body == expected
    assert body["value_is_text"] is True and body["text_confirmed"] is False  # booleans, as JSON true/false
    assert event_hash(PREV, event) == sha256(PREV + canonical(expected))
    # A choice keeps its value in the hash; only the note is replaced by the commitment.
    choice = answer(value="on-site", value_is_text=False, text_confirmed=True, text_commitment="d" * 64)
    assert hashed_body(choice)["value"] == "on-site" and hashed_body(choice)["note"] is None
    assert hashed_body(choice)["value_is_text"] is False and hashed_body(choice)["text_confirmed"] is True


def test_an_event_sealed_before_commitments_is_hashed_over_its_fields_as_before():
    event = answer()
    assert hashed_body(event) == {field: event[field] for field in HASHED_EVENT_FIELDS}
    assert event_hash(PREV, event) == sha256(PREV + canonical({field: event[field] for field in HASHED_EVENT_FIELDS}))


def test_sealing_texts_adds_a_fresh_128_bit_salt_and_a_boolean_confirmation():
    event = answer()
    first, second = commit_texts(event, value_is_text=True), commit_texts(event, value_is_text=True)
    assert len(first["text_salt"]) == 32 and int(first["text_salt"], 16) >= 0
    assert first["text_salt"] != second["text_salt"]
    assert first["text_commitment"] == sha256(first["text_salt"] + '{"note":"Team lead only.","value":"Roles agreed."}')
    assert first["text_confirmed"] is False and first["value_is_text"] is True
    assert commit_texts(answer(text_confirmed=1), value_is_text=False)["text_confirmed"] is True


def test_a_text_that_does_not_match_its_seal_is_named_for_what_happened():
    sealed = commit_texts(answer(), value_is_text=True)
    assert text_problem(sealed) is None
    assert text_problem({**sealed, "note": "Another note."}) == "holds a text other than the one sealed"
    put_back = {**sealed, "text_salt": None}
    assert text_problem(put_back) == "has a text but no salt: a text was put back after a redaction"
    redacted = {**sealed, "text_salt": None, "note": None, "value": None}
    assert text_problem(redacted) is None


def test_the_head_of_a_chain_is_its_last_event_or_the_header_for_an_empty_run():
    from donoharm.runs.chain import genesis_hash, head_hash

    run = {"id": "run-1", "protocol_id": "p", "protocol_version": "1.0.0", "protocol_sha256": "a" * 64,
           "label": "OP-TEST-001", "mode": "live", "created_by": "u-1", "created_at": "2026-03-01T09:00:00+00:00"}
    assert head_hash(run, []) == genesis_hash(run) == sha256(canonical(run))
    events = [{"hash": "1" * 64}, {"hash": "2" * 64}, {"hash": "3" * 64}]
    assert head_hash(run, events) == "3" * 64
