"""The personal-data guard on the phone (Chromium at 360 px, issue 18): before a note, reason, deviation or text
answer is saved on the phone — offline too — a text that looks like it holds personal data is questioned next to
the field; nothing is saved until the person rephrases it or confirms it identifies nobody, and the server then
stores it with that confirmation. A text a supervisor removes leaves the phone's own copies as well."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.browser import axe_violations, describe, opened_on_phone, saved_page_js
from tests.conftest import Api, browser_login, event
from tests.test_offline import TIMEOUT, ready, server_events
from tests.test_offline_shared import off_thread

pytestmark = pytest.mark.browser

PROTOCOL, VERSION = "social-worker-accompaniment", "2.0.0"
STEP = "written-accompaniment-agreement"
TEXT_STEP = "police-debrief"
SHOTS = Path("/tmp/shots-phone")
REMOVED = "Text removed (redaction)"


def started(app) -> str:
    return off_thread(lambda: Api(app, "acc").start_run(protocol_id=PROTOCOL, version=VERSION))


def open_run(page, run_id):
    """Sign in, let the service worker take the page (it keeps a copy of the run page), open the run."""
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)


def note_form(page, step_id):
    """Open a step's "Not applicable, deviation or note" panel; return its note form."""
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    item.locator("details.more-actions > summary").click()
    return item.locator("form[data-event=note]")


def kept_on_phone(page) -> list[dict]:
    """Every event kept in the phone's IndexedDB, opened with the vault's key."""
    return [value for _, value in opened_on_phone(page, "events")]


def api_events(app, run_id) -> list[dict]:
    return off_thread(lambda: Api(app, "acc").get(f"/api/v1/runs/{run_id}").get_json()["events"])


def test_offline_a_note_with_an_age_is_questioned_and_saved_only_once_confirmed(phone, app):
    page = phone
    run_id = started(app)
    open_run(page, run_id)
    page.context.set_offline(True)
    page.evaluate("() => { window.sameDocument = true; }")  # all on the phone: no reload, no navigation

    form = note_form(page, STEP)
    note = form.locator("textarea[name=note]")
    typed = "Walked a 15-year-old to the van first."
    note.fill(typed)
    form.get_by_role("button", name="Add note").click()
    warning = form.locator(".personal-data")
    warning.wait_for()
    assert "These parts look like personal data:" in warning.inner_text()
    assert "“15-year-old” — an age" in warning.inner_text()
    assert warning.get_attribute("role") == "alert"  # read out at once
    assert warning.get_attribute("id") in note.get_attribute("aria-describedby").split()
    assert kept_on_phone(page) == []  # nothing saved yet, not even on the phone
    assert page.locator(f"li.run-step[data-step='{STEP}'] .step-note").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    warning.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "warning-360.png"))
    # Nothing wider than the phone's screen; the question passes axe (names, contrast, lists).
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    violations = axe_violations(page)
    assert not violations, describe(violations)

    # Rephrase: the question goes, the text stays as typed, the field has the focus.
    warning.get_by_role("button", name="Rephrase").click()
    assert warning.count() == 0
    assert note.input_value() == typed
    assert page.evaluate("() => document.activeElement.name") == "note"
    assert kept_on_phone(page) == []

    # Asked again, then confirmed: saved on the phone with the confirmation, shown on the step.
    form.get_by_role("button", name="Add note").click()
    warning.get_by_role("button", name="This does not identify anyone — save").click()
    page.locator(f"li.run-step[data-step='{STEP}'] .step-note", has_text=typed).wait_for()
    assert form.locator(".personal-data").count() == 0
    [saved] = kept_on_phone(page)
    assert saved["note"] == typed and saved["text_confirmed"] is True and not saved["sent"]
    assert server_events(app, run_id) == []

    # An ordinary note is saved at once, without a question.
    form = note_form(page, "arrival-time")
    form.locator("textarea[name=note]").fill("Handover as agreed, ten minutes late.")
    form.get_by_role("button", name="Add note").click()
    page.locator("li.run-step[data-step='arrival-time'] .step-note", has_text="ten minutes late").wait_for()
    assert form.locator(".personal-data").count() == 0
    assert len(kept_on_phone(page)) == 2

    assert page.evaluate("() => window.sameDocument") is True
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    by_note = {e["note"]: e for e in api_events(app, run_id)}
    assert by_note[typed]["text_confirmed"] is True  # the server keeps the person's confirmation
    assert by_note["Handover as agreed, ten minutes late."]["text_confirmed"] is False
    stored = {e["note"]: e for e in server_events(app, run_id)}
    assert stored[typed]["text_flagged"]  # marked for the supervisor, who may remove it


def test_offline_a_text_answer_with_a_phone_number_is_questioned_too(phone, app):
    page = phone
    run_id = started(app)
    open_run(page, run_id)
    page.context.set_offline(True)
    item = page.locator(f"li.run-step[data-step='{TEXT_STEP}']")
    item.locator("details.step-actions > summary").click()
    answer = item.locator("textarea[name=value]")
    # The hint beside the field says what never to write and that names are not recognised.
    hint = item.locator("form[data-event='step.set'] .no-names")
    assert "it cannot recognise names" in hint.inner_text()
    answer.fill("Debrief by phone on +44 7700 900123.")
    item.get_by_role("button", name="Save answer").click()
    warning = item.locator(".personal-data")
    warning.wait_for()
    assert "“+44 7700 900123” — a phone number" in warning.inner_text()
    assert kept_on_phone(page) == []
    # Changing the text takes the question away; the new text is checked when saved.
    answer.fill("Debrief held with the team lead.")
    assert warning.count() == 0
    item.get_by_role("button", name="Save answer").click()
    page.wait_for_selector(f"li.run-step[data-step='{TEXT_STEP}'][data-status=done]")
    [saved] = kept_on_phone(page)
    assert saved["value"] == "Debrief held with the team lead." and not saved.get("text_confirmed")


def until(condition, seconds=TIMEOUT / 1000):
    """Wait for something the page's script does in the background (a promise cannot be waited on by
    wait_for_function)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def redact_off_thread(app, run_id, event_id):
    def work():
        sup = Api(app, "sup")
        response = sup.send(run_id, event("redaction", value={"event": event_id},
                                          note="Synthetic reason: a name was written"))
        assert response.status_code == 200, response.get_json()
    off_thread(work)


def test_a_removed_text_leaves_the_phone_and_its_saved_page_too(phone, app):
    page = phone
    run_id = started(app)
    open_run(page, run_id)
    written = "SYNTHETIC-NAME-7Q waited outside."
    form = note_form(page, STEP)
    form.locator("textarea[name=note]").fill(written)
    form.get_by_role("button", name="Add note").click()
    until(lambda: [e["sent"] for e in kept_on_phone(page)] == [True])
    [sent] = kept_on_phone(page)  # sent, and still kept on the phone until the server's page shows it
    assert sent["note"] == written
    page.reload()  # the server's page, with the note, is saved on the phone for use offline
    ready(page)
    saved_page = saved_page_js(f"/runs/{run_id}")
    until(lambda: written in page.evaluate(saved_page))

    redact_off_thread(app, run_id, sent["id"])
    # The phone hears of the removal with its next change (the server answers with the run's state).
    page.locator(f"li.run-step[data-step='{STEP}'] details.step-actions > summary").click()
    page.locator(f"li.run-step[data-step='{STEP}']").get_by_role("button", name="Yes", exact=True).click()
    until(lambda: written not in page.evaluate(saved_page)
          and f'<em class="text-removed">{REMOVED}</em>' in page.evaluate(saved_page))
    kept = json.dumps(kept_on_phone(page)) + json.dumps(opened_on_phone(page, "meta"))
    assert "SYNTHETIC-NAME-7Q" not in kept

    # Offline, the page saved on the phone says the text was removed, and never shows it.
    page.context.set_offline(True)
    page.reload()
    ready(page)
    step = page.locator(f"li.run-step[data-step='{STEP}']")
    assert REMOVED in step.inner_text() and "SYNTHETIC-NAME-7Q" not in page.content()
    assert "None" not in step.locator(".step-note").inner_text()


def test_a_note_saved_before_the_guard_is_refused_by_the_server_and_can_be_confirmed_from_the_banner(phone, app):
    # Upgrade day: a note saved on the phone by the app before the guard existed, never asked about, reaches the
    # server, which refuses it. The banner names what was found; the person confirms and it goes, or discards it.
    page = phone
    run_id = started(app)
    open_run(page, run_id)
    typed = "Call back on 555-0123 after the operation."
    page.context.set_offline(True)
    page.evaluate("""([run, note]) => new Promise((resolve, reject) => {
        const open = indexedDB.open("donoharm");
        open.onsuccess = () => {
            const t = open.result.transaction("events", "readwrite");
            t.objectStore("events").put({ id: crypto.randomUUID(), run, type: "note", step: null, value: null,
                note, at: new Date().toISOString(), sent: false, user: "acc" });
            t.oncomplete = () => { open.result.close(); resolve(); };
            t.onerror = () => reject(t.error);
        };
    })""", [run_id, typed])
    page.context.set_offline(False)
    page.reload()
    ready(page)
    status = page.locator("#sync-status[data-state=error]")
    status.wait_for()
    assert "The server found what may be personal data in your change" in status.inner_text()
    assert "“555-0123” (a phone number)" in status.inner_text()
    assert server_events(app, run_id) == []
    status.get_by_role("button", name="It does not identify anyone — send it").click()
    until(lambda: [e["note"] for e in server_events(app, run_id)] == [typed])
    [stored] = api_events(app, run_id)
    assert stored["text_confirmed"] is True
    page.wait_for_selector("#sync-status[data-state=sent]")


def test_without_javascript_the_server_asks_with_a_box_to_tick_and_keeps_the_text(phone, app):
    page = phone
    run_id = started(app)
    context = page.context.browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT)
    plain = context.new_page()
    try:
        browser_login(plain, page.base)
        plain.goto(f"{page.base}/runs/{run_id}")
        form = note_form(plain, STEP)
        typed = "Met a boy aged 15 at 12 Example Street."
        form.locator("textarea[name=note]").fill(typed)
        form.get_by_role("button", name="Add note").click()
        plain.wait_for_load_state()
        check = plain.locator(".personal-data")
        assert "“aged 15” — an age" in check.inner_text()
        assert re.search(r"“12 Example Street\.?” — a street address", check.inner_text())
        assert server_events(app, run_id) == []
        assert plain.evaluate("() => document.documentElement.scrollWidth") <= 360
        form = plain.locator(f"li.run-step[data-step='{STEP}'] form[data-event=note]")
        assert form.locator("textarea[name=note]").input_value() == typed  # nothing typed is lost
        form.get_by_label("This does not identify anyone").check()
        form.get_by_role("button", name="Add note").click()
        plain.wait_for_load_state()
        assert [e["note"] for e in server_events(app, run_id)] == [typed]
        assert [e["text_confirmed"] for e in api_events(app, run_id)] == [True]
    finally:
        context.close()
