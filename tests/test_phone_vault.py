"""The phone's vault (issue 20, parts 1 and 2), in Chromium at 360 px: what the app keeps on the phone is sealed
with a key derived from a PIN; the app locks when idle; 10 wrong PINs wipe it; Hide (one tap, or Escape) puts a
neutral page in place of the app and locks; the data can be wiped with no signal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import PHONE_PIN, opened_on_phone, raw_on_phone, unlock_phone
from tests.conftest import PASSWORD, browser_login
from tests.test_offline import ready, start_run
from tests.test_privacy_phone import note_form

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
NOTE = "Staff waited outside as agreed VAULTCHECK"
LABEL = "OP-TEST-777"
# Whether any page of the app is left in the browser's storage in the clear, read without the app's code.
SAVED_PAGES_JS = """async () => {
  if (!(await caches.has("dnh-pages"))) return [];
  const cache = await caches.open("dnh-pages");
  return Promise.all((await cache.keys()).map(async (request) => {
    const response = await cache.match(request);
    return { url: request.url, sealed: response.headers.get("X-Dnh-Sealed"), text: await response.text() };
  }));
}"""
# What is left of the app's IndexedDB: null when the database is gone, else the number of runs and events.
LEFT_JS = """async () => {
  if (!(await indexedDB.databases()).some((d) => d.name === "donoharm")) return null;
  return new Promise((resolve) => {
    const open = indexedDB.open("donoharm");
    open.onsuccess = () => {
      const d = open.result;
      if (!d.objectStoreNames.contains("runs")) { d.close(); return resolve(0); }
      const t = d.transaction(["runs", "events"]);
      const counts = [t.objectStore("runs").count(), t.objectStore("events").count()];
      t.oncomplete = () => { d.close(); resolve(counts[0].result + counts[1].result); };
    };
  });
}"""


def vault_state(page) -> str:
    return page.evaluate("() => document.documentElement.dataset.vault")


def offline_run_with_a_note(page) -> str:
    """Sign in, start a run with no signal and add a note to its first step; return the run's id."""
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => localStorage.getItem('dnh-precached') !== null")
    page.context.set_offline(True)
    run_id = start_run(page, label=LABEL)
    step = page.eval_on_selector("li.run-step", "li => li.dataset.step")
    form = note_form(page, step)
    form.locator("textarea[name=note]").fill(NOTE)
    form.get_by_role("button", name="Add note").click()
    page.locator(f"li.run-step[data-step='{step}'] .step-note", has_text=NOTE).wait_for()
    return run_id


def test_a_note_saved_offline_is_sealed_in_the_phones_storage(phone):
    page = phone
    run_id = offline_run_with_a_note(page)
    # The app reads it back with the key...
    notes = [value["note"] for _, value in opened_on_phone(page, "events")]
    assert NOTE in notes
    assert [value["label"] for _, value in opened_on_phone(page, "runs")] == [LABEL]
    # ...but the stores as they lie in the browser's files hold neither the note nor the label: only the keys
    # IndexedDB looks things up by (random ids, numbers) and the sealed value.
    raw = {store: raw_on_phone(page, store) for store in ("runs", "events", "meta")}
    text = json.dumps(raw)
    assert NOTE not in text and "VAULTCHECK" not in text and LABEL not in text and '"acc"' not in text
    assert {key for event in raw["events"] for key in event} == {"seq", "id", "run", "sealed"}
    assert [run["id"] for run in raw["runs"]] == [run_id]
    # Saved pages are sealed too: no page of the app is kept readable.
    saved = page.evaluate(SAVED_PAGES_JS)
    assert saved and all(page_["sealed"] == "1" for page_ in saved)
    assert not any("My runs" in page_["text"] or "<html" in page_["text"] for page_ in saved)
    # The PIN itself is nowhere: the vault keeps a random salt and a sealed check value.
    assert PHONE_PIN not in text


def test_the_app_locks_when_idle_and_opens_with_the_pin(phone, app):
    page = phone
    app.config["PHONE_LOCK_MINUTES"] = 0.05  # 3 seconds, for the test; the default is 5 minutes
    browser_login(page, page.base)
    ready(page)
    page.wait_for_function("() => document.documentElement.dataset.vault === 'locked'", timeout=20000)
    prompt = page.locator("#vault")
    assert prompt.is_visible() and page.locator("#vault-pin").is_visible()
    assert page.evaluate("() => document.querySelector('main').inert") is True  # nothing behind it to reach
    assert page.evaluate("async () => (await import('/static/js/vault.js')).keyIfUnlocked()") is None
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "vault-locked-360.png"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360

    page.fill("#vault-pin", "000000")
    page.click("#vault-unlock button[type=submit]")
    error = page.locator("#vault-unlock .error-message")
    error.wait_for()
    assert "9 tries left" in error.inner_text()
    assert vault_state(page) == "locked"
    app.config["PHONE_LOCK_MINUTES"] = 5
    assert unlock_phone(page) == "locked"
    assert not prompt.is_visible()
    assert page.evaluate("() => document.querySelector('main').inert") is False


def test_choosing_a_pin_asks_for_it_twice_and_for_six_digits(phone):
    page = phone
    page.goto(f"{page.base}/login")
    page.fill("input[name=username]", "acc")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_function("() => document.documentElement.dataset.vault === 'new'")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "vault-new-pin-360.png"))
    page.fill("#vault-new-pin", "12345")
    page.fill("#vault-new-confirm", "12345")
    page.click("#vault-new button[type=submit]")
    assert "at least 6 digits" in page.locator("#vault-new .error-message").inner_text()
    page.fill("#vault-new-pin", "123456")
    page.fill("#vault-new-confirm", "123465")
    page.click("#vault-new button[type=submit]")
    assert "not the same" in page.locator("#vault-new .error-message").inner_text()
    assert vault_state(page) == "new"
    assert unlock_phone(page) == "new"


def test_ten_wrong_pins_wipe_the_apps_data(phone):
    page = phone
    offline_run_with_a_note(page)
    page.context.set_offline(False)
    page.goto(f"{page.base}/")
    ready(page)
    page.keyboard.press("Escape")  # hide: locks
    page.wait_for_url("**/hidden")
    page.goto(f"{page.base}/")
    page.wait_for_function("() => document.documentElement.dataset.vault === 'locked'")
    for attempt in range(1, 10):
        page.fill("#vault-pin", f"99999{attempt}")
        page.click("#vault-unlock button[type=submit]")
        left = 10 - attempt
        words = "1 try left" if left == 1 else f"{left} tries left"
        page.locator("#vault-unlock .error-message", has_text=words).wait_for()
    assert page.evaluate(LEFT_JS) > 0  # still there after 9
    page.fill("#vault-pin", "999990")
    page.click("#vault-unlock button[type=submit]")
    page.wait_for_function("() => document.documentElement.dataset.vault === 'wiped'")
    assert "10 wrong PINs: the app’s data on this phone has been wiped." in page.locator("#vault-wiped").inner_text()
    assert page.evaluate(LEFT_JS) in (None, 0)
    assert page.evaluate(SAVED_PAGES_JS) == []
    # The next sign-in on this phone chooses a new PIN.
    browser_login(page, page.base)


def test_hide_puts_a_neutral_page_in_place_and_back_does_not_show_the_run(phone, app):
    page = phone
    browser_login(page, page.base)
    run_id = start_run(page, label=LABEL, online=True)
    assert LABEL in page.content()
    page.get_by_role("link", name="Hide").click()
    page.wait_for_url("**/hidden")
    assert page.title() == "Notes"
    assert "Do No Harm" not in page.content() and LABEL not in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "hidden-360.png"))
    page.go_back()
    assert run_id not in page.url
    page.wait_for_function("() => ['locked', 'signed-out'].includes(document.documentElement.dataset.vault)")
    # Opening the run again asks for the PIN first.
    page.goto(f"{page.base}/runs/{run_id}")
    page.wait_for_function("() => document.documentElement.dataset.vault === 'locked'")
    assert page.locator("#vault").is_visible()
    assert page.evaluate("() => document.querySelector('main').inert") is True


def test_escape_hides_too(phone):
    page = phone
    browser_login(page, page.base)
    ready(page)
    page.keyboard.press("Escape")
    page.wait_for_url("**/hidden")
    assert page.evaluate("async () => (await import('/static/js/vault.js')).keyIfUnlocked()") is None


def test_the_apps_data_can_be_wiped_with_no_signal(phone):
    page = phone
    offline_run_with_a_note(page)  # offline from here on
    page.keyboard.press("Escape")
    page.wait_for_url("**/hidden")  # the neutral page is saved with the app: it shows with no signal
    assert page.title() == "Notes"
    page.goto(f"{page.base}/")  # the saved home page is sealed: the PIN page stands in for it
    page.wait_for_function("() => document.documentElement.dataset.vault === 'locked'")
    page.locator("#vault-unlock summary").click()
    page.get_by_role("button", name="Wipe the app’s data on this phone").click()
    page.wait_for_function("() => document.documentElement.dataset.vault === 'wiped'")
    assert "has been wiped" in page.locator("#vault-wiped").inner_text()
    assert page.evaluate(LEFT_JS) in (None, 0)
    assert page.evaluate(SAVED_PAGES_JS) == []


def test_signing_out_with_no_signal_locks_the_phone_and_ends_the_session_when_the_signal_returns(phone):
    page = phone
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => localStorage.getItem('dnh-precached') !== null")  # the sign-out page saved too
    page.context.set_offline(True)
    page.goto(f"{page.base}/logout")
    ready(page)
    page.locator("#logout-form").get_by_role("button", name="Sign out", exact=True).click()
    done = page.locator("#signed-out-offline")
    done.wait_for()
    assert "signed out on this phone" in done.inner_text()
    assert page.evaluate("async () => (await import('/static/js/vault.js')).keyIfUnlocked()") is None
    assert page.evaluate(SAVED_PAGES_JS) == []  # the person's saved pages are gone from the phone
    assert page.evaluate("() => localStorage.getItem('dnh-sign-out-pending')") == "acc"
    # The server still knows the session (no signal): it ends the next time a page opens with one.
    page.context.set_offline(False)
    assert page.request.get(f"{page.base}/api/v1/session").status == 200
    page.goto(f"{page.base}/")
    page.wait_for_url("**/login**")
    assert page.request.get(f"{page.base}/api/v1/session").status == 401
    assert page.evaluate("() => localStorage.getItem('dnh-sign-out-pending')") is None


# Each animation frame until the script has looked: whether the lock screen was on screen saying "Locked".
SAW_LOCKED_JS = """(() => {
  window.sawLocked = false;
  const look = () => {
    const box = document.querySelector("#vault .vault-box");
    const title = document.getElementById("vault-title");
    if (box && title && getComputedStyle(box).visibility === "visible" && box.offsetParent !== null
        && title.textContent.trim() === "Locked") window.sawLocked = true;
    if (document.documentElement.dataset.vault !== "open") requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();"""


def test_an_unlocked_app_never_flashes_locked_between_pages(phone):
    """Every signed-in page is covered until its script has checked the vault (nothing private shows first);
    while it checks, the cover says nothing, so a person moving between pages never sees "Locked"."""
    browser_login(phone, phone.base)
    phone.add_init_script(SAW_LOCKED_JS)
    for path in ("/runs/new", "/", "/runs/new", "/account"):
        phone.goto(f"{phone.base}{path}")
        phone.wait_for_function("() => document.documentElement.dataset.vault === 'open'")
        assert phone.evaluate("() => window.sawLocked") is False, path
    # Locked for real, the same screen says so at once.
    phone.evaluate("() => import('/static/js/vault.js').then((vault) => vault.lock())")
    phone.goto(f"{phone.base}/runs/new")
    phone.wait_for_function("() => document.documentElement.dataset.vault === 'locked'")
    assert phone.locator("#vault-title").inner_text() == "Locked" and phone.locator("#vault-pin").is_visible()
