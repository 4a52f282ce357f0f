"""Red flags exactly as a supervisor reads them (runs/flags.py), written for mutants `make mutate` found alive
(issue 14): an "x of N" count above its N, a flag after an unanswered step, what each flag and reason says, and a
deviation on a follow-up step marked as one."""
from __future__ import annotations

from donoharm.protocols.loader import load_text
from donoharm.runs.flags import answer_reasons, red_flags
from tests.protocol_factory import signals_yaml

PROTOCOL = load_text(signals_yaml())
STEP = {step.id: step for step in PROTOCOL.steps}


def steps(**answers):
    """The fold's view of every step: done with the given value (underscores for hyphens), else to do."""
    found = {}
    for number, step in enumerate(PROTOCOL.steps):
        key = step.id.replace("-", "_")
        if key in answers:
            found[step.id] = {"status": "done", "value": answers[key], "note": None, "event": f"ev-{number}",
                              "at": f"2026-03-01T10:0{number}:00+00:00"}
        else:
            found[step.id] = {"status": "todo", "value": None, "note": None, "event": None, "at": None}
    return found


def test_every_flag_and_reason_says_what_the_supervisor_reads():
    answers = steps(family_contact_safe="no", placement="police-cell", people_present=3, screened_in_private=5,
                    victims_arrested=1, no_removal_72h="yes")
    deviations = [
        {"id": "dev-1", "step": "placement", "note": "Placed elsewhere.", "at": "2026-03-01T11:00:00+00:00"},
        {"id": "dev-2", "step": "no-removal-72h", "note": "Checked late.", "at": "2026-03-04T11:00:00+00:00"},
        {"id": "dev-3", "step": None, "note": "Whole operation.", "at": "2026-03-01T12:00:00+00:00"},
    ]
    assert red_flags(PROTOCOL, answers, deviations) == [
        {"id": "ev-0", "kind": "answer", "step": "family-contact-safe", "value": "no",
         "reasons": [{"rule": "expected", "expected": "yes"}], "at": "2026-03-01T10:00:00+00:00",
         "follow_up": False},
        {"id": "ev-1", "kind": "answer", "step": "placement", "value": "police-cell",
         "reasons": [{"rule": "equals", "value": "police-cell"}], "at": "2026-03-01T10:01:00+00:00",
         "follow_up": False},
        {"id": "ev-3", "kind": "answer", "step": "screened-in-private", "value": 5,
         "reasons": [{"rule": "of", "of": "people-present", "limit": 3}], "at": "2026-03-01T10:03:00+00:00",
         "follow_up": False},
        {"id": "ev-4", "kind": "answer", "step": "victims-arrested", "value": 1,
         "reasons": [{"rule": "above", "limit": 0}], "at": "2026-03-01T10:04:00+00:00", "follow_up": False},
        {"id": "ev-5", "kind": "answer", "step": "no-removal-72h", "value": "yes",
         "reasons": [{"rule": "expected", "expected": "no"}], "at": "2026-03-01T10:05:00+00:00",
         "follow_up": True},
        {"id": "dev-1", "kind": "deviation", "step": "placement", "note": "Placed elsewhere.",
         "at": "2026-03-01T11:00:00+00:00", "follow_up": False},
        {"id": "dev-2", "kind": "deviation", "step": "no-removal-72h", "note": "Checked late.",
         "at": "2026-03-04T11:00:00+00:00", "follow_up": True},
        {"id": "dev-3", "kind": "deviation", "step": None, "note": "Whole operation.",
         "at": "2026-03-01T12:00:00+00:00", "follow_up": False},
    ]


def test_a_count_above_its_denominator_is_flagged_only_once_the_denominator_is_answered():
    over = red_flags(PROTOCOL, steps(people_present=2, screened_in_private=4, victims_arrested=0), [])
    assert [(f["step"], f["reasons"]) for f in over] == [
        ("screened-in-private", [{"rule": "of", "of": "people-present", "limit": 2}])]
    # Equal to its denominator: no flag; the denominator unanswered: nothing to compare with, no flag.
    assert red_flags(PROTOCOL, steps(people_present=4, screened_in_private=4, victims_arrested=0), []) == []
    assert red_flags(PROTOCOL, steps(screened_in_private=4, victims_arrested=0), []) == []


def test_a_flag_after_an_unanswered_step_is_still_raised():
    """The first steps still to do must not hide a flagged answer further down."""
    flags = red_flags(PROTOCOL, steps(victims_arrested=2), [])
    assert [(f["step"], f["reasons"]) for f in flags] == [("victims-arrested", [{"rule": "above", "limit": 0}])]


def test_an_answer_to_a_count_that_is_not_a_number_is_never_compared_as_one():
    """A yes (a bool is an int in Python) or a text is not a count: no "above" or "of" flag, and no error."""
    assert answer_reasons(STEP["victims-arrested"], True, 0) == []
    assert answer_reasons(STEP["victims-arrested"], "5", 3) == []
    assert answer_reasons(STEP["victims-arrested"], 5, 3) == [{"rule": "above", "limit": 0},
                                                               {"rule": "of", "of": "people-present", "limit": 3}]
