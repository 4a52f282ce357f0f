"""Every page in every shipped language, for each role: it renders, says its language, and leaves no
interface text in English (a string someone forgot to mark for translation shows up here).

One app and one set of sample runs serve the whole module: the pages are only read.
"""
from __future__ import annotations

import functools
import json
import re
import zoneinfo
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import users as users_db
from tests.browser import make_sample_runs, page_paths
from tests.conftest import PASSWORD_HASH, login
from tests.test_i18n_catalogues import CATALOGUES

ROLES = [None, "acc", "sup", "trainer", "admin"]
LANGUAGES = ["es", "fr", "km", "th"]
# The short allow-list: the product's name, codes, file formats and units, and sample data (labels, names, notes):
# they read the same in every language.
KEEP = ["Do No Harm", "OP-TEST-001", "OP-TEST-002", "Handover as agreed.", "Test Accompanier", "English",
        "Español", "Français", "protocols check", "sha256", "SHA-256", "YAML", "PDF", "CSV", "SVG", "PEM", "QR",
        "HH:MM", "audit-record.json", "pdfsig", ".yaml", "OP-2026-014", "YYYY-MM-DD", "HIV", "UTF-8", "KB", "MB",
        # Product and system names an authenticator or checksum how-to names as they are, and the paper size
        # print dialogs call Letter.
        "FreeOTP", "Aegis", "Google Authenticator", "Microsoft Authenticator", "API", "README", "sha256sum",
        "Linux", "Mac", "Windows PowerShell", "PowerShell", "shasum", "Get-FileHash", "Letter",
        "flask --app app records rotate-root",
        # The phone's PIN and a file format read the same in every language; a public report's withheld cells
        # print "suppressed" as it is in its JSON, in every language, and its notice quotes the word.
        "PIN", "JSON", "suppressed"]
HIDDEN = ("script", "style", "code", "template")
SHOWN_ATTRIBUTES = ("aria-label", "alt", "title", "placeholder")


class Texts(HTMLParser):
    """The text a person sees or hears: text nodes, the attributes read aloud or shown, the sentences a script
    shows later (data-* attributes holding a sentence) and the words a page hands its script as JSON."""

    def __init__(self):
        super().__init__()
        self.texts, self.hidden, self.json = [], 0, False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.hidden += tag in HIDDEN
        self.json = tag == "script" and attributes.get("type") == "application/json"
        self.texts += [v for k, v in attrs if v and (k in SHOWN_ATTRIBUTES or (k.startswith("data-") and " " in v))]

    def handle_endtag(self, tag):
        self.hidden -= tag in HIDDEN
        self.json = False

    def handle_data(self, data):
        if self.json:
            strings = json.loads(data).get("strings", {})
            self.texts += [s for s in strings.values() if isinstance(s, str)]
        elif not self.hidden and data.strip():
            self.texts.append(data.strip())


def texts_of(html: str) -> list[str]:
    parser = Texts()
    parser.feed(html)
    return parser.texts


def data_words(app) -> tuple[str, list[str]]:
    """Protocol texts (every version and language) and other data a page may show as it is."""
    corpus, names = [], list(KEEP)
    for protocol in app.extensions["donoharm.registry"].all():
        names += [protocol.id, *protocol.sources]
        for tag in protocol.languages:
            shown = protocol.in_language(tag)
            names.append(shown.title)
            corpus += [shown.summary, shown.changelog, *protocol.sources.values()]
            for phase in shown.phases:
                corpus += [phase.title, phase.when]
                for step in phase.steps:
                    corpus += [step.text, step.guidance, *(o.label for o in step.options), *step.sources]
    organisation = app.config["ORGANISATION_NAME"]
    names += ["acc", "sup", "trainer", "admin", f"{organisation} audit records", organisation]  # the signer
    names += zoneinfo.available_timezones()  # the settings page lists the IANA time zones by their names
    return "\n".join(corpus), sorted(filter(None, names), key=len, reverse=True)


def english_left(text: str, corpus: str, names: list[str], kept: list[re.Pattern] = ()) -> str:
    """The English words of a text once protocol content, names, data, script placeholders and the words the
    language shares with English (`kept`) are taken out."""
    core = re.sub(r"^[\d.:\s]+|(\.\.\.|…)$", "", text).strip()
    if core and core in corpus:
        return ""
    if re.search(r"[A-Za-z]{3,}", text):  # a protocol text inside an interface sentence (": <step text> (Critical)")
        for piece in pieces(corpus):
            text = text.replace(piece, " ")
    for name in names:
        text = text.replace(name, " ")
    for pattern in kept:
        text = pattern.sub(" ", text)
    text = re.sub(r"https?://\S+|\b[0-9a-f]{12,}\b|\([a-z0-9]+\)|\{\w+\}", " ", text)
    return " ".join(re.findall(r"[A-Za-z]{3,}", text))


@functools.cache
def pieces(corpus: str) -> tuple[str, ...]:
    """The protocol texts of the corpus, longest first."""
    return tuple(sorted({p for p in corpus.split("\n") if len(p) > 3}, key=len, reverse=True))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = create_app({"TESTING": True, "INSTANCE": tmp_path_factory.mktemp("i18n") / "instance", "SECRET_KEY": "test"})
    db = connect(app.config["DATABASE"])
    for name, role in [("acc", "accompanier"), ("sup", "supervisor"), ("trainer", "trainer"), ("admin", "admin")]:
        users_db.create_user(db, name, PASSWORD_HASH, role)
    db.conn.close()
    sample = make_sample_runs(app)
    corpus, names = data_words(app)
    return app, sample, corpus, names


def visit(app, sample, role, language):
    """(path, html) of every page, as a person with that role whose browser asks for that language sees it."""
    client = app.test_client()
    if role:
        login(client, role)
    for path in page_paths(app, sample):
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code < 500, (path, response.status_code)
        if response.content_type.startswith("text/html") and not 300 <= response.status_code < 400:
            html = response.get_data(as_text=True)
            assert re.search(rf'<html lang="{language}"[ >]', html), path
            yield path, html


def same_in_both(language: str) -> list[re.Pattern]:
    """Interface strings the catalogue deliberately keeps as in English (« Version », « Options », « Error »)."""
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        kept = set()
        for message in read_po(f):
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            kept.update(s for s in strings if s and s in ids and len(s.split()) <= 2)  # words, not sentences
    patterns = [re.sub(r"%\\\(\w+\\\)[sd]", ".+?", re.escape(s)) for s in sorted(kept, key=len, reverse=True)]
    return [re.compile(rf"(?<!\w){p}(?!\w)") for p in patterns]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_its_english_text_in_another_language(site, role):
    """Every page, rendered in English and in each language: a visible text that is the same as on the English
    page is untranslated, unless it is data, a name or code from the allow-list, or a word the catalogue
    translates to itself. The sign-out page is one of the pages."""
    app, sample, corpus, names = site
    english = {path: set(texts_of(html)) for path, html in visit(app, sample, role, "en")}
    assert "/logout" in english
    leaks = {}
    for language in LANGUAGES:
        kept = same_in_both(language)
        for path, html in visit(app, sample, role, language):
            for text in texts_of(html):
                if text in english[path] and english_left(text, corpus, names, kept):
                    leaks.setdefault((language, text[:80]), set()).add(path)
    assert not leaks, "\n".join(f"{lang}: {text!r} on {sorted(paths)[:3]}" for (lang, text), paths in leaks.items())


@pytest.mark.parametrize("language", ["km", "th"])
@pytest.mark.parametrize("role", ROLES)
def test_no_english_left_on_any_page(site, role, language):
    """In another script, any English word left on a page is a forgotten string, whatever the English page says."""
    app, sample, corpus, names = site
    leaks, pages = {}, 0
    for path, html in visit(app, sample, role, language):
        pages += 1
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
        for text in texts_of(html):
            if text in english and text not in corpus:
                leaks.setdefault(text, set()).add(path)
    assert not leaks, "\n".join(f"{text!r} on {sorted(paths)[:3]}" for text, paths in leaks.items())


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_out_page_speaks_the_language(site, language):
    """The sign-out page, right under the unsent-changes warning, was English in every language."""
    app, sample, corpus, names = site
    client = app.test_client()
    login(client, "acc")
    html = client.get("/logout", headers={"Accept-Language": language}).get_data(as_text=True)
    english = app.test_client()
    login(english, "acc")
    english_html = english.get("/logout", headers={"Accept-Language": "en"}).get_data(as_text=True)
    shown, english_shown = set(texts_of(html)), set(texts_of(english_html))
    for phrase in ("Sign out", "Signing out ends your session on this device.", "Cancel",
                   "Remove this app’s data from this phone and sign out"):
        assert phrase in english_shown
        assert phrase not in shown, (language, phrase)
    assert "Wipe this phone" not in english_html
