"""The step-by-step comparison of two protocol versions, on hand-made pairs."""
from __future__ import annotations

import copy

from donoharm.protocols import load_text
from donoharm.protocols.diff import compare, redline
from tests.protocol_factory import as_yaml, document


def pair(change):
    """Version 1.0.0 of the test protocol and a 1.1.0 with `change` applied to its document."""
    old = document()
    new = copy.deepcopy(old)
    new["version"] = "1.1.0"
    change(new)
    return load_text(as_yaml(old)), load_text(as_yaml(new))


def steps_of(doc, phase_id):
    return next(p for p in doc["phases"] if p["id"] == phase_id)["steps"]


def test_identical_versions_have_no_changes():
    diff = compare(*pair(lambda doc: None))
    assert diff.empty
    assert diff.to_json()["added"] == diff.to_json()["changed"] == []


def test_added_step():
    def add(doc):
        steps_of(doc, "during").insert(1, {"id": "water", "text": "Water offered?", "kind": "yesno",
                                           "critical": False, "sources": ["S1"]})
    diff = compare(*pair(add))
    assert [s.id for s in diff.added] == ["water"]
    assert diff.added[0].phase_id == "during"
    assert not (diff.removed or diff.changed or diff.moved)


def test_removed_step():
    diff = compare(*pair(lambda doc: steps_of(doc, "during").pop(1)))
    assert [s.id for s in diff.removed] == ["arrival"]
    assert not (diff.added or diff.changed or diff.moved)


def test_step_moved_between_phases_is_matched_by_id():
    def move(doc):
        step = steps_of(doc, "during").pop(0)
        steps_of(doc, "before").append(step)
    diff = compare(*pair(move))
    assert [(c.id, c.old.phase_id, c.new.phase_id) for c in diff.moved] == [("screened", "during", "before")]
    assert not (diff.added or diff.removed or diff.changed)
    assert diff.to_json()["moved"] == [{"id": "screened", "from_phase": "during", "to_phase": "before"}]


def test_changed_text_has_a_word_level_redline():
    def edit(doc):
        steps_of(doc, "before")[1]["text"] = "Whole team briefed on this protocol."
    diff = compare(*pair(edit))
    assert [(c.id, c.fields) for c in diff.changed] == [("briefing", ("text",))]
    segments = [(s.op, s.text) for s in diff.changed[0].redline("text")]
    assert segments == [("delete", "Team "), ("insert", "Whole team "), ("equal", "briefed "),
                        ("insert", "on this protocol"), ("equal", ".")]
    assert "".join(text for op, text in segments if op != "delete") == "Whole team briefed on this protocol."


def test_changed_kind_critical_options_and_guidance():
    def edit(doc):
        before, during = steps_of(doc, "before"), steps_of(doc, "during")
        before[1]["kind"] = "yesno"
        during[0]["critical"] = True
        during[2]["options"].append({"id": "absent", "label": "Not present"})
        during[3]["guidance"] = "Roles only, never names."
    diff = compare(*pair(edit))
    fields = {c.id: c.fields for c in diff.changed}
    assert fields == {"briefing": ("kind",), "screened": ("critical",), "where": ("options",),
                      "debrief": ("guidance",)}
    changes = {c["id"]: c["changes"] for c in diff.to_json()["changed"]}
    assert changes["briefing"]["kind"] == {"from": "check", "to": "yesno"}
    assert changes["screened"]["critical"] == {"from": False, "to": True}
    assert changes["where"]["options"]["to"][-1] == {"id": "absent", "label": "Not present"}
    assert {"op": "insert", "text": ", never names"} in changes["debrief"]["guidance"]["redline"]


def test_moved_and_changed_step_is_listed_in_both():
    def edit(doc):
        step = steps_of(doc, "before").pop(0)
        step["text"] = "Written agreement confirmed?"
        steps_of(doc, "during").insert(0, step)
    diff = compare(*pair(edit))
    assert [c.id for c in diff.moved] == ["agreement"]
    assert [(c.id, c.fields) for c in diff.changed] == [("agreement", ("text",))]


def test_redline_keeps_every_character_of_both_texts():
    old, new = "Keep the person  informed, always.", "Keep each person informed (in their language)."
    segments = redline(old, new)
    assert "".join(s.text for s in segments if s.op != "delete") == new
    assert {s.op for s in segments} == {"equal", "delete", "insert"}
    assert redline("same words", "same words") == [type(segments[0])("equal", "same words")]
