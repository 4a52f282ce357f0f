"""The README's API example script carries out a whole run against a live server."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import PASSWORD, Api

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "api_example.py"


def test_the_example_script_submits_a_whole_run(app, live_server):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), live_server, "acc", "immigration-separation", "1.0.0", "OP-TEST-SCRIPT-1"],
        env={**os.environ, "DONOHARM_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[1].rstrip(":")
    run = Api(app, "acc").get(f"/api/v1/runs/{run_id}").get_json()
    assert run["run"]["status"] == "submitted" and run["run"]["label"] == "OP-TEST-SCRIPT-1"
    assert run["state"]["counts"]["todo"] == 0


def test_the_example_script_reports_a_wrong_password(live_server):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), live_server, "acc", "immigration-separation", "1.0.0", "OP-TEST-SCRIPT-1"],
        env={**os.environ, "DONOHARM_PASSWORD": "wrong password"}, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "sign-in failed" in result.stderr
