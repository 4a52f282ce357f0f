"""The upload preview warns when a step's text changed but its translation did not (issue 17.5)."""
from __future__ import annotations

import copy

from donoharm.protocols.diff import stale_translations
from donoharm.protocols.loader import load_text
from tests.conftest import csrf_from, login
from tests.protocol_factory import as_yaml, document

TRANSLATED = document(translations={"es": {"steps": {
    "agreement": {"text": "¿Acuerdo confirmado?"},
    "briefing": {"text": "Equipo informado.", "guidance": "Solo funciones."},
}}})
TRANSLATED["phases"][0]["steps"][1]["guidance"] = "Roles only."


def changed(step_text=None, guidance=None, translation=None, version="1.1.0"):
    doc = copy.deepcopy(TRANSLATED)
    doc["version"] = version
    steps = doc["phases"][0]["steps"]
    if step_text:
        steps[0]["text"] = step_text
    if guidance:
        steps[1]["guidance"] = guidance
    if translation:
        doc["translations"]["es"]["steps"]["agreement"]["text"] = translation
    return doc


def test_a_changed_text_with_the_same_translation_is_stale_and_an_updated_one_is_not():
    old = load_text(as_yaml(TRANSLATED))
    stale = stale_translations(old, load_text(as_yaml(changed(step_text="Agreement confirmed in writing?"))))
    assert [(s.step.id, s.language, s.field) for s in stale] == [("agreement", "es", "text")]
    updated = changed(step_text="Agreement confirmed in writing?", translation="¿Acuerdo confirmado por escrito?")
    assert stale_translations(old, load_text(as_yaml(updated))) == []
    assert stale_translations(old, load_text(as_yaml(changed()))) == []  # nothing changed in the original
    stale = stale_translations(old, load_text(as_yaml(changed(guidance="Roles and times only."))))
    assert [(s.step.id, s.field) for s in stale] == [("briefing", "guidance")]


def test_the_preview_names_the_language_and_step_and_still_allows_publishing(app, client, users):
    login(client, "trainer")
    token = csrf_from(client, "/protocols/new")
    first = client.post("/protocols/new", data={"csrf_token": token, "text": as_yaml(TRANSLATED)})
    assert first.status_code == 200
    publish = client.post("/protocols/new/publish", data={"csrf_token": csrf_from(client, "/protocols/new"),
                                                          "payload": _payload(first), "make_current": "y"})
    assert publish.status_code == 302
    page = client.post("/protocols/new", data={"csrf_token": token,
                                               "text": as_yaml(changed(step_text="Agreement confirmed in writing?"))})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="stale-translations"' in html
    assert "Spanish text may be out of date:" in html and 'data-step="agreement"' in html
    assert 'data-step="briefing"' not in html
    assert "Publish 1.1.0" in html
    same = client.post("/protocols/new", data={"csrf_token": token, "text": as_yaml(changed(
        step_text="Agreement confirmed in writing?", translation="¿Acuerdo confirmado por escrito?"))})
    assert 'id="stale-translations"' not in same.get_data(as_text=True)


def _payload(response) -> str:
    import re

    return re.search(r'name="payload" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
