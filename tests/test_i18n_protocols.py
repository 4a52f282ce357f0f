"""The shipped protocols in Spanish and Khmer: new patch versions that change texts only."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from donoharm.protocols import load_file

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [("immigration-separation", "1.0.0", "1.0.1"), ("non-coerced-adults", "1.0.0", "1.0.1"),
              ("social-worker-accompaniment", "1.1.0", "1.1.1")]
KHMER = re.compile("[\u1780-\u17ff]")
LATIN_WORD = re.compile(r"[A-Za-z]{4,}")


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


@pytest.mark.parametrize("pid,before,after", TRANSLATED)
@pytest.mark.parametrize("language", ["es", "km"])
def test_every_text_is_translated(pid, before, after, language):
    protocol = load_file(ROOT / f"protocols/{pid}/{after}.yaml", ROOT)
    translated = protocol.in_language(language)
    assert translated.language == language
    pairs = list(zip(texts(protocol), texts(translated), strict=True))
    untranslated = [original for original, text in pairs if original == text]
    assert not untranslated
    if language == "km":
        # Real Khmer script, not transliteration: Latin words appear only in names and source keys.
        for _, text in pairs:
            assert KHMER.search(text), text
            assert len(KHMER.findall(text)) > 3 * len("".join(LATIN_WORD.findall(text))), text



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
