"""The deploy units' alert (issue 25): a failed unit reaches a person by webhook or e-mail, with the
health check's answer and no run data."""
from __future__ import annotations

import configparser
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALERT = ROOT / "deploy" / "donoharm-alert.sh"


@pytest.fixture
def listener():
    """A loopback HTTP server: answers /healthz with a fixed 503 body and keeps every POST body."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"status":"fail","checks":{"disk":{"ok":false}}}'
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def _alert(env: dict[str, str], unit: str = "donoharm-maintenance.service"):
    return subprocess.run(["sh", str(ALERT), unit], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], **env})


def test_a_failed_unit_is_posted_to_the_alert_url_with_the_health_answer(listener):
    url, received = listener
    done = _alert({"DONOHARM_ALERT_URL": f"{url}/hook", "DONOHARM_HEALTH_URL": f"{url}/healthz"})
    assert done.returncode == 0, done.stderr
    assert len(received) == 1
    message = received[0].decode()
    assert "donoharm-maintenance.service failed" in message
    assert '"status":"fail"' in message and "journalctl -u donoharm-maintenance.service" in message


def test_an_alert_that_cannot_be_delivered_fails_visibly(listener):
    url, _received = listener
    done = _alert({"DONOHARM_ALERT_URL": "http://127.0.0.1:9/unreachable", "DONOHARM_HEALTH_URL": f"{url}/healthz"})
    assert done.returncode == 1  # the alert unit fails too, so the journal shows it


@pytest.mark.parametrize("unit", ["donoharm.service", "donoharm-maintenance.service", "donoharm-health.service"])
def test_every_long_running_or_nightly_unit_sends_an_alert_on_failure(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "deploy" / unit)
    assert parser["Unit"]["OnFailure"] == "donoharm-alert@%n.service"
    assert (ROOT / "deploy" / "donoharm-alert@.service").exists()


def test_the_health_unit_fails_on_a_503(listener):
    url, _received = listener
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "deploy" / "donoharm-health.service")
    command = parser["Service"]["ExecStart"].replace("http://127.0.0.1:8000", url).split()
    assert subprocess.run(command, capture_output=True, timeout=60).returncode != 0
