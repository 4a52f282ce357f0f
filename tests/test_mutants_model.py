"""Protocol objects exactly as built from a document (protocols/model.py), written for mutants `make mutate`
found alive (issue 14): every field a step and a phase carry, translated texts with their fallbacks, option
labels, and the protocol hash as published (sha256 of the canonical JSON, which anyone can re-compute)."""
from __future__ import annotations

import hashlib

import pytest

from donoharm.protocols.model import Option, Phase, Step, build_protocol, canonical_json, sha256_of

DOCUMENT = {
    "id": "model-test", "version": "1.0.0", "title": "Model test", "summary": "Only for tests.", "language": "en",
    "sources": {"S1": "A test source"},
    "phases": [
        {"id": "brief", "title": "Briefing", "pause_point": True, "mode": "read-do", "when": "Before leaving.",
         "steps": [
             {"id": "roles", "text": "Roles named?", "kind": "yesno", "critical": True, "expected": "yes",
              "guidance": "Roles only, never names.", "sources": ["S1"], "disclosure": "internal"},
             {"id": "place", "text": "Where?", "kind": "choice", "critical": False, "sources": ["S1"],
              "options": [{"id": "shelter", "label": "Shelter"}, {"id": "cell", "label": "Police cell"}],
              "flag_when": {"equals": "cell"}},
         ]},
        {"id": "during", "title": "During", "steps": [
            {"id": "present", "text": "How many present?", "kind": "count", "critical": True, "sources": ["S1"],
             "measure": "people-present"},
            {"id": "arrested", "text": "How many arrested?", "kind": "count", "critical": False, "sources": ["S1"],
             "measure": "arrested", "of": "present", "flag_when": {"above": 0}},
            {"id": "colour", "text": "Which colours?", "kind": "choice", "critical": False, "sources": ["S1"],
             "options": [{"id": "red", "label": "Red"}, {"id": "blue", "label": "Blue"}],
             "flag_when": {"equals": ["red", "blue"]}},
        ]},
        {"id": "after", "title": "After", "follow_up": {"due_after": "3d"}, "steps": [
            {"id": "safe", "text": "Still safe?", "kind": "check", "critical": False, "sources": ["S1"]},
        ]},
    ],
}


def test_every_field_of_every_step_and_phase_is_built_from_the_document():
    protocol = build_protocol(DOCUMENT, source="model-test/1.0.0.yaml")
    roles = Step("roles", "Roles named?", "yesno", True, ("S1",), guidance="Roles only, never names.",
                 expected="yes", phase_id="brief", disclosure="internal")
    place = Step("place", "Where?", "choice", False, ("S1",),
                 options=(Option("shelter", "Shelter"), Option("cell", "Police cell")), phase_id="brief",
                 flag_equals=("cell",))
    present = Step("present", "How many present?", "count", True, ("S1",), phase_id="during",
                   measure="people-present")
    arrested = Step("arrested", "How many arrested?", "count", False, ("S1",), phase_id="during", flag_above=0,
                    measure="arrested", of="present")
    colour = Step("colour", "Which colours?", "choice", False, ("S1",),
                  options=(Option("red", "Red"), Option("blue", "Blue")), phase_id="during",
                  flag_equals=("red", "blue"))
    safe = Step("safe", "Still safe?", "check", False, ("S1",), phase_id="after", follow_up=True)
    assert protocol.phases == (
        Phase("brief", "Briefing", (roles, place), pause_point=True, mode="read-do", when="Before leaving."),
        Phase("during", "During", (present, arrested, colour)),
        Phase("after", "After", (safe,), due_after_hours=72),
    )
    # Defaults are the empty text and False, never None: pages print them and test them as booleans.
    during = protocol.phases[1]
    assert during.pause_point is False and during.when == "" and during.mode is None
    assert present.guidance == "" and protocol.step("present").guidance == ""
    assert protocol.step("present").follow_up is False and protocol.step("safe").follow_up is True
    assert (protocol.id, protocol.version, protocol.title, protocol.summary, protocol.language) == (
        "model-test", "1.0.0", "Model test", "Only for tests.", "en")
    assert protocol.changelog == ""  # none in the document
    assert dict(protocol.sources) == {"S1": "A test source"} and protocol.source == "model-test/1.0.0.yaml"


def test_an_option_label_is_found_by_its_id_and_an_unknown_id_shows_as_itself():
    place = build_protocol(DOCUMENT).step("place")
    assert place.option_label("cell") == "Police cell"
    assert place.option_label("shelter") == "Shelter"
    assert place.option_label("gone") == "gone"


def test_the_hash_is_sha256_of_the_canonical_json_anyone_can_recompute():
    assert canonical_json({"b": "é", "a": [1, {"d": None, "c": True}]}) == '{"a":[1,{"c":true,"d":null}],"b":"é"}'
    expected = hashlib.sha256('{"a":[1,2],"b":"é"}'.encode()).hexdigest()
    assert sha256_of({"b": "é", "a": [1, 2]}) == expected
    assert build_protocol(DOCUMENT).sha256 == hashlib.sha256(canonical_json(DOCUMENT).encode("utf-8")).hexdigest()


FRENCH = {
    "title": "Test du modèle", "summary": "Pour les tests.", "changelog": "Première version.",
    "phases": {"brief": {"title": "Briefing FR", "when": "Avant de partir."}, "during": {"title": "Pendant"}},
    "steps": {"roles": {"text": "Rôles nommés ?", "guidance": "Des rôles, jamais de noms."},
              "place": {"text": "Où ?", "options": {"cell": "Cellule de police"}}},
}


@pytest.fixture
def translated():
    return build_protocol({**DOCUMENT, "changelog": "First version.", "translations": {"fr": FRENCH}})


def test_every_translated_text_replaces_the_original(translated):
    french = translated.in_language("fr")
    assert (french.language, french.title, french.summary, french.changelog) == (
        "fr", "Test du modèle", "Pour les tests.", "Première version.")
    brief = french.phases[0]
    assert (brief.title, brief.when) == ("Briefing FR", "Avant de partir.")
    roles = french.step("roles")
    assert (roles.text, roles.guidance) == ("Rôles nommés ?", "Des rôles, jamais de noms.")
    assert french.step("place").options == (Option("shelter", "Shelter"), Option("cell", "Cellule de police"))


def test_a_text_without_translation_keeps_the_original(translated):
    partial = build_protocol({**DOCUMENT, "changelog": "First version.",
                              "translations": {"fr": {"steps": {"roles": {"text": "Rôles nommés ?"}}}}})
    french = partial.in_language("fr-CA")
    assert (french.language, french.title, french.summary, french.changelog) == (
        "fr", "Model test", "Only for tests.", "First version.")
    assert (french.phases[0].title, french.phases[0].when) == ("Briefing", "Before leaving.")
    assert (french.step("roles").text, french.step("roles").guidance) == ("Rôles nommés ?", "Roles only, never names.")
    assert french.step("place").options == (Option("shelter", "Shelter"), Option("cell", "Police cell"))
    assert translated.in_language("fr").phases[1].when == ""  # "during" has no `when` in either language


def test_a_protocol_with_no_translations_is_shown_in_its_own_language():
    protocol = build_protocol(DOCUMENT)
    assert protocol.in_language("fr") is protocol
    assert protocol.in_language(None) is protocol
    assert protocol.languages == ("en",)


def test_a_translation_of_titles_only_keeps_every_step_and_phase_text():
    protocol = build_protocol({**DOCUMENT, "translations": {"fr": {"title": "Test du modèle"}}})
    french = protocol.in_language("fr")
    assert french.title == "Test du modèle" and french.language == "fr"
    assert [s.text for s in french.steps] == [s.text for s in protocol.steps]
    assert [p.title for p in french.phases] == [p.title for p in protocol.phases]


def test_a_protocol_is_published_as_its_document_with_its_hash():
    protocol = build_protocol(DOCUMENT)
    assert protocol.to_json() == {**DOCUMENT, "sha256": sha256_of(DOCUMENT)}


def test_a_document_without_sources_or_a_source_path_builds():
    """The schema does not require `sources`; a protocol built from text has no file behind it."""
    bare = {key: value for key, value in DOCUMENT.items() if key != "sources"}
    protocol = build_protocol(bare)
    assert dict(protocol.sources) == {} and protocol.source == ""
