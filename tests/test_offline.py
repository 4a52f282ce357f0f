"""Offline-first runs in a real browser: start, answer and submit with no network; nothing lost or sent twice."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from donoharm.db import connect
from donoharm.db import records as records_db
from donoharm.db import runs as runs_db
from tests.browser import axe_violations, unlock_phone
from tests.conftest import PASSWORD, browser_login

pytestmark = pytest.mark.browser

PROTOCOL = "social-worker-accompaniment"  # every step kind: check, yesno, count, time, choice, text
TIMEOUT = 15_000


@pytest.fixture
def page(context, live_server):
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.base = live_server
    return page


def go_offline_ready(page):
    """Sign in, wait until the service worker controls the page and private pages are saved, then go offline."""
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => localStorage.getItem('dnh-precached') !== null")
    page.context.set_offline(True)


def ready(page):
    """Wait until the app's script has set up the page (a person's tap could come sooner; the test's must not)."""
    page.wait_for_selector("html[data-app=ready]", state="attached")


def start_run(page, label="OP-TEST-001", online=False):
    """Start a run from the form: offline it opens on the saved page; with a signal (`online`) the server
    creates it at once and it opens at its own address."""
    page.goto(f"{page.base}/runs/new")
    ready(page)
    page.select_option("#protocol", value=page.eval_on_selector(
        "#protocol", f"s => [...s.options].find(o => o.value.startsWith('{PROTOCOL}@')).value"))
    page.fill("#label", label)
    page.click("#start-run button[type=submit]")
    page.wait_for_url("**/runs/*-*" if online else "**/offline/runs/**")
    page.wait_for_selector("#run[data-run-id]:not([data-run-id=''])")
    ready(page)
    return page.get_attribute("#run", "data-run-id")


def answer(page, step_id, kind):
    """Answer one step through its form, as a person would."""
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    if kind == "check":
        item.get_by_role("button", name="Mark as done").click()
    elif kind == "yesno":
        item.get_by_role("button", name="Yes", exact=True).click()
    else:
        if kind == "choice":
            item.locator("input[type=radio]").first.check()
        elif kind == "count":
            item.locator("input[type=number]").fill("3")
        elif kind == "time":
            item.locator("input[name=value][type=text]").fill("21:30")
        elif kind == "text":
            item.locator("textarea[name=value]").fill("Done as agreed.")
        item.get_by_role("button", name="Save answer").click()
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=done]")


def mark_na(page, step_id, reason):
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    item.locator("details.more-actions > summary").click()
    item.locator("form[data-event='step.na'] textarea").fill(reason)
    item.get_by_role("button", name="Mark not applicable").click()
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=na]")


def deviate(page, step_id, note):
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    item.locator("details.more-actions > summary").click()
    item.locator("form[data-event=deviation] textarea").fill(note)
    item.get_by_role("button", name="Record deviation").click()
    item.locator(".deviation-note", has_text=note).wait_for()


def carry_out(page):
    """Answer every step (one N/A, one with a deviation first), then submit; return the number of events."""
    steps = page.eval_on_selector_all("li.run-step", "els => els.map(e => [e.dataset.step, e.dataset.kind])")
    count = 0
    for index, (step_id, kind) in enumerate(steps):
        if index == 1:
            mark_na(page, step_id, "No social worker on this operation.")
        else:
            if index == 2:
                deviate(page, step_id, "Started ten minutes late.")
                count += 1
            answer(page, step_id, kind)
        count += 1
    page.fill("#attest-name", "Test Accompanier")
    page.check("#attest-confirm")
    page.click("#submit-local button[type=submit]")
    page.wait_for_selector("#run[data-status=submitted]")
    return count + 1


def unsent_text(page):
    return page.locator("#sync-status").inner_text()


def server_events(app, run_id):
    db = connect(app.config["DATABASE"])
    try:
        return runs_db.events_of(db, run_id)
    finally:
        db.conn.close()


def server_run(app, run_id):
    db = connect(app.config["DATABASE"])
    try:
        rows = list(db["runs"].rows_where("id = ?", [run_id]))
        return rows[0] if rows else None
    finally:
        db.conn.close()


def test_pages_saved_for_offline_use_are_fetched_as_background_requests(page):
    # Marked so that the server neither sets the session cookie nor hands them the person's next message.
    saved = {}
    page.on("request", lambda request: saved.__setitem__(request.url, request.headers.get("x-background-fetch"))
            if "/offline/" in request.url and request.resource_type == "fetch" else None)
    browser_login(page, page.base)
    page.wait_for_function("() => localStorage.getItem('dnh-precached') !== null")
    assert any("/offline/runs/" in url for url in saved)
    assert set(saved.values()) == {"1"}, saved


def test_whole_run_offline_then_sent_once(page, app):
    go_offline_ready(page)
    run_id = start_run(page)
    made = carry_out(page)
    assert "not sent yet" in unsent_text(page)
    steps = page.locator("li.run-step").count()  # every step of the current version; one marked not applicable
    assert page.locator("[data-role=progress]").inner_text().startswith(
        f"{steps - 1} of {steps} steps answered, 1 not applicable")

    page.reload()  # still offline: the page comes from the phone, its answers from the outbox
    ready(page)
    page.wait_for_selector("#run[data-status=submitted]")
    assert f"{made + 1} changes not sent yet" in unsent_text(page)  # the run itself plus its events
    assert page.locator("li.run-step[data-status=done]").count() == steps - 1
    assert server_events(app, run_id) == []

    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    events = server_events(app, run_id)
    ids = [e["id"] for e in events]
    assert len(ids) == made and len(set(ids)) == made
    assert events[-1]["type"] == "run.submitted"
    run = server_run(app, run_id)  # started when the phone says, not when the signal came back
    started, received = (datetime.fromisoformat(run[key]) for key in ("created_at", "received_at"))
    assert run["created_at"] <= events[0]["at"] and started < received
    page.goto(f"{page.base}/runs/{run_id}")
    assert page.locator("[data-role=run-status]").inner_text() == "Submitted, waiting for review"
    db = connect(app.config["DATABASE"])
    try:  # the submission, once it reached the server, was sealed in a signed record like any other
        assert [r["status"] for r in records_db.records_of(db, run_id)] == ["submitted"]
    finally:
        db.conn.close()


def answer_first(page, n):
    steps = page.eval_on_selector_all("li.run-step", "els => els.map(e => [e.dataset.step, e.dataset.kind])")
    for step_id, kind in steps[:n]:
        answer(page, step_id, kind)


def test_network_cut_in_the_middle_of_a_batch_sends_each_event_once(page, app):
    go_offline_ready(page)
    run_id = start_run(page)
    answer_first(page, 6)
    cut = {"done": 0}

    def lose_the_answer(route):
        # The server receives and stores the batch, then the connection drops before the phone hears back.
        if cut["done"]:
            return route.continue_()
        cut["done"] += 1
        route.fetch()
        route.abort("connectionreset")

    page.route("**/api/v1/runs/*/events", lose_the_answer)
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert cut["done"] == 1
    ids = [e["id"] for e in server_events(app, run_id)]
    assert len(ids) == 6 and len(set(ids)) == 6


def test_session_expired_offline_keeps_the_outbox_until_signed_in_again(page, app):
    go_offline_ready(page)
    run_id = start_run(page)
    answer_first(page, 3)
    page.context.clear_cookies()  # the session ended while the phone had no signal
    page.context.set_offline(False)
    link = page.get_by_role("link", name="Sign in again")
    link.wait_for()
    assert page.get_attribute("#sync-status", "data-state") == "error"
    assert "4 changes are kept on this phone" in unsent_text(page)
    assert server_events(app, run_id) == []
    link.click()
    page.fill("input[name=username]", "acc")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    unlock_phone(page)  # signed out, the app locked: the PIN again
    page.wait_for_selector("#sync-status[data-state=sent]")  # sent on the next load after signing in
    assert len({e["id"] for e in server_events(app, run_id)}) == 3
    page.goto(f"{page.base}/runs/{run_id}")
    assert page.locator("li.run-step[data-status=done]").count() == 3


def local_state(page):
    return page.evaluate("""async () => {
        const names = await caches.keys();
        const dbs = (await indexedDB.databases()).map(d => d.name);
        return {caches: names, dbs};
    }""")


def test_sign_out_with_unsent_changes_warns_and_refuses_unless_discarded(page, app, monkeypatch):
    from werkzeug.exceptions import ServiceUnavailable

    from donoharm.services import run_service

    def unavailable(*args, **kwargs):
        raise ServiceUnavailable()

    monkeypatch.setattr(run_service, "start_run", unavailable)  # online, but the server cannot take runs
    go_offline_ready(page)
    start_run(page)
    answer_first(page, 1)
    page.context.set_offline(False)
    page.goto(f"{page.base}/logout")
    ready(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    warning = page.locator("#unsent-warning")
    warning.wait_for()
    assert "2 changes on this phone have not been sent yet" in warning.inner_text()
    page.goto(f"{page.base}/")
    assert "/login" not in page.url  # still signed in
    page.goto(f"{page.base}/logout")
    ready(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.check("#discard-unsent")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    assert "dnh-pages" not in local_state(page)["caches"]  # the next person sees none of the saved pages
    page.goto(f"{page.base}/")
    assert "/login" in page.url


def test_wipe_this_phone_clears_saved_pages_and_local_data(page, app):
    go_offline_ready(page)
    page.context.set_offline(False)
    before = local_state(page)
    assert "dnh-pages" in before["caches"] and "donoharm" in before["dbs"]
    page.goto(f"{page.base}/logout")
    ready(page)
    usage = page.locator("#storage-use")  # persistent storage was asked for; the use is shown
    usage.wait_for()
    assert "MB of" in usage.inner_text()
    with page.expect_response(lambda r: r.url.endswith("/logout") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Remove this app’s data from this phone and sign out").click()
    assert posted.value.all_headers().get("clear-site-data") == '"cache", "storage"'
    page.wait_for_url("**/login")
    assert "dnh-pages" not in local_state(page)["caches"]


def test_refused_change_is_shown_with_the_reason_and_kept(page, app, api):
    from tests.conftest import attestation, complete_answers

    phone_api = api("acc")
    run_id = phone_api.start_run(PROTOCOL, "1.1.1", label="OP-TEST-002")
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{page.base}/runs/{run_id}")  # saved on the phone by the service worker
    ready(page)
    page.context.set_offline(True)
    page.reload()
    ready(page)
    answer_first(page, 1)
    # Meanwhile the run is completed and submitted from another device.
    with app.app_context():
        from donoharm.services.library import get_registry
        protocol = get_registry().get(PROTOCOL, "1.1.1")
    # On another thread: Playwright's event loop runs on this one, and issuing the signed record uses asyncio.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(phone_api.send, run_id, *complete_answers(protocol), attestation()).result()
    assert sent.status_code == 200
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=error]")
    text = unsent_text(page)
    first_step = page.locator("li.run-step .step-text span").first.inner_text()
    assert "The server refused your change" in text and "submitted" in text
    assert first_step in text  # it names the step the refused change was about
    events = server_events(app, run_id)
    assert events[-1]["type"] == "run.submitted"  # the phone's late answer was not slipped in after it
    page.reload()
    ready(page)
    page.wait_for_selector("#sync-status[data-state=error]")  # still kept, still explained

    # The person gives it up, in two taps; it leaves the phone without ever reaching the server.
    page.get_by_role("button", name="Discard this change").click()
    assert "It will never reach the server." in unsent_text(page)
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, discard it").click()
    ready(page)
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert page.evaluate("async () => (await import('/static/js/outbox.js')).unsentCount()") == 0
    assert server_events(app, run_id) == events


def test_run_started_offline_on_a_version_retired_meanwhile_is_still_accepted(page, app):
    from tests.conftest import csrf_from, login

    go_offline_ready(page)
    page.goto(f"{page.base}/runs/new")  # the copy saved on this phone
    ready(page)
    version = page.eval_on_selector(
        "#protocol", f"s => [...s.options].find(o => o.value.startsWith('{PROTOCOL}@')).value").split("@")[1]
    # While the phone has no signal, a trainer retires the very version it is about to start.
    trainer = app.test_client()
    login(trainer, "trainer")
    token = csrf_from(trainer, f"/protocols/{PROTOCOL}/{version}")
    assert trainer.post(f"/protocols/{PROTOCOL}/{version}/retire", data={"csrf_token": token}).status_code == 302
    time.sleep(0.05)  # the phone dates a run to the millisecond: started after the retirement, not at the same time
    run_id = start_run(page, "OP-TEST-008")
    answer_first(page, 2)
    page.context.set_offline(False)
    # The phone could not know: the operation's record is accepted on the version it was carried out on.
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert server_run(app, run_id)["protocol_version"] == version
    assert len(server_events(app, run_id)) == 2


def test_two_tabs_send_one_at_a_time(context, live_server, app, monkeypatch):
    from donoharm.services import run_service

    calls = []
    real = run_service.append_events

    def counting(*args, **kwargs):
        calls.append(len(args[3]))
        return real(*args, **kwargs)

    monkeypatch.setattr(run_service, "append_events", counting)
    context.set_default_timeout(TIMEOUT)
    first = context.new_page()
    first.base = live_server
    go_offline_ready(first)
    run_id = start_run(first)
    answer_first(first, 3)
    second = context.new_page()
    second.goto(first.url)
    ready(second)
    context.set_offline(False)  # both tabs (and the service worker) want to send now
    for tab in (first, second):
        tab.wait_for_selector("#sync-status[data-state=sent]")
    assert calls == [3]
    assert len(server_events(app, run_id)) == 3


def test_run_keeps_its_version_when_a_new_one_is_published_while_offline(page, app):
    from pathlib import Path

    from donoharm.db import get_db
    from donoharm.services.library import get_registry, publish, set_current

    go_offline_ready(page)
    run_id = start_run(page)
    pinned = page.get_attribute("#run", "data-protocol-version")
    answer_first(page, 2)
    source = Path(app.root_path).parent / "protocols" / PROTOCOL / f"{pinned}.yaml"
    text = source.read_text().replace(f"version: {pinned}", "version: 9.0.0", 1)
    assert "version: 9.0.0" in text
    with app.app_context():  # a trainer publishes a new current version meanwhile
        newer, created = publish(get_db(), text, None)
        set_current(get_db(), newer, None)
        assert created and get_registry().current(PROTOCOL).version == "9.0.0"
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert server_run(app, run_id)["protocol_version"] == pinned
    assert len(server_events(app, run_id)) == 2


def test_changed_csrf_token_is_fetched_again_before_resending(page, app):
    go_offline_ready(page)
    run_id = start_run(page)
    answer_first(page, 2)
    refused = []

    def stale_token_once(route):
        # As if the token the phone holds were no longer the session's: the server answers 400 csrf.
        if refused:
            return route.continue_()
        refused.append(route.request.headers.get("x-csrftoken"))
        route.fulfill(status=400, content_type="application/json",
                      body='{"error": {"code": "csrf", "message": "send the X-CSRFToken header", "details": null}}')

    # Back online, the page or its service worker (Background Sync) may send first: watch and route both.
    page.context.route("**/api/v1/runs/*/events", stale_token_once)
    with page.context.expect_event("request", lambda request: request.url.endswith("/api/v1/session")) as asked:
        page.context.set_offline(False)
    assert asked.value  # a token is always fetched before sending
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert len(refused) == 1
    assert len(server_events(app, run_id)) == 2


def test_shared_phone_sends_each_persons_changes_only_under_their_own_name(page, app, users):
    go_offline_ready(page)
    run_id = start_run(page)
    answer_first(page, 1)
    page.context.clear_cookies()  # acc's session ends; acc2 picks up the phone
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=error]")  # back online, and told to sign in again
    browser_login(page, page.base, "acc2")
    ready(page)
    page.wait_for_selector("html[data-sync]", state="attached")
    assert server_run(app, run_id) is None and server_events(app, run_id) == []
    # Let acc2's pages finish saving before the phone changes hands again (their responses set cookies).
    page.wait_for_function("() => (localStorage.getItem('dnh-precached') || '').includes('acc2')")
    page.context.clear_cookies()
    browser_login(page, page.base, "acc")
    page.wait_for_selector("html[data-sync=sent]", state="attached")
    assert server_run(app, run_id)["created_by"] == users["acc"]
    assert len(server_events(app, run_id)) == 1


def test_check_page_submits_only_after_this_runs_changes_are_sent(page, app, api):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import complete_answers

    phone_api = api("acc")
    run_id = phone_api.start_run(PROTOCOL, "1.1.1", label="OP-TEST-003")
    with app.app_context():
        from donoharm.services.library import get_registry
        protocol = get_registry().get(PROTOCOL, "1.1.1")
    with ThreadPoolExecutor(1) as pool:  # Playwright's event loop runs on this thread
        assert pool.submit(phone_api.send, run_id, *complete_answers(protocol)).result().status_code == 200
    browser_login(page, page.base)
    page.route("**/api/v1/runs/*/events", lambda route: route.abort())  # the signal is too weak to send
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)
    page.locator("#run-notes details.step-actions > summary").click()
    page.locator("#run-notes form[data-event=note] textarea").fill("Team briefed at the station.")
    page.locator("#run-notes").get_by_role("button", name="Add note").click()
    page.wait_for_selector("#sync-status[data-state=saved]")
    page.goto(f"{page.base}/runs/{run_id}/check")
    ready(page)
    page.fill("#name", "Test Accompanier")
    page.check("#confirmed")
    page.click("#submit-run button[type=submit]")
    page.locator("#submit-run .js-error").wait_for()
    assert server_events(app, run_id)[-1]["type"] == "step.set"  # not submitted ahead of the note
    page.unroute("**/api/v1/runs/*/events")
    page.click("#submit-run button[type=submit]")
    page.wait_for_url(f"**/runs/{run_id}")
    types = [e["type"] for e in server_events(app, run_id)]
    assert types[-2:] == ["note", "run.submitted"]
