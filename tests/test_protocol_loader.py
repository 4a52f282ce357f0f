"""The protocol format: shipped files, every kind of bad file, the canonical hash."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from donoharm.protocols import ProtocolError, Registry, load_directory, load_file, load_text
from tests.protocol_factory import as_yaml, document

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "protocols").glob("*/*.yaml"))


def problems_of(text: str):
    with pytest.raises(ProtocolError) as caught:
        load_text(text, "upload.yaml")
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line containing needle."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_three_protocols_ship_with_their_versions():
    ids = {path.parent.name for path in SHIPPED}
    # Issue 17 adds a fourth protocol (labour-trafficking) beside the three.
    assert {"social-worker-accompaniment", "immigration-separation", "non-coerced-adults"} <= ids
    versions = sorted(p.stem for p in SHIPPED if p.parent.name == "social-worker-accompaniment")
    # 1.1.1 and 1.1.2 change translations only; 1.2.0 adds red flags, measures and a follow-up;
    # 2.0.0 reshapes it into pause points (issue 17)
    assert versions == ["1.0.0", "1.1.0", "1.1.1", "1.1.2", "1.2.0", "2.0.0"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_protocol_is_valid_and_complete(path):
    protocol = load_file(path, ROOT)
    assert (protocol.id, protocol.version) == (path.parent.name, path.stem)
    # The phases of the operation, then any follow-up phase (answered after approval).
    operation = [phase for phase in protocol.phases if not phase.follow_up]
    assert protocol.phases[:len(operation)] == tuple(operation)
    if any(phase.pause_point for phase in operation):
        # Shaped for the field (issue 17): every phase of the operation is a pause point, read in 60 to 90
        # seconds, with a few killer items.
        for phase in operation:
            assert phase.pause_point and phase.mode and phase.when, phase.id
            assert len(phase.steps) <= 9 and sum(step.critical for step in phase.steps) <= 3, phase.id
    else:
        # The four phases of the operation (1.x versions).
        assert 12 <= sum(len(phase.steps) for phase in operation) <= 25
        assert [phase.id for phase in operation] == ["before", "entry", "during", "after"]
    assert protocol.critical_steps, "every protocol marks its critical steps"
    for step in protocol.steps:
        assert step.sources
        for source in step.sources:
            key = source.split()[0]
            # A source is either a key defined in the protocol or a full citation.
            assert key in protocol.sources or len(source.split()) > 1, (step.id, source)
    assert protocol.changelog


def test_accompaniment_versions_share_step_ids_and_differ():
    old = load_file(ROOT / "protocols/social-worker-accompaniment/1.0.0.yaml", ROOT)
    new = load_file(ROOT / "protocols/social-worker-accompaniment/1.1.0.yaml", ROOT)
    assert old.sha256 != new.sha256
    shared = {s.id for s in old.steps} & {s.id for s in new.steps}
    assert len(shared) >= len(old.steps) - 2


def test_valid_document_loads_with_all_kinds():
    protocol = load_text(as_yaml(document()))
    assert {s.kind for s in protocol.steps} == {"check", "yesno", "count", "time", "choice", "text"}
    assert protocol.step("where").option_ids() == ("on-site", "staging-area")
    assert [s.id for s in protocol.critical_steps] == ["agreement", "briefing", "where"]


def test_not_yaml_reports_its_line():
    text = "id: x\nversion: 1.0.0\ntitle: [unclosed\n"
    (problem,) = problems_of(text)
    assert problem.line in (3, 4)
    assert "not valid YAML" in problem.message
    assert str(problem).startswith("upload.yaml:")


def test_missing_field_is_reported_on_its_parent():
    doc = document()
    del doc["phases"][1]["steps"][0]["kind"]
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "missing required field 'kind'"
    assert problem.line == line_of(text, "id: screened")


def test_missing_top_level_field():
    doc = document()
    del doc["title"]
    (problem,) = problems_of(as_yaml(doc))
    assert problem.message == "missing required field 'title'"
    assert problem.line == 1


def test_unknown_kind_names_the_allowed_kinds_and_line():
    doc = document()
    doc["phases"][0]["steps"][1]["kind"] = "signature"
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert "unknown step kind 'signature'" in problem.message
    assert "check, yesno, count, time, choice, text" in problem.message
    assert problem.line == line_of(text, "kind: signature")


def test_duplicate_step_id_across_phases():
    doc = document()
    doc["phases"][1]["steps"][0]["id"] = "agreement"
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "step id 'agreement' is used twice"
    assert problem.line == [i for i, row in enumerate(text.splitlines(), 1) if "id: agreement" in row][1]


def test_choice_without_options():
    doc = document()
    del doc["phases"][1]["steps"][2]["options"]
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "a choice step needs 'options' (at least two)"
    assert problem.line == line_of(text, "id: where")


def test_options_on_a_step_that_is_not_a_choice():
    doc = document()
    doc["phases"][0]["steps"][1]["options"] = [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "'options' is only allowed on choice steps"
    assert problem.line == line_of(text, "options:")


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-beta"])
def test_invalid_version_string(version):
    text = as_yaml(document(version=version))
    (problem,) = problems_of(text)
    assert "must look like 1.0.0" in problem.message
    assert problem.line == line_of(text, "version:")


def test_version_written_as_a_number_is_explained():
    text = as_yaml(document()).replace("version: 1.0.0", "version: 1.0")
    (problem,) = problems_of(text)
    assert "'version' must be text" in problem.message


def test_too_long_text_gives_its_length_and_limit():
    doc = document()
    doc["phases"][1]["steps"][3]["text"] = "x" * 501
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "'text' is too long (501 characters; at most 500)"
    assert problem.line == line_of(text, "xxxxx")


def test_unknown_field_points_at_the_field():
    doc = document()
    doc["phases"][0]["steps"][0]["colour"] = "red"
    text = as_yaml(doc)
    (problem,) = problems_of(text)
    assert problem.message == "unknown field 'colour'"
    assert problem.line == line_of(text, "colour:")


def test_duplicate_yaml_key():
    text = as_yaml(document()).replace("title: Test protocol", "title: Test protocol\ntitle: Again", 1)
    (problem,) = problems_of(text)
    assert problem.message == "field 'title' appears twice"
    assert problem.line == line_of(text, "title: Again")


def test_aliases_are_refused():
    text = as_yaml(document()) + "extra: &a [1]\nmore: *a\n"
    (problem,) = problems_of(text)
    assert "aliases" in problem.message


def test_several_problems_are_all_reported_in_line_order():
    doc = document(version="one")
    doc["phases"][0]["steps"][1]["kind"] = "nope"
    problems = problems_of(as_yaml(doc))
    assert len(problems) == 2
    assert problems[0].line < problems[1].line


def test_file_named_for_another_version_is_refused(tmp_path):
    path = tmp_path / "test-protocol" / "2.0.0.yaml"
    path.parent.mkdir()
    path.write_text(as_yaml(document()))
    with pytest.raises(ProtocolError) as caught:
        load_file(path)
    assert "named for test-protocol 2.0.0 but contains test-protocol 1.0.0" in str(caught.value)


def test_hash_ignores_key_order_and_whitespace():
    doc = document()
    plain = load_text(as_yaml(doc))
    reordered = load_text(yaml.safe_dump(doc, sort_keys=True, indent=4, width=40))
    flow = load_text(yaml.safe_dump(doc, default_flow_style=True))
    assert plain.sha256 == reordered.sha256 == flow.sha256


@pytest.mark.parametrize("change", [
    lambda d: d.update(title="Test protocol!"),
    lambda d: d["phases"][0]["steps"][0].update(text="Agreement confirmed in writing?"),
    lambda d: d["phases"][1]["steps"][2]["options"][0].update(label="On-site"),
    lambda d: d["phases"][0]["steps"][1].update(critical=False),
])
def test_hash_changes_when_any_content_changes(change):
    doc = document()
    before = load_text(as_yaml(doc)).sha256
    change(doc)
    assert load_text(as_yaml(doc)).sha256 != before


def test_registry_refuses_different_content_under_one_version_naming_both(tmp_path):
    for folder, title in (("a", "First"), ("b", "Second")):
        path = tmp_path / folder / "test-protocol" / "1.0.0.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(as_yaml(document(title=title)))
    registry = Registry()
    registry.add(load_file(tmp_path / "a/test-protocol/1.0.0.yaml"))
    with pytest.raises(ProtocolError) as caught:
        registry.add(load_file(tmp_path / "b/test-protocol/1.0.0.yaml"))
    message = str(caught.value)
    assert "a/test-protocol/1.0.0.yaml" in message and "b/test-protocol/1.0.0.yaml" in message


def test_invalid_file_is_left_out_and_others_load(tmp_path):
    good = tmp_path / "protocols" / "test-protocol" / "1.0.0.yaml"
    bad = tmp_path / "protocols" / "broken" / "1.0.0.yaml"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text(as_yaml(document()))
    bad.write_text("id: broken\nversion: [\n")
    registry, problems = load_directory(tmp_path / "protocols")
    assert [p.id for p in registry.all()] == ["test-protocol"]
    assert problems and problems[0].source == "protocols/broken/1.0.0.yaml"


def test_current_is_newest_unless_retired():
    registry = Registry()
    for version in ("1.0.0", "1.10.0", "1.2.0"):
        registry.add(load_text(as_yaml(document(version=version))))
    assert registry.current("test-protocol").version == "1.10.0"
    registry.set_lifecycle({}, [("test-protocol", "1.10.0")])
    assert registry.current("test-protocol").version == "1.2.0"
    assert registry.status(registry.get("test-protocol", "1.10.0")) == "retired"


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_protocol_error(text):
    try:
        load_text(text)
    except ProtocolError as error:
        assert error.problems
        assert all(p.line >= 1 for p in error.problems)


@settings(max_examples=200, deadline=None)
@given(yaml_values)
def test_arbitrary_yaml_documents_raise_only_protocol_error(value):
    try:
        load_text(yaml.safe_dump(value))
    except ProtocolError as error:
        assert error.problems


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "version", "title", "kind", "phases", "steps", "text"]),
                       yaml_values, max_size=6))
def test_mutated_documents_raise_only_protocol_error(changes):
    doc = document()
    doc["phases"][0]["steps"][0].update(changes)
    try:
        load_text(as_yaml(doc))
    except ProtocolError as error:
        assert error.problems


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "version", "title", "kind", "text", "options", "guidance", "critical"]),
                       yaml_values, max_size=4),
       st.dictionaries(st.sampled_from(["id", "version", "title", "phases", "languages", "summary"]),
                       yaml_values, max_size=3))
def test_fast_schema_check_agrees_with_the_full_one(step_changes, top_changes):
    """The compiled validator decides whether the slow one runs: were it to pass a document the full schema
    refuses, a broken protocol would load. Both must agree on every document, valid or not."""
    from donoharm.protocols.loader import _FAST_VALIDATOR, _validator

    for doc in (document(), yaml.safe_load(SHIPPED[0].read_text("utf-8"))):
        doc["phases"][0]["steps"][0].update(step_changes)
        doc.update(top_changes)
        data = yaml.safe_load(as_yaml(doc))
        assert _FAST_VALIDATOR.is_valid(data) == (not list(_validator().iter_errors(data)))
