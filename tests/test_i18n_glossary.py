"""One glossary per language: every domain term has its fixed rendering, and the renderings it forbids appear
in no interface string and no protocol text of that language (the latest version of each shipped protocol:
published versions never change, so a correction lands in the next one)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from donoharm.protocols import load_file
from donoharm.protocols.model import version_key

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = ROOT / "donoharm" / "translations"
LANGUAGES = ["es", "fr", "km", "th"]
# The terms the issue asks every glossary to fix (others may be added).
TERMS = ["run", "operation", "accompanier", "supervisor", "deviation", "not applicable", "red flag", "record",
         "potential victim", "trafficking", "smuggling", "sex work", "immigration enforcement",
         "adults who do not report coercion"]
CELL = re.compile(r"(?<!\\)\|")


def glossary(language: str) -> dict[str, dict]:
    """The rows of the glossary's "## Terms" table: term -> rendering and forbidden patterns."""
    text = (CATALOGUES / language / "GLOSSARY.md").read_text(encoding="utf-8")
    section = text.split("\n## Terms\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip().replace("\\|", "|") for c in CELL.split(line.strip())[1:-1]]
        term, rendering, avoid, why = cells
        if term == "Term":
            continue
        patterns = [] if avoid == "—" else re.findall(r"`([^`]+)`", avoid)
        rows[term] = {"rendering": rendering, "avoid": patterns, "why": why}
    return rows


def latest_versions() -> list[Path]:
    """The newest shipped file of each protocol."""
    newest = []
    for folder in sorted(p for p in (ROOT / "protocols").iterdir() if p.is_dir()):
        newest.append(max(folder.glob("*.yaml"), key=lambda p: version_key(p.stem)))
    return newest


def protocol_texts(protocol):
    yield "title", protocol.title
    yield "summary", protocol.summary
    yield "changelog", protocol.changelog
    for phase in protocol.phases:
        yield f"phase {phase.id}", phase.title
        for step in phase.steps:
            yield step.id, step.text
            if step.guidance:
                yield f"{step.id} guidance", step.guidance
            for option in step.options:
                yield f"{step.id} option {option.id}", option.label


def texts_of(language: str):
    """(where, text) for every interface string and every latest protocol text in the language."""
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        for message in read_po(f, locale=language):
            if message.id:
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                for string in strings:
                    yield f"messages.po: {message.id if isinstance(message.id, str) else message.id[0]!r}", string
    for path in latest_versions():
        protocol = load_file(path, ROOT)
        if language in protocol.languages:
            for where, text in protocol_texts(protocol.in_language(language)):
                yield f"{protocol.id} {protocol.version} {where}", text


@pytest.mark.parametrize("language", LANGUAGES)
def test_glossary_fixes_every_domain_term(language):
    rows = glossary(language)
    missing = [term for term in TERMS if term not in rows]
    assert not missing, f"GLOSSARY.md ({language}) has no row for {missing}"
    for term, row in rows.items():
        assert row["rendering"] and row["why"], term
        for pattern in row["avoid"]:
            re.compile(pattern)  # a typo in the glossary fails here, not silently


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_forbidden_rendering_is_used(language):
    checks = [(term, pattern, re.compile(pattern, re.IGNORECASE))
              for term, row in glossary(language).items() for pattern in row["avoid"]]
    found = []
    for where, text in texts_of(language):
        for term, pattern, regex in checks:
            match = regex.search(text or "")
            if match:
                found.append(f"{term!r} as {match.group(0)!r} (avoid `{pattern}`) in {where}")
    assert not found, "\n".join(found)


def test_spanish_never_calls_a_run_an_execution():
    """«Ejecución» next to police operations reads as an execution: a run is «una lista»."""
    leaks = [where for where, text in texts_of("es") if re.search(r"ejecuci[oó]n", text or "", re.IGNORECASE)]
    assert not leaks, leaks
    with open(CATALOGUES / "es" / "LC_MESSAGES" / "messages.po", "rb") as f:
        spanish = read_po(f, locale="es")
    assert spanish.get("My runs").string == "Mis listas"
