"""Harm signals in protocol files (issue 16): a wrong `flag_when`, `measure`, `of` or `follow_up` is a validation
error that says what is wrong, on the line of the offending field; and the shipped versions that use the signals
(immigration-separation 1.1.0, non-coerced-adults 1.1.0, social-worker-accompaniment 1.2.0) carry the flags,
measures and follow-ups their files and changelogs describe."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from donoharm.protocols import ProtocolError, load_file
from donoharm.protocols.loader import load_text
from donoharm.runs.flags import answer_reasons
from tests.protocol_factory import SIGNALS, as_yaml, document, signals_yaml

ROOT = Path(__file__).resolve().parents[1]


def step_change(step_id: str, **fields):
    """signals_yaml with fields of one step replaced (a value of None removes the field)."""
    phases = copy.deepcopy(SIGNALS["phases"])
    step = next(s for phase in phases for s in phase["steps"] if s["id"] == step_id)
    for name, value in fields.items():
        if value is None:
            step.pop(name, None)
        else:
            step[name] = value
    return signals_yaml(phases=phases)


def phase_change(phase_id: str, **fields):
    phases = copy.deepcopy(SIGNALS["phases"])
    phase = next(p for p in phases if p["id"] == phase_id)
    phase.update(fields)
    return signals_yaml(phases=phases)


def only_problem(text: str):
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "upload.yaml")
    problems = caught.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def line_of(text: str, needle: str, after: str) -> int:
    """The 1-based line of the first line holding `needle` at or below the line holding `after`."""
    rows = text.splitlines()
    start = next(i for i, row in enumerate(rows) if after in row)
    return next(i for i, row in enumerate(rows[start:], start + 1) if needle in row)


# (case, YAML text, words the message must hold, the line's anchor, the offending field's line).
CASES = [
    # Wrong types and shapes, caught by the schema.
    ("flag_when is not a mapping", step_change("placement", flag_when=True),
     "'flag_when' must be a mapping such as {above: 0}", "id: placement", "flag_when: true"),
    ("above is not a number", step_change("victims-arrested", flag_when={"above": "many"}),
     "'above' must be a whole number, not str 'many'", "id: victims-arrested", "above: many"),
    ("above is a fraction", step_change("victims-arrested", flag_when={"above": 0.5}),
     "'above' must be a whole number", "id: victims-arrested", "above: 0.5"),
    ("above is negative", step_change("victims-arrested", flag_when={"above": -1}),
     "'above' must be 0 or more (got -1)", "id: victims-arrested", "above: -1"),
    ("equals is a number", step_change("placement", flag_when={"equals": 5}),
     "'equals' must be an option id or a list of option ids", "id: placement", "equals: 5"),
    ("flag_when is empty", step_change("victims-arrested", flag_when={}),
     "'flag_when' takes exactly one of: equals (choice steps), above (count steps)", "id: victims-arrested",
     "flag_when: {}"),
    ("flag_when holds both rules", step_change("victims-arrested", flag_when={"above": 0, "equals": "shelter"}),
     "'flag_when' takes exactly one of", "id: victims-arrested", "flag_when:"),
    ("flag_when holds an unknown rule", step_change("victims-arrested", flag_when={"below": 3}),
     "unknown field 'below'", "id: victims-arrested", "below: 3"),
    ("measure is a number", step_change("people-present", measure=5),
     "'measure' must be text, not int 5", "id: people-present", "measure: 5"),
    ("measure is not a slug", step_change("people-present", measure="People present"),
     "measure 'People present' may use only lowercase letters, digits and single hyphens", "id: people-present",
     "measure: People present"),
    ("of is a number", step_change("screened-in-private", of=5),
     "'of' must be text, not int 5", "id: screened-in-private", "of: 5"),
    ("follow_up is not a mapping", phase_change("follow-up", follow_up="72h"),
     "'follow_up' must be a mapping such as {due_after: 72h}, not str '72h'", "id: follow-up", "follow_up: 72h"),
    ("due_after is in weeks", phase_change("follow-up", follow_up={"due_after": "3 weeks"}),
     "due_after '3 weeks' must be a whole number of hours or days, from 1, followed by h or d, such as 72h or 14d",
     "id: follow-up", "due_after: 3 weeks"),
    ("due_after has no unit", phase_change("follow-up", follow_up={"due_after": 72}),
     "due_after 72 must be a whole number of hours or days", "id: follow-up", "due_after: 72"),
    ("due_after is zero", phase_change("follow-up", follow_up={"due_after": "0h"}),
     "due_after '0h' must be a whole number of hours or days, from 1", "id: follow-up", "due_after: 0h"),
    ("follow_up has no due_after", phase_change("follow-up", follow_up={}),
     "missing required field 'due_after'", "id: follow-up", "follow_up: {}"),
    ("follow_up holds an unknown field", phase_change("follow-up", follow_up={"due_after": "72h", "remind": "24h"}),
     "unknown field 'remind'", "id: follow-up", "remind: 24h"),
    # Signals that do not fit their step or name what does not exist, caught after the schema.
    ("equals on a count step", step_change("people-present", flag_when={"equals": "shelter"}),
     "'flag_when: equals' is for choice steps; 'people-present' is a count step", "id: people-present",
     "equals: shelter"),
    ("equals names an option the step lacks", step_change("placement", flag_when={"equals": "prison"}),
     "'flag_when' names option 'prison', which step 'placement' does not have", "id: placement", "equals: prison"),
    ("a listed option the step lacks", step_change("placement", flag_when={"equals": ["police-cell", "prison"]}),
     "'flag_when' names option 'prison', which step 'placement' does not have", "id: placement", "- prison"),
    ("above on a choice step", step_change("placement", flag_when={"above": 0}),
     "'flag_when: above' is for count steps; 'placement' is a choice step", "id: placement", "above: 0"),
    ("above on a yes/no step", step_change("family-contact-safe", flag_when={"above": 0}),
     "'flag_when: above' is for count steps; 'family-contact-safe' is a yesno step", "id: family-contact-safe",
     "above: 0"),
    ("of names a missing step", step_change("screened-in-private", of="people-found"),
     "'of' names step 'people-found', which the protocol does not have", "id: screened-in-private",
     "of: people-found"),
    ("of names a step that is not a count", step_change("screened-in-private", of="placement"),
     "'of' names step 'placement', a choice step; the denominator must be a count step", "id: screened-in-private",
     "of: placement"),
    ("of names its own step", step_change("screened-in-private", of="screened-in-private"),
     "'of' names step 'screened-in-private' itself; a count cannot be its own denominator",
     "id: screened-in-private", "of: screened-in-private"),
    ("measure on a choice step", step_change("placement", measure="placements"),
     "'measure' is only allowed on count steps; 'placement' is a choice step", "id: placement",
     "measure: placements"),
    ("of on a yes/no step", step_change("family-contact-safe", of="people-present"),
     "'of' is only allowed on count steps; 'family-contact-safe' is a yesno step", "id: family-contact-safe",
     "of: people-present"),
    ("a measure used twice", step_change("victims-arrested", measure="people-present"),
     "measure 'people-present' is already reported by step 'people-present'", "id: victims-arrested",
     "measure: people-present"),
    ("a critical step in a follow-up phase", step_change("no-removal-72h", critical=True),
     "step 'no-removal-72h' is critical, but a follow-up phase is answered after submission and cannot hold a "
     "critical step", "id: no-removal-72h", "critical: true"),
]


@pytest.mark.parametrize("text,message,anchor,needle", [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_a_wrong_signal_is_an_error_on_the_line_of_its_field(text, message, anchor, needle):
    problem = only_problem(text)
    assert message in problem.message
    assert problem.line == line_of(text, needle, after=anchor), (problem, needle)
    assert problem.source == "upload.yaml"


def test_flag_when_yes_as_a_trainer_might_write_it():
    """YAML reads a bare yes as true: the message shows what was read and what the field should look like."""
    text = step_change("placement", flag_when=True).replace("flag_when: true", "flag_when: yes")
    problem = only_problem(text)
    assert problem.message.startswith("'flag_when' must be a mapping such as {above: 0} (count steps) or "
                                      "{equals: option-id} (choice steps), not bool True")
    assert problem.line == line_of(text, "flag_when: yes", after="id: placement")


def test_signals_on_the_plain_test_protocol_are_checked_too():
    """A protocol without any signal (the factory's BASE) gets the same checks when one is added."""
    doc = document()
    doc["phases"][1]["steps"][3]["measure"] = "debriefs"  # a text step
    text = as_yaml(doc)
    problem = only_problem(text)
    assert problem.message == "'measure' is only allowed on count steps; 'debrief' is a text step"
    assert problem.line == line_of(text, "measure: debriefs", after="id: debrief")


def test_every_wrong_signal_in_one_file_is_reported_at_once():
    """A trainer fixes a file in one pass: each fault of the same stage gets its own line."""
    phases = copy.deepcopy(SIGNALS["phases"])
    steps = {s["id"]: s for phase in phases for s in phase["steps"]}
    steps["placement"]["flag_when"] = {"equals": "prison"}
    steps["screened-in-private"]["of"] = "placement"
    steps["victims-arrested"]["measure"] = "people-present"
    steps["no-removal-72h"]["critical"] = True
    text = signals_yaml(phases=phases)
    with pytest.raises(ProtocolError) as caught:
        load_text(text)
    lines = [p.line for p in caught.value.problems]
    assert lines == [line_of(text, "equals: prison", "id: placement"),
                     line_of(text, "of: placement", "id: screened-in-private"),
                     line_of(text, "measure: people-present", "id: victims-arrested"),
                     line_of(text, "critical: true", "id: no-removal-72h")]


# --- The shipped versions that use the signals ---

def shipped(pid: str, version: str):
    return load_file(ROOT / "protocols" / pid / f"{version}.yaml", ROOT)


NEW = [("immigration-separation", "1.0.2", "1.1.0"), ("non-coerced-adults", "1.0.2", "1.1.0"),
       ("social-worker-accompaniment", "1.1.2", "1.2.0")]
# What each new version adds: steps, the steps made non-critical (a follow-up phase holds no critical step).
ADDED = {"social-worker-accompaniment": {"people-present", "first-follow-up-took-place"}}
NO_LONGER_CRITICAL = {"immigration-separation": {"no-custody-or-removal-72-hours", "best-interests-before-return"}}


@pytest.mark.parametrize("pid,before,after", NEW)
def test_new_version_keeps_every_step_of_the_one_before(pid, before, after):
    old, new = shipped(pid, before), shipped(pid, after)
    assert {s.id for s in new.steps} == {s.id for s in old.steps} | ADDED.get(pid, set())
    for step in old.steps:
        now = new.step(step.id)
        assert (now.kind, now.expected, now.option_ids()) == (step.kind, step.expected, step.option_ids()), step.id
        assert now.critical == (step.critical and step.id not in NO_LONGER_CRITICAL.get(pid, set())), step.id
    assert (new.title, new.summary) == (old.title, old.summary)
    assert new.languages == old.languages == ("en", "es", "fr", "km", "th")
    assert "drafts awaiting review by native speakers" in new.changelog


@pytest.mark.parametrize("pid,version,follow_ups,measures,flags", [
    ("immigration-separation", "1.1.0",
     {"follow-up": (72, ["no-custody-or-removal-72-hours", "best-interests-before-return",
                         "total-foreign-nationals-removed"])},
     {"potential-victims-arrested": ("arrests-objected-to", None),
      "foreign-nationals-present": ("total-foreign-nationals-present", None),
      "foreign-nationals-screened": ("total-foreign-nationals-screened", "total-foreign-nationals-present"),
      "foreign-nationals-identified": ("total-foreign-nationals-identified", "total-foreign-nationals-screened"),
      "foreign-nationals-detained": ("total-foreign-nationals-detained", "total-foreign-nationals-present"),
      "foreign-nationals-removed": ("total-foreign-nationals-removed", "total-foreign-nationals-present")},
     {"arrests-objected-to": 0, "total-foreign-nationals-detained": 0}),
    ("non-coerced-adults", "1.1.0",
     {"follow-up": (14 * 24, ["services-still-reachable"])},
     {"people-present": ("total-adults-present", None),
      "people-screened-in-private": ("private-coercion-question", "total-adults-present"),
      "potential-victims-arrested": ("arrests-with-indicators-flagged", "total-adults-present"),
      "people-arrested": ("total-adults-arrested", "total-adults-present"),
      "people-referred": ("total-adults-referred", "total-adults-present"),
      "misconduct-incidents": ("total-misconduct-incidents", None)},
     {"arrests-with-indicators-flagged": 0, "total-misconduct-incidents": 0}),
    ("social-worker-accompaniment", "1.2.0",
     {"follow-up": (14 * 24, ["first-follow-up-took-place"])},
     {"people-present": ("people-present", None),
      "people-informed": ("people-told-what-happens", "people-present"),
      "people-screened-in-private": ("individual-private-screening", "people-present"),
      "people-offered-services": ("services-offered-to-all", "people-present")},
     {}),
])
def test_shipped_signals_are_what_the_file_says(pid, version, follow_ups, measures, flags):
    protocol = shipped(pid, version)
    assert {p.id: (p.due_after_hours, [s.id for s in p.steps]) for p in protocol.follow_up_phases} == follow_ups
    assert protocol.phases[-1].follow_up  # answered last, after the operation's own phases
    assert not any(s.critical for p in protocol.follow_up_phases for s in p.steps)
    assert {s.measure: (s.id, s.of) for s in protocol.steps if s.measure} == measures
    assert {s.id: s.flag_above for s in protocol.steps if s.flag_above is not None} == flags
    assert not any(s.flag_equals for s in protocol.steps)  # no choice answer is in itself a sign of harm


def test_the_new_accompaniment_counts_people_once_on_entry():
    protocol = shipped("social-worker-accompaniment", "1.2.0")
    entry = next(p for p in protocol.phases if p.id == "entry")
    ids = [s.id for s in entry.steps]
    assert ids.index("people-present") + 1 == ids.index("people-told-what-happens")
    assert protocol.step("people-present").text == "How many people were found in the venue?"
    follow_up = protocol.step("first-follow-up-took-place")
    assert (follow_up.kind, follow_up.expected, follow_up.critical) == ("yesno", "yes", False)


@pytest.mark.parametrize("pid,version,step_id,value,denominator,rule", [
    ("immigration-separation", "1.1.0", "total-foreign-nationals-detained", 1, 9, "above"),
    ("immigration-separation", "1.1.0", "arrests-objected-to", 2, None, "above"),
    ("immigration-separation", "1.1.0", "no-custody-or-removal-72-hours", "yes", None, "expected"),
    ("immigration-separation", "1.1.0", "total-foreign-nationals-removed", 5, 4, "of"),
    ("non-coerced-adults", "1.1.0", "total-misconduct-incidents", 1, None, "above"),
    ("non-coerced-adults", "1.1.0", "private-coercion-question", 7, 6, "of"),
    ("social-worker-accompaniment", "1.2.0", "first-follow-up-took-place", "no", None, "expected"),
    ("social-worker-accompaniment", "1.2.0", "services-offered-to-all", 4, 3, "of"),
])
def test_a_harmful_answer_to_a_shipped_step_is_a_red_flag(pid, version, step_id, value, denominator, rule):
    step = shipped(pid, version).step(step_id)
    assert [reason["rule"] for reason in answer_reasons(step, value, denominator)] == [rule]
    harmless = {"above": 0, "expected": step.expected, "of": denominator}[rule]
    assert answer_reasons(step, harmless, denominator) == []


def test_follow_up_phases_come_last_and_never_alone():
    doc = copy.deepcopy(SIGNALS)
    doc["phases"].reverse()
    text = as_yaml(doc)
    problem = only_problem(text)
    assert problem.message == "follow-up phase 'follow-up' comes before phase 'during'; put follow-up phases last"
    assert problem.line == line_of(text, "follow_up:", after="id: follow-up")
    doc = copy.deepcopy(SIGNALS)
    doc["phases"] = doc["phases"][1:]
    problem = only_problem(as_yaml(doc))
    assert problem.message.startswith("every phase is a follow-up; a protocol needs at least one phase")
