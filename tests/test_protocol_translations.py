"""Protocol translations: texts only, structure fixed, fallback to the original language."""
from __future__ import annotations

import pytest

from donoharm.protocols import ProtocolError, load_text
from tests.protocol_factory import as_yaml, document

SPANISH = {
    "title": "Protocolo de prueba",
    "phases": {"before": {"title": "Antes"}},
    "steps": {
        "agreement": {"text": "¿Acuerdo confirmado?"},
        "where": {"text": "¿Dónde estaba la trabajadora social?", "options": {"on-site": "En el lugar"}},
    },
}


def test_translated_texts_replace_the_original_and_keep_structure():
    protocol = load_text(as_yaml(document(translations={"es": SPANISH})))
    spanish = protocol.in_language("es")
    assert spanish.language == "es" and spanish.title == "Protocolo de prueba"
    assert spanish.phases[0].title == "Antes" and spanish.phases[1].title == "During"
    assert spanish.step("agreement").text == "¿Acuerdo confirmado?"
    assert spanish.step("briefing").text == "Team briefed."  # untranslated step keeps the original
    assert [o.label for o in spanish.step("where").options] == ["En el lugar", "Staging area"]
    assert [s.id for s in spanish.steps] == [s.id for s in protocol.steps]
    assert [s.critical for s in spanish.steps] == [s.critical for s in protocol.steps]
    assert spanish.sha256 == protocol.sha256
    assert protocol.languages == ("en", "es")


@pytest.mark.parametrize("wanted", ["es-419", "es-MX"])
def test_regional_tags_fall_back_to_the_language(wanted):
    protocol = load_text(as_yaml(document(translations={"es": SPANISH})))
    assert protocol.in_language(wanted).language == "es"


@pytest.mark.parametrize("wanted", ["km", "xx", None, ""])
def test_missing_translation_falls_back_to_the_original(wanted):
    protocol = load_text(as_yaml(document(translations={"es": SPANISH})))
    assert protocol.in_language(wanted) is protocol


def test_the_hash_covers_every_language():
    plain = load_text(as_yaml(document(translations={"es": SPANISH})))
    changed = load_text(as_yaml(document(translations={"es": {**SPANISH, "title": "Otro título"}})))
    assert plain.sha256 != changed.sha256


@pytest.mark.parametrize("translation,message,needle", [
    ({"steps": {"agreement": {"kind": "count"}}}, "unknown field 'kind'", "kind: count"),
    ({"steps": {"agreement": {"critical": False}}}, "unknown field 'critical'", "critical: false"),
    ({"steps": {"no-such-step": {"text": "x"}}}, "names step 'no-such-step'", "no-such-step:"),
    ({"phases": {"later": {"title": "x"}}}, "names phase 'later'", "later:"),
    ({"steps": {"where": {"options": {"elsewhere": "x"}}}}, "names option 'elsewhere'", "elsewhere:"),
])
def test_a_translation_that_changes_structure_is_an_error_with_its_line(translation, message, needle):
    text = as_yaml(document(translations={"es": translation}))
    with pytest.raises(ProtocolError) as caught:
        load_text(text)
    (problem,) = caught.value.problems
    assert message in problem.message
    start = text.splitlines().index("translations:")
    assert problem.line == next(i for i, row in enumerate(text.splitlines(), 1) if i > start and needle in row)


def test_translating_into_the_original_language_is_an_error():
    with pytest.raises(ProtocolError) as caught:
        load_text(as_yaml(document(translations={"en": {"title": "Again"}})))
    assert "own language" in str(caught.value)
