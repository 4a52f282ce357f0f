"""The README's production setup, on loopback: gunicorn with deploy/gunicorn.conf.py behind Caddy with deploy/Caddyfile.

Caddy serves https://127.0.0.1:<port> with a certificate from its own local CA (instead of Let's Encrypt);
everything else is the shipped configuration. The first administrator is created over HTTPS, signs out
and in again, and the logs are searched for the password, the secret key and the setup token.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from donoharm import create_app
from donoharm.db import connect, transaction
from donoharm.db import users as users_db
from tests.live_client import ROOT, free_port

DEPLOY = ROOT / "deploy"
PASSWORD = "a long deployment passphrase"
WRONG = "a mistyped deployment passphrase"
SECRET_KEY = "deployment-test-secret-key-0123456789abcdef"
CADDY = shutil.which("caddy")

needs_caddy = pytest.mark.skipif(CADDY is None, reason="needs Debian's caddy (scripts/system-deps.sh installs it)")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _wait(url: str, context: ssl.SSLContext | None, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2, context=context).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def production(tmp_path):
    """gunicorn and Caddy started as the README says; yields (https base, CA context, logs, http port)."""
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    env = {**os.environ, "DONOHARM_INSTANCE": str(tmp_path / "instance"), "DONOHARM_HTTPS": "1",
           "DONOHARM_PROXY": "1", "DONOHARM_SECRET_KEY": SECRET_KEY, "DONOHARM_BIND": f"127.0.0.1:{app_port}",
           "DONOHARM_WORKERS": "2", "DONOHARM_BASE_URL": f"https://127.0.0.1:{https_port}"}
    app_log = tmp_path / "gunicorn.log"
    caddy_log = tmp_path / "caddy.log"
    # Test-only global options: a local CA instead of Let's Encrypt, free ports, no admin API.
    (tmp_path / "Caddyfile").write_text(
        "{\n\tadmin off\n\tskip_install_trust\n\tlocal_certs\n\tdefault_sni 127.0.0.1\n"
        f"\thttp_port {http_port}\n\thttps_port {https_port}\n}}\nimport {DEPLOY / 'Caddyfile'}\n")
    caddy_env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "config"), "DONOHARM_SITE": "127.0.0.1",
                 "DONOHARM_UPSTREAM": f"127.0.0.1:{app_port}"}
    processes = []
    try:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "migrate"], cwd=ROOT,
                       env=env, check=True, capture_output=True, timeout=120)  # ExecStartPre in deploy/donoharm.service
        with app_log.open("w") as out:
            processes.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), "app:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{app_port}/login", None, processes[0], app_log)
        with caddy_log.open("w") as out:
            processes.append(subprocess.Popen(
                [CADDY, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                cwd=tmp_path, env=caddy_env, stdout=out, stderr=subprocess.STDOUT))
        root = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        deadline = time.monotonic() + 30
        while not root.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        context = ssl.create_default_context(cafile=str(root))  # verify: only Caddy's local CA is trusted
        base = f"https://127.0.0.1:{https_port}"
        _wait(f"{base}/login", context, processes[1], caddy_log)
        yield base, context, app_log, http_port
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _open(opener, request) -> tuple[int, object, str]:
    """(status, headers, body) of a request, redirects not followed, the connection closed."""
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


def _form(opener, url: str, fields: dict) -> urllib.request.Request:
    """POST a page's form as a browser under Referrer-Policy: no-referrer does (no Referer header)."""
    html = _open(opener, url)[2]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
    return urllib.request.Request(url, data=data, method="POST")


@needs_caddy
def test_https_on_loopback_with_hsts_secure_cookie_and_no_secrets_in_logs(production):
    base, context, app_log, http_port = production
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    status, headers, _ = _open(opener, f"{base}/login")
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Server" not in headers  # neither Caddy nor gunicorn names itself

    # The first administrator, through the one-time link gunicorn printed on its console.
    announced = re.findall(r"No administrator yet\. Create one at: (\S+)/setup\?token=([\w-]+)", app_log.read_text())
    assert len(announced) == 1, app_log.read_text()  # one link for the server, not one per worker
    assert announced[0][0] == base  # at the configured base URL, not the worker's own port
    token = announced[0][1]
    status, headers, body = _open(opener, _form(opener, f"{base}/setup?token={token}", {
        "token": token, "username": "chief", "password": PASSWORD, "confirm": PASSWORD,
        "organisation_name": "Example Organisation (test)", "time_zone": "UTC", "page_size": "A4"}))
    assert status == 302, body[:500]
    cookie = headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    status, _, body = _open(opener, f"{base}/admin/users")
    assert status == 200 and "chief" in body

    # Sign out, fail once, and sign in again over HTTPS.
    assert _open(opener, _form(opener, f"{base}/logout", {}))[0] == 302
    assert _open(opener, f"{base}/admin/users")[0] == 302  # signed out: sent to the login page
    assert _open(opener, _form(opener, f"{base}/login", {"username": "chief", "password": WRONG}))[0] == 401
    assert _open(opener, _form(opener, f"{base}/login", {"username": "chief", "password": PASSWORD}))[0] == 302
    assert _open(opener, f"{base}/admin/users")[0] == 200

    # Plain HTTP only redirects to HTTPS.
    status, headers, _ = _open(urllib.request.build_opener(NoRedirect), f"http://127.0.0.1:{http_port}/login")
    assert status in (301, 308) and headers["Location"].startswith("https://")

    log = app_log.read_text()
    assert '"POST /login HTTP/1.1" 302' in log  # the access log is on...
    assert PASSWORD not in log and WRONG not in log and SECRET_KEY not in log  # ...and never shows a secret
    assert [line for line in log.splitlines() if token in line] == [
        line for line in log.splitlines() if "No administrator yet" in line and token in line], \
        "the setup token appears only in the console announcement"


def test_database_and_key_files_are_created_private(tmp_path):
    """The database with its -wal and -shm files, the secret key and signing keys: owner only (0600)."""
    app = create_app({"INSTANCE": tmp_path / "instance", "PREPARE": True})  # as after `db migrate`
    db = connect(app.config["DATABASE"])
    try:
        with transaction(db):
            users_db.create_user(db, "acc", "not-a-real-hash", "accompanier")
        instance = tmp_path / "instance"
        private = [instance / "donoharm.db", instance / "donoharm.db-wal", instance / "donoharm.db-shm",
                   instance / "secret_key", *instance.glob("*.key"), *instance.glob("*.p12")]
        for path in private:
            assert path.exists(), path.name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name}: {oct(path.stat().st_mode)}"
    finally:
        db.conn.close()
    backup = tmp_path / "backup.db"
    assert app.test_cli_runner().invoke(args=["db", "backup", str(backup)]).exit_code == 0
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_https_and_idle_settings_reach_the_session_cookie(tmp_path, monkeypatch):
    """DONOHARM_HTTPS=1 makes the cookie Secure; DONOHARM_IDLE_MINUTES sets when an idle session ends."""
    from email.utils import parsedate_to_datetime

    from tests.conftest import PASSWORD_HASH, login

    monkeypatch.setenv("DONOHARM_HTTPS", "1")
    monkeypatch.setenv("DONOHARM_IDLE_MINUTES", "5")
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    db = connect(app.config["DATABASE"])
    users_db.create_user(db, "acc", PASSWORD_HASH, "accompanier")
    db.conn.close()
    client = app.test_client()
    response = login(client, "acc")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    left = expires.timestamp() - time.time()
    assert 4 * 60 < left <= 5 * 60 + 5, f"the session should end after 5 idle minutes, not {left:.0f} s"
