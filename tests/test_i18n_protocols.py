"""The shipped protocols in other languages: new patch versions that change texts only. Spanish and Khmer came
in the first patch versions; the next ones correct them and add French and Thai."""
from __future__ import annotations

import html
import re
import uuid
from pathlib import Path

import pytest

from donoharm.protocols import load_file
from donoharm.protocols.model import version_key

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [("immigration-separation", "1.0.0", "1.0.1"), ("non-coerced-adults", "1.0.0", "1.0.1"),
              ("social-worker-accompaniment", "1.1.0", "1.1.1")]
# The versions that correct the Spanish and Khmer texts and add French and Thai.
CORRECTED = [("immigration-separation", "1.0.1", "1.0.2"), ("non-coerced-adults", "1.0.1", "1.0.2"),
             ("social-worker-accompaniment", "1.1.1", "1.1.2")]
# The versions that add red flags, measures and follow-ups, in every language: the latest of each protocol.
SIGNALLED = [("immigration-separation", "1.0.2", "1.1.0"), ("non-coerced-adults", "1.0.2", "1.1.0"),
             ("social-worker-accompaniment", "1.1.2", "1.2.0")]
# The versions reshaped into pause points (issue 17), in every language.
FIELD_SHAPED = [("non-coerced-adults", "1.1.0", "2.0.0"), ("social-worker-accompaniment", "1.2.0", "2.0.0"),
                ("immigration-separation", "1.1.0", "2.0.0"),
                ("labour-trafficking", None, "1.0.0")]  # a new protocol (issue 17): no version before it
ALL_LANGUAGES = ("en", "es", "fr", "km", "th")
KHMER = re.compile("[\u1780-\u17ff]")
THAI = re.compile("[\u0e00-\u0e7f]")
SCRIPTS = {"km": KHMER, "th": THAI}
LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
# Each language's changelog says its texts are drafts awaiting a native speaker, as the catalogues do.
DRAFT_NOTE = {"es": "borradores pendientes de revisión por hablantes nativos",
              "fr": "brouillons en attente de relecture par des locuteurs natifs",
              "km": "សេចក្តីព្រាងដែលកំពុងរង់ចាំការពិនិត្យដោយអ្នកនិយាយភាសាកំណើត",
              "th": "ฉบับร่างที่รอเจ้าของภาษาตรวจทาน"}


def structure(protocol):
    """Everything a run records or checks, without the texts."""
    return [(p.id, [(s.id, s.kind, s.critical, s.expected, s.option_ids(), s.sources) for s in p.steps])
            for p in protocol.phases]


def texts(protocol):
    """Every translatable text of a version, in reading order."""
    yield protocol.title
    yield protocol.summary
    yield protocol.changelog
    for phase in protocol.phases:
        yield phase.title
        for step in phase.steps:
            yield step.text
            if step.guidance:
                yield step.guidance
            yield from (option.label for option in step.options)


@pytest.mark.parametrize("pid,before,after", TRANSLATED)
def test_translated_version_keeps_every_step_of_the_version_it_follows(pid, before, after):
    old = load_file(ROOT / f"protocols/{pid}/{before}.yaml", ROOT)
    new = load_file(ROOT / f"protocols/{pid}/{after}.yaml", ROOT)
    assert structure(new) == structure(old)
    assert [s.text for s in new.steps] == [s.text for s in old.steps]  # the English is unchanged
    assert new.sha256 != old.sha256
    assert new.languages == ("en", "es", "km")
    assert "Spanish and Khmer" in new.changelog and "drafts" in new.changelog


@pytest.mark.parametrize("pid,before,after", CORRECTED)
def test_corrected_version_keeps_every_step_and_adds_french_and_thai(pid, before, after):
    old = load_file(ROOT / f"protocols/{pid}/{before}.yaml", ROOT)
    new = load_file(ROOT / f"protocols/{pid}/{after}.yaml", ROOT)
    assert structure(new) == structure(old)
    assert [s.text for s in new.steps] == [s.text for s in old.steps]  # the English is unchanged
    assert (new.title, new.summary) == (old.title, old.summary)
    assert new.sha256 != old.sha256
    assert new.languages == ALL_LANGUAGES
    assert "French and Thai" in new.changelog and "drafts" in new.changelog
    for language, note in DRAFT_NOTE.items():
        assert note in new.in_language(language).changelog, language


@pytest.mark.parametrize("pid,before,after", TRANSLATED + CORRECTED + SIGNALLED + FIELD_SHAPED)
@pytest.mark.parametrize("language", ["es", "fr", "km", "th"])
def test_every_text_is_translated(pid, before, after, language):
    """Every title, step text, guidance and option label of the version, in the language's own words."""
    protocol = load_file(ROOT / f"protocols/{pid}/{after}.yaml", ROOT)
    if (pid, before, after) in TRANSLATED and language in ("fr", "th"):
        assert language not in protocol.languages  # published without them; the next version adds them
        return
    translated = protocol.in_language(language)
    assert translated.language == language
    pairs = list(zip(texts(protocol), texts(translated), strict=True))
    untranslated = [original for original, text in pairs if original == text]
    assert not untranslated
    step_texts = protocol.document["translations"][language]["steps"]
    assert set(step_texts) == {s.id for s in protocol.steps}  # every step has its own entry...
    for step in protocol.steps:  # ... with its text, its guidance and every option
        own = step_texts[step.id]
        assert own.get("text") and bool(own.get("guidance")) == bool(step.guidance), step.id
        assert set(own.get("options", {})) == set(step.option_ids()), step.id
    if language in SCRIPTS:
        # Real Khmer or Thai script, not transliteration: Latin words appear only in names and source keys.
        script = SCRIPTS[language]
        for _, text in pairs:
            assert script.search(text), text
            assert len(script.findall(text)) > 3 * len("".join(LATIN_WORD.findall(text))), text


@pytest.mark.parametrize("pid", [pid for pid, _, _ in SIGNALLED])
def test_the_latest_version_is_current_so_new_runs_get_every_language(app, pid):
    newest = max((ROOT / "protocols" / pid).glob("*.yaml"), key=lambda path: version_key(path.stem)).stem
    current = app.extensions["donoharm.registry"].current(pid)
    assert current.version == newest
    assert current.languages == ALL_LANGUAGES


@pytest.mark.parametrize("language", ["es", "fr", "km", "th"])
@pytest.mark.parametrize("pid", [pid for pid, _, _ in CORRECTED])
def test_a_run_in_the_language_shows_every_step_in_it(app, api, pid, language):
    """An accompanier who starts a run in their language reads every step, option and guidance in it."""
    acc = api("acc")
    protocol = app.extensions["donoharm.registry"].current(pid)
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={"protocol_id": pid, "protocol_version": protocol.version,
                                                      "label": "OP-TEST-001", "mode": "practice",
                                                      "language": language})
    assert response.status_code == 201, response.get_json()
    page = html.unescape(acc.get(f"/runs/{run_id}").get_data(as_text=True))
    shown = protocol.in_language(language)
    for original, step in zip(protocol.steps, shown.steps, strict=True):
        assert step.text in page and original.text not in page, step.id
        assert all(o.label in page for o in step.options), step.id
        if step.guidance:
            assert step.guidance in page and original.guidance not in page, step.id
    assert shown.title in page



def test_protocol_page_reads_in_the_readers_language_with_the_others_a_tap_away(client):
    page = client.get("/protocols/immigration-separation/1.0.1", headers={"Accept-Language": "km"})
    html = page.get_data(as_text=True)
    protocol = load_file(ROOT / "protocols/immigration-separation/1.0.1.yaml", ROOT)
    assert protocol.in_language("km").title in html and protocol.title not in html
    assert protocol.sha256 in html  # the same version, whatever the language
    assert 'lang="es">Español</a>' in html and 'lang="km" aria-current="page">ខ្មែរ</a>' in html
    spanish = client.get("/protocols/immigration-separation/1.0.1?lang=es", headers={"Accept-Language": "km"})
    assert protocol.in_language("es").steps[0].text in spanish.get_data(as_text=True)
    assert "no translation" not in html


def test_a_version_without_the_readers_language_says_so_and_shows_the_original(client):
    html = client.get("/protocols/immigration-separation/1.0.0", headers={"Accept-Language": "es"}).get_data(
        as_text=True)
    original = load_file(ROOT / "protocols/immigration-separation/1.0.0.yaml", ROOT)
    assert original.steps[0].text.split()[0] in html and original.title in html
    assert "se muestra en su idioma original" in html
    # The English steps are marked as English, so a screen reader reads them with an English voice.
    assert f'<span lang="en">{original.steps[0].text}</span>' in html
    english = client.get("/protocols/immigration-separation/1.0.0").get_data(as_text=True)
    assert 'role="note"' not in english


@pytest.mark.parametrize("language", ["fr", "th"])
@pytest.mark.parametrize("pid,before,after", CORRECTED + SIGNALLED + FIELD_SHAPED)
def test_french_and_thai_readers_see_the_latest_version_in_their_language(client, pid, before, after, language):
    page = html.unescape(client.get(f"/protocols/{pid}/{after}", headers={"Accept-Language": language})
                         .get_data(as_text=True))
    protocol = load_file(ROOT / f"protocols/{pid}/{after}.yaml", ROOT)
    shown = protocol.in_language(language)
    assert shown.title in page and protocol.title not in page
    assert all(step.text in page for step in shown.steps)
    assert 'role="note"' not in page  # no "shown in its original language" notice
