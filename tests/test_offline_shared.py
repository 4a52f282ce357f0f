"""Offline, nothing lost, nothing sent twice, nothing shown to the next person (in Chromium at 360 px).

A shared phone keeps each person's changes apart; a refused change is tried again and heals when the run
is returned; a double tap is one change; two phones answering one step keep the answer made last and tell
the phone that lost; a server that never answers does not hold the run page. Every scenario counts the
events the server stored.
"""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser import PHONE_PIN
from tests.conftest import attestation, browser_login, complete_answers, csrf_from, event, login
from tests.test_offline import (
    PROTOCOL,
    TIMEOUT,
    answer,
    go_offline_ready,
    ready,
    server_events,
    server_run,
    start_run,
    unsent_text,
)

pytestmark = pytest.mark.browser
VERSION = "1.1.1"


@pytest.fixture
def phone(browser, live_server):
    """A new phone (browser context) at a phone's width; call it for each phone needed."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.base = live_server
        return page

    yield make
    for context in contexts:
        context.close()


def protocol_of(app):
    with app.app_context():
        from donoharm.services.library import get_registry
        return get_registry().get(PROTOCOL, VERSION)


def off_thread(function, *args):
    """Call the API from another thread: Playwright's loop runs on this one, and issuing records uses asyncio."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def open_saved_run(page, run_id):
    """Sign in, let the service worker take the page, and open the run (so the phone keeps a copy of it)."""
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)


def go_offline_on_the_run(page):
    page.context.set_offline(True)
    page.reload()  # the copy saved on the phone
    ready(page)


def offline_run_with_one_answer(page, label):
    """Signed in, offline, a run started on the phone and its first step answered; (run id, step id)."""
    go_offline_ready(page)
    run_id = start_run(page, label)
    step_id, kind = steps_of(page)[0]
    answer(page, step_id, kind)
    return run_id, step_id


def wait_until(condition, seconds=15, page=None):
    """Poll a condition; with a page, wait through Playwright so its route handlers keep running meanwhile."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def steps_of(page):
    return page.eval_on_selector_all("li.run-step", "els => els.map(e => [e.dataset.step, e.dataset.kind])")


def local_entries(page):
    """What this phone keeps in IndexedDB: (runs, events), each a list of dicts, opened with the phone's PIN
    (signed out, the app is locked: the test types the PIN as the next person on the phone would)."""
    return page.evaluate("""async (pin) => {
        const vault = await import('/static/js/vault.js');
        if (!(await vault.keyIfUnlocked()) && await vault.exists()) await vault.unlock(pin);
        const { all } = await import('/static/js/idb.js');
        return [await all('runs'), await all('events')];
    }""", PHONE_PIN)


# --- 1. A shared phone keeps each person's work apart ------------------------------------------------------

def test_a_shared_phone_never_shows_sends_or_discards_another_persons_work(phone, app, users):
    page = phone()
    run_id, step_id = offline_run_with_one_answer(page, "OP-TEST-101")  # acc, offline
    blank_url = page.url
    page.context.clear_cookies()  # acc's session ends without signing out
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=error]")

    browser_login(page, page.base, "acc2")  # someone else picks up the phone
    ready(page)
    assert page.locator("#local-runs").is_hidden()  # acc's unsent run is not listed for acc2
    assert "OP-TEST-101" not in page.content()
    page.wait_for_function("() => (localStorage.getItem('dnh-precached') || '').includes('acc2')")
    page.context.set_offline(True)
    page.goto(blank_url)  # acc's run, opened by hand on the phone
    ready(page)
    assert "not saved on this phone" in unsent_text(page)
    assert page.locator("details.step-actions:visible").count() == 0  # nothing to edit
    page.context.set_offline(False)

    page.goto(f"{page.base}/logout")  # acc2 has nothing unsent: no warning, and acc's work stays
    ready(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    runs, events = local_entries(page)
    assert [r["id"] for r in runs] == [run_id] and len(events) == 1 and events[0]["user"] == "acc"
    assert server_run(app, run_id) is None

    browser_login(page, page.base, "acc")  # acc comes back: sent under acc's name
    page.wait_for_selector("html[data-sync=sent]", state="attached")
    assert server_run(app, run_id)["created_by"] == users["acc"]
    stored = server_events(app, run_id)
    assert [(e["actor"], e["step"]) for e in stored] == [("acc", step_id)]


def test_signing_out_takes_the_persons_sent_work_off_the_phone(phone, app, users):
    page = phone()
    go_offline_ready(page)
    run_id = start_run(page, "OP-TEST-102")
    page.locator("#run-notes details.step-actions > summary").click()
    page.locator("#run-notes form[data-event=deviation] textarea").fill("Synthetic deviation text OP-TEST.")
    page.locator("#run-notes").get_by_role("button", name="Record deviation").click()
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert len(server_events(app, run_id)) == 1
    runs, events = local_entries(page)
    assert runs and events  # sent, but the label and the deviation text are still on the phone
    page.goto(f"{page.base}/logout")
    ready(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    assert local_entries(page) == [[], []]


# --- 2. A refused change is tried again, and heals when the run is returned --------------------------------

def test_a_refused_change_heals_after_the_run_is_returned(phone, app, api):
    acc_api, sup_api = api("acc"), api("sup")
    protocol = protocol_of(app)
    target = next(s for s in protocol.steps if not s.critical and s.kind == "yesno")
    run_id = acc_api.start_run(PROTOCOL, VERSION, label="OP-TEST-103")
    page = phone()
    open_saved_run(page, run_id)
    go_offline_on_the_run(page)
    answer(page, target.id, "yesno")  # on the phone, with no signal
    # Meanwhile the run is completed (all but that step) and submitted from another device.
    others = [e for e in complete_answers(protocol) if e["step"] != target.id]
    assert off_thread(acc_api.send, run_id, *others, attestation()).status_code == 200
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=error]")
    banner = unsent_text(page)
    assert target.text[:30] in banner and "Yes" in banner and "submitted" in banner
    item = page.locator(f"li.run-step[data-step='{target.id}']")
    assert item.get_attribute("data-status") == "todo"  # a refused answer is not counted as recorded
    # The supervisor returns the run, asking for exactly that answer.
    assert off_thread(sup_api.send, run_id, event("review.returned", note="Answer the remaining step.")) \
        .status_code == 200
    page.reload()  # opening a page tries refused changes again at once
    ready(page)
    page.wait_for_selector("#sync-status[data-state=sent]")
    stored = server_events(app, run_id)
    assert [e["type"] for e in stored[-2:]] == ["review.returned", "step.set"]
    assert stored[-1]["step"] == target.id and stored[-1]["value"] == "yes"


def test_a_busy_answer_is_not_a_refusal(phone, app):
    page = phone()
    run_id, _step = offline_run_with_one_answer(page, "OP-TEST-104")
    busy = []

    def busy_once(route):
        if busy:
            return route.continue_()
        busy.append(1)
        route.fulfill(status=409, content_type="application/json",
                      body='{"error": {"code": "busy", "message": "send the events again", "details": null}}')

    page.context.route("**/api/v1/runs/*/events", busy_once)  # the page and its service worker alike
    page.context.set_offline(False)
    wait_until(lambda: busy, page=page)
    page.wait_for_timeout(300)
    assert page.get_attribute("#sync-status", "data-state") != "error" and "refused" not in unsent_text(page)
    page.evaluate("window.dispatchEvent(new Event('dnh:send'))")  # the next round sends it
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert busy == [1] and len(server_events(app, run_id)) == 1


def test_an_answer_made_offline_can_be_cleared_offline(phone, app):
    page = phone()
    run_id, step_id = offline_run_with_one_answer(page, "OP-TEST-110")
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    item.locator("details.more-actions > summary").click()
    item.get_by_role("button", name="Clear the answer").click()
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=todo]")
    page.context.set_offline(False)
    wait_until(lambda: len(server_events(app, run_id)) == 2)
    assert [e["type"] for e in server_events(app, run_id)] == ["step.set", "step.cleared"]


# --- 3. One tap, one event ---------------------------------------------------------------------------------

@pytest.mark.parametrize("control", ["Add note", "Record deviation"])
def test_a_double_tap_on_a_note_or_deviation_stores_one_event_online(phone, app, api, control):
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-105")
    page = phone()
    browser_login(page, page.base)
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)
    form = "note" if control == "Add note" else "deviation"
    page.locator("#run-notes details.step-actions > summary").click()
    page.locator(f"#run-notes form[data-event={form}] textarea").fill("Synthetic OP-TEST text.")
    page.locator("#run-notes").get_by_role("button", name=control).dblclick()
    wait_until(lambda: server_events(app, run_id))
    page.wait_for_timeout(1000)  # a second event, if one had been made, would have gone by now
    assert [e["type"] for e in server_events(app, run_id)] == [form]


def test_a_double_tap_on_submit_offline_stores_one_submission(phone, app):
    page = phone()
    go_offline_ready(page)
    run_id = start_run(page, "OP-TEST-106")
    for step_id, kind in steps_of(page):
        answer(page, step_id, kind)
    page.fill("#attest-name", "Test Accompanier")
    page.check("#attest-confirm")
    page.locator("#submit-local button[type=submit]").dblclick()
    page.wait_for_selector("#run[data-status=submitted]")
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    types = [e["type"] for e in server_events(app, run_id)]
    assert types.count("run.submitted") == 1 and types[-1] == "run.submitted"
    assert page.get_attribute("#sync-status", "data-state") == "sent"  # no red banner on a submitted run


def test_a_double_post_of_a_server_form_is_one_event(client, app, api):
    """Without JavaScript: the form carries its event's id, so a second tap is the same change."""
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-107")
    login(client, "acc")
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    form = re.search(r'<form[^>]*data-event="note"[^>]*>(.*?)</form>', html.split('id="run-notes"')[1], re.S).group(1)
    event_id = re.search(r'name="event_id" value="([^"]+)"', form).group(1)
    data = {"csrf_token": csrf_from(client, f"/runs/{run_id}"), "event_id": event_id, "type": "note", "step": "",
            "note": "Synthetic OP-TEST note."}
    for _tap in range(2):
        assert client.post(f"/runs/{run_id}/events", data=data).status_code == 302
    assert [e["id"] for e in server_events(app, run_id)] == [event_id]
    # The same form used again for another note (the back button) is a new change, not a refusal.
    again = client.post(f"/runs/{run_id}/events", data={**data, "note": "Another synthetic note."})
    assert again.status_code == 302
    assert [e["note"] for e in server_events(app, run_id)] == ["Synthetic OP-TEST note.", "Another synthetic note."]


# --- 4. Two phones, one step: the answer made last wins, and the phone that lost is told --------------------

def test_two_phones_answering_one_step_keep_the_answer_made_last(phone, app, api):
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-108")
    protocol = protocol_of(app)
    target = next(s for s in protocol.steps if s.kind == "yesno")
    first, second = phone(), phone()
    for page in (first, second):
        open_saved_run(page, run_id)
    go_offline_on_the_run(first)
    answer(first, target.id, "yesno")  # "Yes", made first, with no signal
    item = second.locator(f"li.run-step[data-step='{target.id}']")
    item.locator("details.step-actions > summary").click()
    item.get_by_role("button", name="No", exact=True).click()  # "No", made later, sent at once
    wait_until(lambda: [e["value"] for e in server_events(app, run_id) if e["step"] == target.id] == ["no"])
    first.context.set_offline(False)  # the earlier answer arrives last
    notice = first.locator("#run-notices")
    notice.wait_for()
    assert f"“{target.text}” was changed on another phone" in notice.inner_text()
    assert "It now says: No" in notice.inner_text()
    assert "No" in first.locator(f"li.run-step[data-step='{target.id}'] p.answer").inner_text()
    stored = [e for e in server_events(app, run_id) if e["step"] == target.id]
    assert [e["value"] for e in stored] == ["no", "yes"]  # both kept in the chain, in arrival order
    state = api("sup").get(f"/api/v1/runs/{run_id}").get_json()["state"]
    assert state["steps"][target.id]["value"] == "no"
    first.get_by_role("button", name="OK, understood").click()
    notice.wait_for(state="detached")


# --- 5. A server that never answers does not hold the run page ------------------------------------------------

def test_a_server_that_never_answers_falls_back_to_the_saved_page(phone, app, api):
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-109")
    page = phone()
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{page.base}/runs/{run_id}")  # saved on the phone
    ready(page)
    frozen = threading.Event()
    views = app.view_functions
    real_show, real_events = views["runs.show"], views["api.post_events"]

    def never_answers(*args, **kwargs):
        frozen.wait(60)  # the connection is taken, the answer never comes
        return real_show(*args, **kwargs)

    views["runs.show"] = never_answers
    views["api.post_events"] = never_answers
    try:
        page.goto(f"{page.base}/runs/{run_id}", timeout=12_000)  # the saved copy, in a few seconds
        ready(page)
        assert page.locator("h1").inner_text() == "OP-TEST-109"
        step_id, kind = steps_of(page)[0]
        answer(page, step_id, kind)  # saved on the phone; the send gives up instead of hanging
        page.wait_for_selector("html[data-sync=offline]", state="attached", timeout=15_000)
        assert "not sent yet" in unsent_text(page)
    finally:
        views["runs.show"], views["api.post_events"] = real_show, real_events
        frozen.set()
    page.evaluate("window.dispatchEvent(new Event('dnh:send'))")
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert len(server_events(app, run_id)) == 1

