"""The server's and the phone's fold reach the same state for every shared case (issue 14.6): which answer
stands, step statuses, deviations, the completion rule and the run's status. tests/fixtures/fold_cases.json is
checked here against donoharm/runs/state.py and by `node --test` against static/js/fold.js (tests/js/fold.test.mjs).
The last test runs every JavaScript unit test (tests/js/*.test.mjs), so `make test` runs them too."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType

import pytest

from donoharm.protocols import Phase, Protocol, Step
from donoharm.runs.state import fold
from donoharm.web.pwa import SHELL_STATIC

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = json.loads((ROOT / "tests" / "fixtures" / "fold_cases.json").read_text("utf-8"))
CASES = FIXTURES["cases"]
UNTOUCHED = {"status": "todo", "value": None, "note": None, "at": None, "event": None}


def protocol_of(name: str) -> Protocol:
    phases = tuple(
        Phase(id=phase["id"], title=f"Phase {phase['id']}",
              steps=tuple(Step(id=step["id"], text=f"Step {step['id']}", kind="check", critical=step["critical"],
                               sources=("S1",), phase_id=phase["id"], follow_up=bool(phase.get("follow_up")))
                          for step in phase["steps"]),
              due_after_hours=72 if phase.get("follow_up") else None)
        for phase in FIXTURES["protocols"][name]["phases"])
    return Protocol(id="synthetic", version="1.0.0", title="Synthetic", summary="", language="en", changelog="",
                    phases=phases, sources=MappingProxyType({}), sha256="0" * 64)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_server_folds_the_shared_case(case):
    protocol = protocol_of(case["protocol"])
    state = fold(protocol, "someone", "live", [dict(event) for event in case["events"]])
    expected = case["expected"]
    steps = {step.id: {key: state.steps[step.id][key] for key in UNTOUCHED} for step in protocol.steps}
    assert steps == {step.id: expected["steps"].get(step.id, UNTOUCHED) for step in protocol.steps}
    assert state.status == expected["status"]
    assert state.missing_critical() == expected["missing_critical"]
    assert state.counts() == expected["counts"]
    covered = state.deviated_steps()
    assert [s.id for s in protocol.steps if steps[s.id]["status"] == "todo" and s.id in covered] == expected["covered"]
    assert [{"event": s["event"], "by": s["by"], "step": s["step"]} for s in state.superseded] == expected["superseded"]
    assert [d["event"] for d in state.deviations] == expected["deviations"]
    assert [n["event"] for n in state.notes] == expected["notes"]


def test_the_cases_reach_every_rule():
    """The table keeps the cases that matter: each of these is what some case expects."""
    expected = [case["expected"] for case in CASES]
    statuses = {"in_progress", "submitted", "returned", "approved", "follow_up", "closed"}
    assert {e["status"] for e in expected} >= statuses
    assert any(e["superseded"] for e in expected), "an earlier-made answer arriving last"
    assert any(e["covered"] for e in expected), "a deviation covering a step"
    assert any(not e["missing_critical"] for e in expected) and any(e["missing_critical"] for e in expected)
    statuses = {entry["status"] for e in expected for entry in e["steps"].values()}
    assert statuses == {"todo", "done", "na"}


def test_every_module_the_offline_pages_import_is_precached():
    """fold.js (and any module a precached one imports): missing from the service worker's list, the run page
    would fail to load with no signal."""
    shell = {name for name in SHELL_STATIC if name.endswith(".js")}
    assert "js/fold.js" in shell
    for name in sorted(shell):
        source = (ROOT / "static" / name).read_text("utf-8")
        for imported in re.findall(r'^import [^;]*?from "\./([\w.-]+\.js)";', source, re.MULTILINE | re.DOTALL):
            assert f"js/{imported}" in shell, f"{name} imports {imported}, which is not precached"


def test_every_javascript_unit_test_passes():
    """`node --test tests/js/`: the phone's modules against their own tests and the shared fixtures."""
    node = shutil.which("node")
    assert node, "Node.js runs the phone's unit tests (node --test tests/js/); install it (Debian: nodejs)"
    files = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))
    assert any(f.name == "fold.test.mjs" for f in files)
    result = subprocess.run([node, "--test", *map(str, files)], capture_output=True, text=True, timeout=300,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= len(CASES), result.stdout
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout
