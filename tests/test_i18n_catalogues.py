"""The interface catalogues: drafts marked as such, Khmer complete, compiled files current, placeholders kept."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = ROOT / "donoharm" / "translations"
LOCALES = ["es", "fr", "km", "th"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def po(locale):
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def as_key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def as_text(context):
    return context.decode("utf-8") if isinstance(context, bytes) else context


def translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings) and not message.fuzzy


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """Every string marked for translation in the code and templates today, extracted as `make messages` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    keywords = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2"]  # as the Makefile's `messages`
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", *keywords, "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    with open(pot, "rb") as f:
        return [m for m in read_po(f) if m.id]


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_says_it_is_a_draft_for_native_review(locale):
    catalogue = po(locale)
    assert "DRAFT" in catalogue.header_comment and "native" in catalogue.header_comment
    assert "native-speaker review" in catalogue.last_translator


def test_no_string_is_left_untranslated_in_khmer(source_messages):
    khmer = po("km")
    missing = [m.id for m in source_messages
               if khmer.get(m.id, m.context) is None or not translated(khmer.get(m.id, m.context))]
    assert not missing, f"{len(missing)} string(s) need a Khmer translation (run `make messages`): {missing[:10]}"


def test_khmer_translations_are_in_khmer_script():
    for message in po("km"):
        if message.id and translated(message):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            english = PLACEHOLDER.sub("", message.id[0] if isinstance(message.id, tuple) else message.id)
            if re.fullmatch(r"[A-Z0-9 .()-]+", english):  # names such as YAML, PDF, CSV stay as they are
                continue
            letters = [s for s in strings if re.search("[A-Za-z]{3,}", english)]
            for string in letters:
                assert re.search("[\u1780-\u17ff]", string), (message.id, string)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    """A lost or renamed %(name)s would raise at render time; a new one would print a raw placeholder."""
    for message in po(locale):
        if not message.id or not translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= wanted | set(PLACEHOLDER.findall(ids[0])), (message.id, string)
            if "python-format" in message.flags and len(ids) == 1:
                assert set(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_its_source(locale):
    """The .mo files are committed so a fresh clone runs as is; they must say what the .po says."""
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.mo", "rb") as f:
        # pybabel writes an untranslated plural message with the English forms: not a translation.
        # read_mo gives a message context as bytes, read_po as text.
        compiled = {(as_text(m.context), as_key(m.id)): as_key(m.string) for m in read_mo(f)
                    if m.id and not (isinstance(m.id, list | tuple) and set(m.string) <= set(m.id))}
    source = {(m.context, as_key(m.id)): as_key(m.string) for m in po(locale) if m.id and translated(m)}
    assert compiled == source, "run `make translations` to compile the catalogues"
