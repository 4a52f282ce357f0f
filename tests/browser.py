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
              "user_id": sample.get("user_id", "1"), "report_id": "none"}
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
    unlock_phone(page)  # the phone's PIN: chosen at the first sign-in in this browser, typed after


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



PHONE_PIN = "246810"


def unlock_phone(page, pin: str = PHONE_PIN) -> str:
    """After signing in: choose the phone's PIN (first sign-in on this browser) or type it; return what was asked.

    Waits for the lock screen (static/js/lock.js) to say what it needs, as a person would see it, then answers
    it through its form. Returns "new", "locked", "open" (nothing asked: the app was already unlocked) or
    "no-script" (a browser without JavaScript).
    """
    # Without JavaScript nothing is kept on the phone and nothing is asked: the browser then parses <noscript>'s
    # content as elements (with scripting on it is text).
    if page.evaluate("() => document.querySelector('noscript link') !== null"):
        return "no-script"
    page.wait_for_function("() => ['new', 'locked', 'open', 'none'].includes(document.documentElement.dataset.vault)")
    state = page.evaluate("() => document.documentElement.dataset.vault")
    if state == "new":
        page.fill("#vault-new-pin", pin)
        page.fill("#vault-new-confirm", pin)
        page.click("#vault-new button[type=submit]")
    elif state == "locked":
        page.fill("#vault-pin", pin)
        page.click("#vault-unlock button[type=submit]")
    if state in ("new", "locked"):
        page.wait_for_function("() => document.documentElement.dataset.vault === 'open'", timeout=30000)
    return state


# What the app keeps in one IndexedDB store, as [key, value] pairs opened with the vault's key through the app's
# own module (static/js/idb.js): the page must be an unlocked page of the app. `bounds`: a key range.
OPENED_JS = """async ([store, bounds]) => {
  const idb = await import("/static/js/idb.js");
  const query = bounds ? IDBKeyRange.bound(bounds[0], bounds[1]) : undefined;
  return idb.tx(store, "readonly", async (s) => {
    const keys = await s[store].getAllKeys(query);
    const values = await s[store].getAll(query);
    return keys.map((key, i) => [key, values[i]]);
  });
}"""

# The same store as it lies in the browser's storage, read without the app's code or the key.
RAW_JS = """(store) => new Promise((resolve, reject) => {
  const open = indexedDB.open("donoharm");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const t = open.result.transaction(store);
    const request = t.objectStore(store).getAll();
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
})"""


def opened_on_phone(page, store: str, bounds=None) -> list:
    """[key, value] pairs of one store as the app reads them (opened with the key)."""
    return page.evaluate(OPENED_JS, [store, bounds])


def raw_on_phone(page, store: str) -> list:
    """One store's values as stored: what someone with the phone's files but not the PIN would find."""
    return page.evaluate(RAW_JS, store)


def saved_page_js(path: str) -> str:
    """A function for page.evaluate: the page saved on the phone for `path`, opened with the key ("" if none)."""
    return f"""async () => {{
      const vault = await import("/static/js/vault.js");
      const saved = await (await caches.open("dnh-pages")).match({path!r});
      return saved ? (await vault.openPage(saved)).text() : "";
    }}"""
