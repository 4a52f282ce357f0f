"""The personal-data guard (issue 18.2) finds likely ages, phone numbers, e-mail addresses, ID numbers, dates of
birth and street addresses in English, Spanish, French, Khmer and Thai, and leaves ordinary sentences alone: the
shared table tests/fixtures/personal_data.json, checked here against donoharm/privacy/detector.py and by
`node --test` against static/js/personal-data.js (the phone warns before saving, offline, with the same rules)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from donoharm.privacy import KINDS, find_personal_data
from donoharm.privacy.detector import PATTERNS

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = json.loads((ROOT / "tests" / "fixtures" / "personal_data.json").read_text("utf-8"))["languages"]
FOUND = [(f"{language}-found-{case['name']}", case) for language, table in LANGUAGES.items()
         for case in table["found"]]
ORDINARY = [(f"{language}-ordinary-{case['name']}", case) for language, table in LANGUAGES.items()
            for case in table["ordinary"]]


def _node() -> str:
    node = shutil.which("node")
    assert node, "Node.js runs the phone's unit tests (node --test); install it (Debian: nodejs)"
    return node


def test_the_table_covers_every_language_and_kind():
    assert set(LANGUAGES) == {"en", "es", "fr", "km", "th"}
    for language, table in LANGUAGES.items():
        assert len(table["found"]) >= 8 and len(table["ordinary"]) >= 6, language
    assert {kind for _, case in FOUND for kind in case["kinds"]} == set(KINDS)
    for language in ("km", "th"):  # each kind is also found in the scripts written without spaces between words
        assert {kind for case in LANGUAGES[language]["found"] for kind in case["kinds"]} == set(KINDS), language


@pytest.mark.parametrize("case", [case for _, case in FOUND], ids=[name for name, _ in FOUND])
def test_the_server_finds_the_personal_data(case):
    spans = find_personal_data(case["text"])
    assert [span.kind for span in spans] == case["kinds"]
    assert [span.text for span in spans] == case["texts"]
    for span in spans:
        assert case["text"][span.start:span.end] == span.text
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False)), "in order, without overlaps"


@pytest.mark.parametrize("case", [case for _, case in ORDINARY], ids=[name for name, _ in ORDINARY])
def test_the_server_leaves_ordinary_sentences_alone(case):
    assert find_personal_data(case["text"]) == []


def test_an_empty_text_holds_nothing():
    assert find_personal_data("") == [] and find_personal_data(None) == []


def test_the_phone_finds_the_same():
    result = subprocess.run([_node(), "--test", str(ROOT / "tests" / "js" / "personal-data.test.mjs")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"# pass {len(FOUND) + len(ORDINARY)}" in result.stdout, result.stdout


def test_the_phone_has_the_same_rules():
    """The patterns themselves, in the same order: a rule changed on one side only fails here even when no case
    in the table reaches it."""
    script = ('import { PATTERNS } from "./static/js/personal-data.js";'
              "process.stdout.write(JSON.stringify(PATTERNS));")
    result = subprocess.run([_node(), "--input-type=module", "-e", script], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == PATTERNS
