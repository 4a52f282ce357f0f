"""The production guide works as written (issue 25): its settings file reads in a shell and in systemd, its
helper stops on a bad setting instead of running with it, and the systemd units it installs are valid."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text()


def _production_guide() -> str:
    return README[README.index("## Running in production"):README.index("## Development")]


def _helper(env_file: Path) -> str:
    """The README's as_donoharm helper, pointed at this checkout and `env_file` (no service user here)."""
    match = re.search(r"^\s*(as_donoharm\(\) \{.*\})\s*$", _production_guide(), re.MULTILINE)
    assert match, "the guide defines as_donoharm"
    return (match.group(1).replace("/etc/donoharm/donoharm.env", str(env_file))
            .replace("/opt/donoharm", str(ROOT)).replace("sudo -E -u donoharm ", ""))


def _as_donoharm(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    script = f"{_helper(env_file)}\nas_donoharm {' '.join(args)}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DONOHARM_")}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, env=clean)


def _example(tmp_path: Path) -> Path:
    text = (DEPLOY / "donoharm.env.example").read_text().replace("/var/lib/donoharm", str(tmp_path / "instance"))
    path = tmp_path / "donoharm.env"
    path.write_text(text)
    return path


def test_the_example_settings_read_in_a_shell_with_the_organisation_whole(tmp_path):
    done = subprocess.run(["sh", "-ec", f'set -a; . "{DEPLOY / "donoharm.env.example"}"; '
                                        'printf "%s" "$DONOHARM_ORGANISATION"'], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == "Example NGO"


def test_the_helper_runs_a_command_with_the_example_settings(tmp_path):
    env_file = _example(tmp_path)
    # Before the service's first start (its ExecStartPre does the same): the instance is prepared.
    prepared = _as_donoharm(env_file, "db", "migrate")
    assert prepared.returncode == 0, prepared.stderr
    assert (tmp_path / "instance" / "signing.pem").exists()  # keys made for the organisation named there
    done = _as_donoharm(env_file, "users", "setup-link")
    assert done.returncode == 0, done.stderr
    assert "https://records.example.org/setup?token=" in done.stdout  # the configured address, not a port


def test_the_helper_stops_at_a_setting_a_shell_cannot_read(tmp_path):
    env_file = _example(tmp_path)
    env_file.write_text(env_file.read_text().replace('DONOHARM_ORGANISATION="Example NGO"',
                                                     "DONOHARM_ORGANISATION=Example NGO"))
    done = _as_donoharm(env_file, "users", "setup-link")
    assert done.returncode != 0
    assert "NGO" in done.stderr  # the shell names the word it tried to run
    assert not (tmp_path / "instance").exists()  # flask never ran: no instance, no keys for a wrong name


def test_the_guide_installs_every_unit_in_deploy():
    guide = _production_guide()
    install = next(line for line in guide.splitlines() if line.strip().startswith("cp deploy/donoharm.service"))
    patterns = install.split()[1:-1]
    units = sorted(p.name for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
    installed = sorted({p.name for pattern in patterns for p in ROOT.glob(pattern)})
    assert installed == units


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_units_are_valid_systemd_units(tmp_path):
    for unit in DEPLOY.iterdir():
        if unit.suffix in (".service", ".timer"):
            text = (unit.read_text().replace("/opt/donoharm", str(ROOT))
                    .replace("/etc/donoharm/donoharm.env", str(DEPLOY / "donoharm.env.example")))
            (tmp_path / unit.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "Unknown" in line or "not executable" in line or "Failed" in line or "Invalid" in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr
