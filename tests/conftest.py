"""Shared fixtures: an app on a temporary instance folder, its client, CLI runner and users."""
from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime

import pytest

from donoharm import create_app
from donoharm.accounts.auth import hash_password
from donoharm.db import connect
from donoharm.db import users as users_db

# Apps the tests start in other processes (gunicorn, the crash test) make signing keys for this made-up name:
# the app refuses to create them for the default, unconfigured one.
os.environ.setdefault("DONOHARM_ORGANISATION", "Test Organisation")
# Supervisors and administrators sign in with a password alone in the tests, as for evaluation; the tests of
# two-step sign-in (test_two_factor.py, test_accounts_*.py) turn it on with app.config["REQUIRE_2FA"].
os.environ.setdefault("DONOHARM_REQUIRE_2FA", "none")

PASSWORD = "correct horse battery"
ROLES = ("accompanier", "supervisor", "trainer", "admin")
PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: scrypt is slow on purpose


@pytest.fixture
def app(tmp_path, key_folder):
    """The app on a fresh instance folder holding the session's signing keys: every append signs a receipt,
    and generating an RSA 3072 key pair per test would cost half a second each."""
    import shutil

    instance = tmp_path / "instance"
    instance.mkdir()
    for path in key_folder.iterdir():
        shutil.copy(path, instance)
    app = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test"})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def users(app):
    """One user per role, plus a second accompanier and supervisor; all with PASSWORD."""
    db = connect(app.config["DATABASE"])
    ids = {}
    for name, role in [("acc", "accompanier"), ("acc2", "accompanier"), ("sup", "supervisor"),
                       ("sup2", "supervisor"), ("trainer", "trainer"), ("admin", "admin")]:
        ids[name] = users_db.create_user(db, name, PASSWORD_HASH, role)
    db.conn.close()
    return ids


def csrf_from(client, path: str) -> str:
    """The CSRF token of the form on a page, as a browser would submit it."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(client, "/login")})


class Api:
    """A signed-in JSON client that sends the CSRF header on writes, as the phone app does."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        self.username = username
        response = login(self.client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.csrf = self.client.get("/api/v1/session").get_json()["csrf_token"]

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.client.put(path, json=json, headers={"X-CSRFToken": self.csrf}, **kwargs)

    def post(self, path, json=None, **kwargs):
        headers = {"X-CSRFToken": self.csrf, **kwargs.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def start_run(self, protocol_id="immigration-separation", version="1.0.0", label="OP-TEST-001",
                  mode="live", run_id=None):
        run_id = run_id or str(uuid.uuid4())
        response = self.put(f"/api/v1/runs/{run_id}", json={
            "protocol_id": protocol_id, "protocol_version": version, "label": label, "mode": mode})
        assert response.status_code == 201, response.get_json()
        return run_id

    def send(self, run_id, *events):
        return self.post(f"/api/v1/runs/{run_id}/events", json={"events": list(events)})


def event(type_, step=None, value=None, note=None, **extra):
    """A client-made event with a fresh UUID and the device time now."""
    return {"id": str(uuid.uuid4()), "type": type_, "step": step, "value": value, "note": note,
            "at": datetime.now(UTC).isoformat(), **extra}


def expected_answer(step):
    """A valid answer to a step that raises no red flag."""
    if step.kind == "yesno":
        return step.expected or "yes"
    if step.kind == "choice":
        return next(o for o in step.option_ids() if o not in step.flag_equals)
    if step.kind == "count":
        return 3 if step.flag_above is None else min(3, step.flag_above)
    return {"check": True, "time": "21:30", "text": "Done as agreed."}[step.kind]


def complete_answers(protocol):
    """step.set events answering every step of a protocol with a valid value that raises no red flag."""
    return [event("step.set", s.id, expected_answer(s)) for s in protocol.steps]


def attestation(name="Test Accompanier"):
    return event("run.submitted", value={"name": name, "confirmed": True})


@pytest.fixture
def api(app, users):
    """Api(username) factory."""
    return lambda username: Api(app, username)


# --- Browser tests (Playwright with Debian's chromium; see TOOLING.md "Browser tests") ---

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's chromium: `playwright install` cannot download browsers here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def base_url():
    """No fixed base URL (each test has its own live server); replaces pytest-base-url's deprecated fixture."""
    return None


@pytest.fixture
def live_server(app, users):
    """The app served on 127.0.0.1 (a secure context, so service workers run); yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def phone(browser, live_server):
    """A page of a new browser context at a phone's width (360 px), on the live server (`page.base`)."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(15_000)  # as tests/test_offline.py's TIMEOUT: a busy machine is slow
    page = context.new_page()
    page.base = live_server
    yield page
    context.close()


def browser_login(page, base_url: str, username: str = "acc", password: str = PASSWORD):
    """Sign in through the login page as a person would."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    from tests.browser import unlock_phone  # here, not at the top: tests/browser.py imports this module

    unlock_phone(page)  # the phone's PIN (static/js/vault.js): chosen at the first sign-in, then typed


def pytest_collection_modifyitems(items):
    """Browser tests: a browser that drops a connection mid-file leaves werkzeug's file to the GC; not a bug here."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))


@pytest.fixture(scope="session")
def key_folder(tmp_path_factory):
    """One generated signing key pair for the session: RSA 3072 generation is slow."""
    from donoharm.records.signing import generate_keys

    folder = tmp_path_factory.mktemp("keys")
    generate_keys(folder, "Test Organisation")
    return folder


@pytest.fixture
def signed_app(app, key_folder):
    """The app with the session's signing keys in its instance folder, so records sign quickly."""
    import shutil

    for path in key_folder.iterdir():
        shutil.copy(path, app.instance_path)
    app.config["ORGANISATION_NAME"] = "Test Organisation"
    return app


@pytest.fixture
def signals_protocol(app, users):
    """The test protocol using every harm signal (tests/protocol_factory.SIGNALS), published on the app."""
    from donoharm.services import library
    from tests.protocol_factory import signals_yaml

    db = connect(app.config["DATABASE"])
    with app.app_context():
        protocol, _created = library.publish(db, signals_yaml(), users["trainer"])
    db.conn.close()
    return protocol
