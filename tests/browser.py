"""Shared helpers for the accessibility and language browser tests: sample data, every page, axe-core.

The live server, Chromium launch arguments and `browser_login` live in conftest.py (shared with the offline
tests); this module adds what the accessibility tests need on top.
"""
from __future__ import annotations

import re
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import axe_playwright_python

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import users as users_db
from tests.conftest import PASSWORD, PASSWORD_HASH, Api, attestation, complete_answers, event

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
ROLE_USERS = {"accompanier": "acc", "supervisor": "sup", "trainer": "trainer", "admin": "admin"}
SKIPPED_PREFIXES = ("/api/", "/static/")
# Not pages (GET /logout only asks to confirm signing out: it is a page): files and JSON for machines.
SKIPPED_PATHS = {"/sw.js", "/setup", "/healthz", "/admin/checkpoints/<name>", "/verify/roots/<file_id>.pem"}


@contextmanager
def site(instance: Path):
    """An app with one user per role and sample runs, served on 127.0.0.1; yields (app, base_url, sample).

    One per test module: the accessibility tests only read, so they can share it and stay fast.
    """
    from werkzeug.serving import make_server

    app = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test"})
    db = connect(app.config["DATABASE"])
    for username, role in [("acc", "accompanier"), ("sup", "supervisor"), ("trainer", "trainer"),
                           ("admin", "admin")]:
        users_db.create_user(db, username, PASSWORD_HASH, role)
    db.conn.close()
    sample = make_sample_runs(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", sample
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def make_sample_runs(app) -> dict[str, str]:
    """One run in progress and one submitted, by the accompanier 'acc'; returns their ids.

    Made on a worker thread: Playwright's sync API keeps an event loop running on the main thread, and
    signing the record (pyHanko runs its own loop) cannot start inside it, as it never does on a server thread.
    """
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(_make_sample_runs(app)))
    worker.start()
    worker.join()
    assert result, "making the sample runs failed (see the log)"
    return result


def _make_sample_runs(app) -> dict[str, str]:
    acc = Api(app, "acc")
    registry = app.extensions["donoharm.registry"]
    protocol = registry.current("immigration-separation")  # the newest: it has every shipped language
    open_run = acc.start_run(version=protocol.version, label="OP-TEST-001")
    acc.send(open_run, *complete_answers(protocol)[:3])
    # The submitted run opens an operation, so the operation page is among the pages visited.
    submitted, operation = str(uuid.uuid4()), str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{submitted}", json={
        "protocol_id": protocol.id, "protocol_version": protocol.version, "label": "OP-TEST-002",
        "operation": {"id": operation, "label": "OP-TEST-002"}})
    assert response.status_code == 201, response.get_json()
    note = event("note", note="Handover as agreed.")
    response = acc.send(submitted, *complete_answers(protocol), note, attestation())
    assert response.status_code == 200, response.get_json()
    return {"open": open_run, "submitted": submitted, "protocol_id": protocol.id, "version": protocol.version,
            "operation": operation, "note": note["id"]}


def page_paths(app, sample: dict[str, str]) -> list[str]:
    """Every GET route of the app that may be a page, with its parameters filled from the sample data."""
    values = {"protocol_id": sample["protocol_id"], "version": sample["version"], "run_id": sample["submitted"],
              "record_id": "none", "operation_id": sample["operation"], "event_id": sample["note"],
              "user_id": sample.get("user_id", "1")}
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIPPED_PREFIXES) or rule.rule in SKIPPED_PATHS:
            continue
        unknown = set(rule.arguments) - set(values)
        assert not unknown, f"tests/browser.py: give a sample value for {unknown} of {rule.rule}"
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", values[name], path)
        paths.add(path)
        if "run_id" in rule.arguments:
            paths.add(path.replace(sample["submitted"], sample["open"]))
    return sorted(paths)


def sign_in(page, base_url: str, username: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/login" not in page.url, f"could not sign in as {username}: {page.inner_text('main')[:300]}"


def is_html_page(page, url: str) -> bool:
    """Whether a URL answers with HTML (asked first, so downloads such as PDFs are not opened as pages)."""
    response = page.request.get(url, max_redirects=5)
    return response.headers.get("content-type", "").startswith("text/html")


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page as it is now; return its violations, each with the nodes it found."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)  # evaluated through the DevTools protocol, so the page's CSP does not block it
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    return result


def describe(violations: list[dict]) -> str:
    return "\n".join(f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
                     for v in violations)

