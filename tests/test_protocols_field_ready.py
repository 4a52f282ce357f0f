"""The newest version of every shipped protocol follows the field-checklist advice (issue 17): it passes
`protocols check --strict`; the 1.x versions keep their warnings, since a published version never changes."""
from __future__ import annotations

from pathlib import Path

import pytest

from donoharm.protocols import load_directory
from donoharm.protocols.model import version_key

ROOT = Path(__file__).resolve().parent.parent / "protocols"
REGISTRY, _problems = load_directory(ROOT)
NEWEST = [max(REGISTRY.versions(protocol_id), key=lambda p: version_key(p.version)) for protocol_id in REGISTRY.ids()]


@pytest.mark.parametrize("protocol", NEWEST, ids=lambda p: f"{p.id}-{p.version}")
def test_the_newest_version_passes_the_strict_check(runner, protocol):
    path = ROOT / protocol.id / f"{protocol.version}.yaml"
    result = runner.invoke(args=["protocols", "check", "--strict", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("protocol", NEWEST, ids=lambda p: f"{p.id}-{p.version}")
def test_the_newest_version_is_made_of_pause_points_and_follow_ups(protocol):
    for phase in protocol.phases:
        assert phase.pause_point or phase.follow_up, phase.id
        assert not (phase.follow_up and any(step.critical for step in phase.steps))
    assert any(step.measure == "people-present" for step in protocol.steps)


def test_the_strict_check_fails_on_a_1x_version(runner):
    result = runner.invoke(args=["protocols", "check", "--strict",
                                 str(ROOT / "social-worker-accompaniment" / "1.1.2.yaml")])
    assert result.exit_code == 1 and "warning:" in result.output
