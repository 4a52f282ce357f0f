"""The pure core: event validation, state fold, completion rule and hash chain."""
from __future__ import annotations

import copy
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from donoharm.protocols import load_directory
from donoharm.runs import Actor, EventError, RunState, fold, genesis_hash, normalise, seal, validate, verify_chain
from tests.conftest import attestation, complete_answers, event

ROOT = Path(__file__).resolve().parent.parent
REGISTRY, _ = load_directory(ROOT / "protocols")
PROTOCOLS = REGISTRY.all()
ACC = Actor("acc", "accompanier")
SUP = Actor("sup", "supervisor")


def make_run(protocol, mode="live"):
    run = {"id": str(uuid.uuid4()), "protocol_id": protocol.id, "protocol_version": protocol.version,
           "protocol_sha256": protocol.sha256, "label": "OP-TEST-001", "mode": mode, "created_by": "acc",
           "created_at": "2026-01-01T10:00:00Z"}
    return run


def append(run, protocol, stored, raw_events, actor=ACC):
    """Validate and seal events as the service does, without a database."""
    state = fold(protocol, run["created_by"], run["mode"], stored)
    head = stored[-1]["hash"] if stored else genesis_hash(run)
    out = list(stored)
    for raw in raw_events:
        ev = validate(normalise(raw, run["id"]), protocol, state, actor)
        sealed = seal({**ev.client_fields(), "run": run["id"], "received_at": "2026-01-01T10:05:00Z",
                       "actor": actor.username, "seq": len(out) + 1}, head)
        head = sealed["hash"]
        state.apply(sealed)
        out.append(sealed)
    return out, state


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"{p.id}-{p.version}")
def test_complete_run_is_submittable(protocol):
    run = make_run(protocol)
    events, state = append(run, protocol, [], complete_answers(protocol) + [attestation()])
    assert state.status == "submitted"
    assert verify_chain(run, events) == []


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: f"{p.id}-{p.version}")
def test_removing_any_critical_answer_blocks_submission(protocol):
    run = make_run(protocol)
    for critical in protocol.critical_steps:
        answers = [e for e in complete_answers(protocol) if e["step"] != critical.id]
        events, state = append(run, protocol, [], answers)
        with pytest.raises(EventError) as caught:
            append(run, protocol, events, [attestation()])
        assert caught.value.code == "incomplete"
        assert caught.value.details == {"missing_steps": [critical.id]}


@pytest.mark.parametrize("cover", [
    lambda step: event("step.na", step, note="No lawyer was available in the province."),
    lambda step: event("deviation", step, note="The police lead refused; recorded by role."),
])
def test_na_with_reason_or_deviation_covers_a_critical_step(cover):
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    critical = protocol.critical_steps[0]
    answers = [e for e in complete_answers(protocol) if e["step"] != critical.id]
    run = make_run(protocol)
    events, state = append(run, protocol, [], answers + [cover(critical.id), attestation()])
    assert state.status == "submitted"


def test_na_needs_a_reason():
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    with pytest.raises(EventError) as caught:
        append(make_run(protocol), protocol, [], [event("step.na", protocol.steps[0].id)])
    assert caught.value.code == "reason_required"


@pytest.mark.parametrize("kind,bad", [
    ("count", -1), ("count", "3"), ("count", 2.5), ("count", True), ("yesno", True), ("yesno", "maybe"),
    ("check", False), ("time", "25:00"), ("time", "9:30"), ("choice", "nowhere"), ("text", "   "),
    ("text", "x" * 2001),
])
def test_values_are_checked_against_the_step_kind(kind, bad):
    protocol = next(p for p in PROTOCOLS if any(s.kind == kind for s in p.steps))
    step = next(s for s in protocol.steps if s.kind == kind)
    with pytest.raises(EventError) as caught:
        append(make_run(protocol), protocol, [], [event("step.set", step.id, bad)])
    assert caught.value.code in ("invalid_value", "too_long")


@pytest.mark.parametrize("raw,code", [
    ("not an object", "invalid_event"),
    ({"id": "123", "type": "note", "note": "x", "at": "2026-01-01T10:00:00Z"}, "invalid_id"),
    ({"id": str(uuid.uuid4()), "type": "step.delete", "at": "2026-01-01T10:00:00Z"}, "unknown_type"),
    ({"id": str(uuid.uuid4()), "type": "note", "note": "x", "at": "yesterday"}, "invalid_time"),
    ({"id": str(uuid.uuid4()), "type": "note", "note": "x", "at": "2026-01-01T10:00:00"}, "invalid_time"),
    ({"id": str(uuid.uuid4()), "type": "note", "note": "x" * 2001, "at": "2026-01-01T10:00:00Z"}, "too_long"),
    ({"id": str(uuid.uuid4()), "type": "note", "note": "x", "at": "2026-01-01T10:00:00Z", "name": "A"},
     "invalid_event"),
])
def test_malformed_events_are_refused(raw, code):
    with pytest.raises(EventError) as caught:
        normalise(raw, str(uuid.uuid4()))
    assert caught.value.code == code


def test_unknown_step_is_refused():
    protocol = PROTOCOLS[0]
    with pytest.raises(EventError) as caught:
        append(make_run(protocol), protocol, [], [event("step.set", "no-such-step", True)])
    assert caught.value.code == "unknown_step"


def test_submitted_run_accepts_only_review_and_review_rules():
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    run = make_run(protocol)
    events, state = append(run, protocol, [], complete_answers(protocol)
                           + [event("deviation", note="Arrived late."), attestation()])
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("note", note="one more thing")])
    assert caught.value.code == "run_submitted"
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("review.approved", value={"acknowledged": []})], SUP)
    assert caught.value.code == "red_flags_unacknowledged"
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("review.returned")], SUP)
    assert caught.value.code == "comment_required"
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("review.returned", note="x")], Actor("acc", "supervisor"))
    assert caught.value.code == "four_eyes"
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("review.returned", note="x")], Actor("t", "trainer"))
    assert caught.value.code == "forbidden"
    deviation_id = state.deviations[0]["id"]
    events, state = append(run, protocol, events,
                           [event("review.approved", value={"acknowledged": [deviation_id]})], SUP)
    assert state.status == "approved"
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("note", note="late")])
    assert caught.value.code == "run_locked"


def test_return_and_resubmit_cycle():
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    run = make_run(protocol)
    events, _ = append(run, protocol, [], complete_answers(protocol) + [attestation()])
    events, state = append(run, protocol, events, [event("review.returned", note="Add the handover time.")], SUP)
    assert state.status == "returned"
    events, state = append(run, protocol, events, [event("note", note="Handover at 23:10."), attestation()])
    assert state.status == "submitted"
    assert [r["decision"] for r in state.reviews] == ["returned"]


def test_practice_runs_are_not_reviewed():
    protocol = PROTOCOLS[0]
    run = make_run(protocol, mode="practice")
    events, _ = append(run, protocol, [], complete_answers(protocol) + [attestation()])
    with pytest.raises(EventError) as caught:
        append(run, protocol, events, [event("review.returned", note="x")], SUP)
    assert caught.value.code == "practice_run"


def test_other_users_cannot_change_a_run():
    protocol = PROTOCOLS[0]
    with pytest.raises(EventError) as caught:
        append(make_run(protocol), protocol, [], [event("note", note="x")], Actor("acc2", "accompanier"))
    assert caught.value.code == "forbidden"


def test_unexpected_yesno_answers_are_flagged():
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    step = next(s for s in protocol.steps if s.expected)
    other = "no" if step.expected == "yes" else "yes"
    _, state = append(make_run(protocol), protocol, [], [event("step.set", step.id, other)])
    assert state.unexpected_answers() == [step.id]


# Property tests over random sequences of valid events.
PROTOCOL = REGISTRY.get("social-worker-accompaniment", "1.1.0")
SAMPLES = {"check": [True], "yesno": ["yes", "no"], "count": [0, 1, 12], "time": ["00:00", "23:59"],
           "text": ["Done."]}


@st.composite
def event_lists(draw):
    events = []
    for _ in range(draw(st.integers(1, 25))):
        step = draw(st.sampled_from(PROTOCOL.steps))
        kind = draw(st.sampled_from(["step.set", "step.cleared", "step.na", "note", "deviation"]))
        if kind == "step.set":
            values = list(step.option_ids()) if step.kind == "choice" else SAMPLES[step.kind]
            events.append(event(kind, step.id, draw(st.sampled_from(values))))
        elif kind == "step.cleared":
            events.append(event(kind, step.id))
        else:
            events.append(event(kind, step.id, note="reason"))
    return events


@settings(max_examples=60, deadline=None)
@given(event_lists())
def test_fold_is_deterministic(raw):
    run = make_run(PROTOCOL)
    events, state = append(run, PROTOCOL, [], raw)
    again = fold(PROTOCOL, "acc", "live", copy.deepcopy(events))
    assert again.to_json() == state.to_json()


@settings(max_examples=60, deadline=None)
@given(event_lists(), st.data())
def test_any_tampered_event_breaks_the_chain(raw, data):
    run = make_run(PROTOCOL)
    events, _ = append(run, PROTOCOL, [], raw)
    assert verify_chain(run, events) == []
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(["note", "value", "at", "step", "actor", "type", "received_at"]))
    tampered = copy.deepcopy(events)
    tampered[index][field] = "tampered"
    assert verify_chain(run, tampered)
    dropped = events[:index] + events[index + 1:]
    if index < len(events) - 1:
        assert verify_chain(run, dropped)
    header = {**run, "label": "OP-TEST-002"}
    assert verify_chain(header, events)


def test_the_answer_made_last_wins_whichever_arrives_last():
    """Two phones answer one step: the later-made answer is the step's answer; the other stays in the chain."""
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    step = next(s for s in protocol.steps if s.kind == "yesno")
    run = make_run(protocol)
    made_later = {**event("step.set", step.id, "no"), "at": "2026-01-01T10:05:00.500Z"}
    made_earlier = {**event("step.set", step.id, "yes"), "at": "2026-01-01T10:05:00.200+00:00"}
    events, state = append(run, protocol, [], [made_later, made_earlier])
    assert state.steps[step.id]["value"] == "no" and state.steps[step.id]["event"] == made_later["id"]
    assert [s["event"] for s in state.superseded] == [made_earlier["id"]]
    assert state.superseded[0]["by"] == made_later["id"]
    assert verify_chain(run, events) == [] and len(events) == 2
    # A later clearing or not-applicable still wins over an earlier answer, in either order.
    cleared = {**event("step.cleared", step.id), "at": "2026-01-01T10:06:00Z"}
    _events, state = append(run, protocol, events, [cleared])
    assert state.steps[step.id]["status"] == "todo"


@settings(max_examples=60, deadline=None)
@given(event_lists(), st.data())
def test_a_state_resumed_from_its_snapshot_validates_and_summarises_as_the_whole_fold(raw, data):
    """Appends resume the state from a JSON snapshot instead of re-folding the run (run_service): whatever point
    the snapshot was taken at, what the rest of the run adds up to is what the whole fold says."""
    import json

    run = make_run(PROTOCOL)
    events, whole = append(run, PROTOCOL, [], raw)
    cut = data.draw(st.integers(0, len(events)))
    snapshot = json.loads(json.dumps(fold(PROTOCOL, "acc", "live", events[:cut]).snapshot()))
    resumed = RunState.resume(PROTOCOL, "acc", "live", snapshot)
    for stored in events[cut:]:
        resumed.apply(stored)
    assert json.loads(json.dumps(resumed.snapshot())) == json.loads(json.dumps(whole.snapshot()))
    assert (resumed.status, resumed.counts(), resumed.missing_critical(), resumed.red_flags(),
            resumed.follow_ups(), resumed.measures()) == \
        (whole.status, whole.counts(), whole.missing_critical(), whole.red_flags(), whole.follow_ups(),
         whole.measures())
    with pytest.raises(ValueError):  # it cannot pass for the whole run: it holds no notes
        resumed.to_json()
