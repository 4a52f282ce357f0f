"""A small HTTP client for tests against a real server process (cookies, CSRF, JSON)."""
from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_PREPARED: set[str] = set()


def prepare(env: dict) -> None:
    """`flask --app app db migrate` once per instance, as `make run` and the deployment do before anything else."""
    instance = env.get("DONOHARM_INSTANCE", "")
    if instance not in _PREPARED:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "migrate"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120, check=True)
        _PREPARED.add(instance)


def flask(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run a `flask --app app` command in the project with an environment (its instance prepared first)."""
    prepare(env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=60, check=True)


def start_server(env: dict, port: int) -> subprocess.Popen:
    """Start the app in its own process (its instance prepared first) and wait until it answers."""
    prepare(env)
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1).close()
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


class LiveClient:
    """Signs in through the login form and calls the JSON API with the CSRF header."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""

    def login(self, username: str, password: str) -> None:
        html = self.opener.open(f"{self.base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
        self.opener.open(f"{self.base}/login", data.encode(), timeout=10).read()
        self.csrf = self.call("GET", "/api/v1/session")[1]["csrf_token"]

    def call(self, method: str, path: str, body=None, timeout: float = 10) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": self.csrf})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
