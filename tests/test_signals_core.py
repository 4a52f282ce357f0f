"""Red flags, follow-ups and measures in the pure core: the rules, the fold and validation."""
from __future__ import annotations

import pytest

from donoharm.protocols.loader import load_text
from donoharm.runs import EventError
from donoharm.runs.flags import answer_reasons
from donoharm.runs.summary import contribution, summarise
from tests.conftest import attestation, event, expected_answer
from tests.protocol_factory import document, signals_yaml
from tests.test_run_core import SUP, append, make_run

PROTOCOL = load_text(signals_yaml())
STEP = {step.id: step for step in PROTOCOL.steps}


def run_answers(**values):
    """Answers to every step before the follow-up, raising no flag unless a value is given."""
    return [event("step.set", s.id, values.get(s.id.replace("-", "_"), expected_answer(s)))
            for s in PROTOCOL.steps if not s.follow_up]


def submitted(**values):
    run = make_run(PROTOCOL)
    submission = attestation()
    submission["at"] = "2026-03-01T10:00:00+02:00"
    events, state = append(run, PROTOCOL, [], run_answers(**values) + [submission])
    return run, events, state


@pytest.mark.parametrize("step_id, value, rules", [
    ("family-contact-safe", "yes", []),
    ("family-contact-safe", "no", ["expected"]),
    ("placement", "shelter", []),
    ("placement", "police-cell", ["equals"]),
    ("victims-arrested", 0, []),
    ("victims-arrested", 1, ["above"]),
])
def test_each_rule_flags_only_the_answers_it_names(step_id, value, rules):
    assert [reason["rule"] for reason in answer_reasons(STEP[step_id], value)] == rules


def test_a_count_above_its_denominator_is_flagged_and_equal_is_not():
    step = STEP["screened-in-private"]
    assert answer_reasons(step, 10, 10) == []
    assert answer_reasons(step, 11, 10) == [{"rule": "of", "of": "people-present", "limit": 10}]
    assert answer_reasons(step, 11, None) == []  # the denominator is not answered yet


def test_flag_when_equals_takes_a_list_of_options():
    doc = document()
    where = doc["phases"][1]["steps"][2]
    where["flag_when"] = {"equals": ["on-site", "staging-area"]}
    protocol = load_text(signals_yaml(phases=doc["phases"]))
    step = protocol.step("where")
    assert step.flag_equals == ("on-site", "staging-area")
    assert answer_reasons(step, "staging-area")[0]["rule"] == "equals"


def test_flags_are_named_by_the_event_that_raised_them():
    run, events, state = submitted(family_contact_safe="no", victims_arrested=2)
    by_step = {flag["step"]: flag for flag in state.red_flags()}
    answer_ids = {e["step"]: e["id"] for e in events if e["type"] == "step.set"}
    assert set(by_step) == {"family-contact-safe", "victims-arrested"}
    assert by_step["family-contact-safe"]["id"] == answer_ids["family-contact-safe"]
    assert [r["rule"] for r in by_step["victims-arrested"]["reasons"]] == ["above"]
    assert state.to_json()["red_flags"] == state.red_flags()


def test_a_changed_answer_is_a_new_flag_and_a_corrected_one_none():
    run = make_run(PROTOCOL)
    first = event("step.set", "family-contact-safe", "no")
    events, state = append(run, PROTOCOL, [], [first])
    assert [f["id"] for f in state.red_flags()] == [first["id"]]
    again = event("step.set", "family-contact-safe", "no")
    events, state = append(run, PROTOCOL, events, [again])
    assert [f["id"] for f in state.red_flags()] == [again["id"]]
    events, state = append(run, PROTOCOL, events, [event("step.set", "family-contact-safe", "yes")])
    assert state.red_flags() == []
    events, state = append(run, PROTOCOL, events, [event("step.na", "family-contact-safe", note="Not asked")])
    assert state.red_flags() == []


def test_every_deviation_is_a_red_flag_after_the_answers():
    run, events, state = submitted(placement="police-cell")
    run2 = make_run(PROTOCOL)
    deviation = event("deviation", "people-present", note="Count made late")
    events, state = append(run2, PROTOCOL, [], run_answers(placement="police-cell") + [deviation])
    assert [(f["kind"], f["step"]) for f in state.red_flags()] == [("answer", "placement"),
                                                                    ("deviation", "people-present")]
    assert state.red_flags()[1]["id"] == deviation["id"]


def test_approval_must_acknowledge_every_red_flag():
    run, events, state = submitted(family_contact_safe="no")
    flag_id = state.red_flags()[0]["id"]
    with pytest.raises(EventError) as caught:
        append(run, PROTOCOL, events, [event("review.approved", value={"acknowledged": []})], SUP)
    assert caught.value.code == "red_flags_unacknowledged"
    assert [f["step"] for f in caught.value.details["flags"]] == ["family-contact-safe"]
    with pytest.raises(EventError) as caught:
        append(run, PROTOCOL, events, [event("review.approved", value={"acknowledged": [flag_id, "nonsense"]})], SUP)
    assert caught.value.code == "invalid_value"
    _events, state = append(run, PROTOCOL, events, [event("review.approved", value={"acknowledged": [flag_id]})], SUP)
    assert state.status == "follow_up"


def test_follow_ups_are_due_from_the_first_submission_and_close_the_run():
    run, events, state = submitted()
    [follow_up] = state.follow_ups()
    assert follow_up["due_at"] == "2026-03-04T08:00:00Z"  # 72 hours after 10:00 at UTC+2
    assert follow_up["open"] == ["no-removal-72h", "services-reachable"] and follow_up["done_at"] is None
    events, state = append(run, PROTOCOL, events, [event("review.approved")], SUP)
    assert state.status == "follow_up"
    late = event("step.set", "no-removal-72h", "no")
    late["at"] = "2026-03-05T09:00:00Z"
    events, state = append(run, PROTOCOL, events, [late])
    assert state.status == "follow_up" and state.open_follow_up_steps() == ["services-reachable"]
    events, state = append(run, PROTOCOL, events, [event("step.na", "services-reachable", note="Closed")])
    assert state.status == "closed"
    [follow_up] = state.follow_ups()
    assert follow_up["on_time"] is False and follow_up["done_at"] >= "2026-03-05T09:00:00Z"
    with pytest.raises(EventError) as caught:
        append(run, PROTOCOL, events, [event("note", "services-reachable", note="One more")])
    assert caught.value.code == "run_locked"


def test_a_follow_up_done_exactly_when_due_is_on_time():
    run, events, state = submitted()
    events, state = append(run, PROTOCOL, events, [event("review.approved")], SUP)
    answers = [event("step.set", "no-removal-72h", "no"), event("step.set", "services-reachable", True)]
    for answer in answers:
        answer["at"] = "2026-03-04T08:00:00Z"
    _events, state = append(run, PROTOCOL, events, answers)
    assert state.follow_ups()[0]["on_time"] is True


def test_after_approval_only_follow_up_steps_change():
    run, events, state = submitted()
    events, state = append(run, PROTOCOL, events, [event("review.approved")], SUP)
    for refused in (event("step.set", "people-present", 5), event("note", note="Whole operation"),
                    event("step.cleared", "no-removal-72h"), attestation()):
        with pytest.raises(EventError) as caught:
            append(run, PROTOCOL, events, [refused])
        assert caught.value.code == "follow_up_only"
    _events, state = append(run, PROTOCOL, events, [event("deviation", "no-removal-72h", note="Asked late"),
                                                    event("note", "services-reachable", note="Phoned")])
    assert state.status == "follow_up"


def test_follow_ups_answered_before_approval_close_the_run_at_approval():
    run = make_run(PROTOCOL)
    answers = [event("step.set", s.id, expected_answer(s)) for s in PROTOCOL.steps]
    events, state = append(run, PROTOCOL, [], answers + [attestation()])
    _events, state = append(run, PROTOCOL, events, [event("review.approved")], SUP)
    assert state.status == "closed"


def test_a_protocol_without_follow_ups_is_approved_as_before():
    protocol = load_text(signals_yaml(phases=document()["phases"]))
    run = make_run(protocol)
    answers = [event("step.set", s.id, expected_answer(s)) for s in protocol.steps]
    events, state = append(run, protocol, [], answers + [attestation()])
    _events, state = append(run, protocol, events, [event("review.approved")], SUP)
    assert state.status == "approved"


def test_measures_and_what_a_run_adds_to_oversight():
    run, events, state = submitted(people_present=10, screened_in_private=7, victims_arrested=2)
    assert state.measures() == {"people-present": (10, None), "people-screened-in-private": (7, 10),
                                "potential-victims-arrested": (2, 10)}
    run_figures, steps, measures = contribution(summarise({**run, "created_at": "2026-03-01T08:00:00Z"}, state))
    assert run_figures["flags"] == 1 and run_figures["flagged_runs"] == 1
    assert steps["victims-arrested"]["flagged"] == 1 and steps["placement"]["flagged"] == 0
    assert measures["people-screened-in-private"] == {"runs": 1, "total": 7, "paired_runs": 1, "paired_total": 7,
                                                      "paired_of_total": 10}
    assert measures["people-present"]["paired_runs"] == 0


def test_a_practice_or_unsubmitted_run_adds_no_step_or_measure_figures():
    run = make_run(PROTOCOL, mode="practice")
    _events, state = append(run, PROTOCOL, [], run_answers() + [attestation()])
    assert contribution(summarise(run, state)) == ({}, {}, {})
    run = make_run(PROTOCOL)
    _events, state = append(run, PROTOCOL, [], run_answers(family_contact_safe="no"))
    run_figures, steps, measures = contribution(summarise(run, state))
    assert run_figures["flags"] == 0 and steps == {} and measures == {}
