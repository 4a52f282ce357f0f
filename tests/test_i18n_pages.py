"""Every page in every shipped language, for each role: it renders, says its language, and leaves no
interface text in English (a string someone forgot to mark for translation shows up here)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from tests.browser import make_sample_runs, page_paths
from tests.conftest import login
from tests.test_i18n_catalogues import CATALOGUES

ROLES = [None, "acc", "sup", "trainer", "admin"]
# Words that are data or names, not interface text: they stay as they are in every language.
KEEP = ["Do No Harm", "OP-TEST-001", "OP-TEST-002", "Handover as agreed.", "Test Accompanier", "English",
        "Español", "Français", "protocols check", "sha256", "SHA-256", "YAML", "PDF", "CSV", "SVG", "PEM", "QR",
        "HH:MM", "audit-record.json", "pdfsig", ".yaml", "OP-2026-014", "YYYY-MM-DD", "HIV", "UTF-8", "KB", "MB"]


class Texts(HTMLParser):
    """The text a person sees or hears: text nodes and the attributes read aloud or shown."""

    def __init__(self):
        super().__init__()
        self.texts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style", "code", "template")
        self.texts += [v for k, v in attrs if k in ("aria-label", "alt", "title", "placeholder") and v]

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style", "code", "template")

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(data.strip())


def texts_of(html: str) -> list[str]:
    parser = Texts()
    parser.feed(html)
    return parser.texts


def data_words(app, sample) -> tuple[str, list[str]]:
    """Protocol texts (every version and language) and other data a page may show as it is."""
    corpus, names = [], list(KEEP)
    for protocol in app.extensions["donoharm.registry"].all():
        names += [protocol.id, *protocol.sources]
        for tag in protocol.languages:
            shown = protocol.in_language(tag)
            names.append(shown.title)
            corpus += [shown.summary, shown.changelog, *protocol.sources.values()]
            for phase in shown.phases:
                corpus.append(phase.title)
                for step in phase.steps:
                    corpus += [step.text, step.guidance, *(o.label for o in step.options), *step.sources]
    organisation = app.config["ORGANISATION_NAME"]
    names += ["acc", "sup", "trainer", "admin", f"{organisation} audit records", organisation]  # the signer
    return "\n".join(corpus), sorted(filter(None, names), key=len, reverse=True)


def english_left(text: str, corpus: str, names: list[str]) -> str:
    """The English words of a text once protocol content, names and data are taken out."""
    core = re.sub(r"^[\d.:\s]+|(\.\.\.|…)$", "", text).strip()
    if core and core in corpus:
        return ""
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r"https?://\S+|\b[0-9a-f]{12,}\b|\([a-z0-9]+\)", " ", text)
    return " ".join(re.findall(r"[A-Za-z]{3,}", text))


@pytest.fixture
def site(app, users):
    sample = make_sample_runs(app)
    corpus, names = data_words(app, sample)
    return app, sample, corpus, names


def visit(app, sample, role, language):
    client = app.test_client()
    if role:
        login(client, role)
    for path in page_paths(app, sample):
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code < 500, (path, response.status_code)
        if response.content_type.startswith("text/html") and not 300 <= response.status_code < 400:
            yield path, response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["km", "th"])
@pytest.mark.parametrize("role", ROLES)
def test_no_english_left_on_any_page(site, role, language):
    app, sample, corpus, names = site
    leaks, pages = {}, 0
    for path, html in visit(app, sample, role, language):
        pages += 1
        assert f'<html lang="{language}">' in html, path
        for text in texts_of(html):
            left = english_left(text, corpus, names)
            if left:
                leaks.setdefault(text[:80], set()).add(path)
    assert pages >= 4
    assert not leaks, "\n".join(f"{text!r} on {sorted(paths)[:3]}" for text, paths in leaks.items())


@pytest.mark.parametrize("language", ["es", "fr"])
@pytest.mark.parametrize("role", ROLES)
def test_latin_script_languages_show_their_translations(site, role, language):
    """Where English and the language share a script, look for English interface strings by name instead."""
    app, sample, corpus, names = site
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        english = {m.id for m in read_po(f) if m.id and isinstance(m.id, str) and m.string and m.string != m.id
                   and len(m.id) > 3 and "%" not in m.id}
    leaks = {}
    for path, html in visit(app, sample, role, language):
        assert f'<html lang="{language}">' in html, path
        for text in texts_of(html):
            if text in english and text not in corpus:
                leaks.setdefault(text, set()).add(path)
    assert not leaks, "\n".join(f"{text!r} on {sorted(paths)[:3]}" for text, paths in leaks.items())
