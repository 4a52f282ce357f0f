"""The server's and the phone's red-flag rules give the same answer for every shared case (issue 14.6 for the
rules the phone applies offline): tests/fixtures/flag_rules.json, checked here against runs/flags.py and by
`node --test` against static/js/flags.js."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from donoharm.protocols import Step
from donoharm.runs.flags import answer_reasons

ROOT = Path(__file__).resolve().parent.parent
CASES = json.loads((ROOT / "tests" / "fixtures" / "flag_rules.json").read_text("utf-8"))["cases"]


def step_with(rule: dict) -> Step:
    return Step(id="step", text="A step", kind="count" if "flag_above" in rule or "of" in rule else "choice",
                critical=False, sources=("S1",), expected=rule.get("expected"),
                flag_equals=tuple(rule.get("flag_equals", ())), flag_above=rule.get("flag_above"), of=rule.get("of"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_server_gives_the_shared_answer(case):
    found = answer_reasons(step_with(case["rule"]), case["value"], case["denominator"])
    assert [reason["rule"] for reason in found] == case["rules"]


def test_the_phone_gives_the_shared_answer():
    node = shutil.which("node")
    assert node, "Node.js runs the phone's unit tests (node --test); install it (Debian: nodejs)"
    result = subprocess.run([node, "--test", str(ROOT / "tests" / "js" / "flags.test.mjs")], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"# pass {len(CASES)}" in result.stdout
