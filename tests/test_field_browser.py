"""The phone in the field at 360 px (issue 20): never a dead end offline, and what a newcomer hit on the run screen.

Screenshots of the run page offline and of "My runs" are kept in the test's output folder for people to look at.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import browser_login
from tests.test_offline import TIMEOUT, deviate, ready, start_run

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.base = live_server
    yield page
    context.close()


def signed_in_and_saved(page):
    """Sign in, and wait until the service worker controls the page and the private pages are saved."""
    browser_login(page, page.base)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => localStorage.getItem('dnh-precached') !== null")


def critical_open(page):
    return page.eval_on_selector_all(
        "li.run-step[data-critical=true][data-status=todo]:not([data-deviated=true])",
        "els => els.map(e => [e.dataset.step, e.querySelector('.step-text span').textContent])")


def test_offline_the_check_link_goes_and_the_refusal_names_and_links_each_open_step(page, tmp_path):
    signed_in_and_saved(page)
    run_id = start_run(page, online=True)  # the server's own run page, then the signal goes
    assert page.locator("[data-role=online-actions]").is_visible()
    assert page.locator("#offline-submit").is_hidden()
    page.context.set_offline(True)
    page.wait_for_selector("[data-role=online-actions]", state="hidden")
    assert page.get_by_role("link", name="Check your answers and submit").is_hidden()
    page.locator("#offline-submit").wait_for()

    page.fill("#attest-name", "Test Accompanier")
    page.check("#attest-confirm")
    page.click("#submit-local button[type=submit]")
    box = page.locator("#offline-missing")
    box.wait_for()
    page.screenshot(path=str(tmp_path / "run-offline-360.png"), full_page=True)
    open_steps = critical_open(page)
    assert open_steps
    assert box.locator("h3").inner_text() == f"{len(open_steps)} critical steps are still open"
    links = box.locator("[data-role=missing-list] a")
    assert [(a.get_attribute("href"), a.inner_text()) for a in links.all()] == [
        (f"#step-{step}", text) for step, text in open_steps]
    links.first.click()  # the link goes to the step, on this page
    assert page.url.endswith(f"#step-{open_steps[0][0]}")
    assert page.locator("#run").get_attribute("data-status") == "in_progress"

    # Back online: the server's check page is reachable again, the link comes back.
    page.context.set_offline(False)
    page.wait_for_selector("[data-role=online-actions]", state="visible")
    assert page.locator("#offline-missing").is_hidden()
    assert run_id in page.url


def test_answer_label_and_progress_follow_changes_without_reload(page):
    signed_in_and_saved(page)
    start_run(page, online=True)
    item = page.locator("li.run-step[data-kind=check]").first
    toggle = item.locator("details.step-actions > summary")
    assert toggle.inner_text().startswith("Answer")
    toggle.click()
    item.get_by_role("button", name="Mark as done").click()
    page.wait_for_selector(f"li.run-step[data-step='{item.get_attribute('data-step')}'][data-status=done]")
    assert toggle.inner_text().startswith("Change")
    # Offline, the page comes back from the phone as the server drew it ("Answer"), its answers from the outbox.
    page.context.set_offline(True)
    other = page.locator("li.run-step[data-kind=check][data-status=todo]").first
    step_id = other.get_attribute("data-step")
    other.locator("details.step-actions > summary").click()
    other.get_by_role("button", name="Mark as done").click()
    # Reload only once the change is in the phone's outbox (sealed, so written a moment after the screen changed).
    page.wait_for_function("() => (document.querySelector('#sync-status') || {}).innerText?.includes('not sent yet')")
    page.reload()
    ready(page)
    again = page.locator(f"li.run-step[data-step='{step_id}']")
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=done]")
    assert again.locator("details.step-actions > summary").inner_text().startswith("Change")
    page.context.set_offline(False)

    progress = page.locator("[data-role=progress]")
    before = len(critical_open(page))
    assert "covered by a deviation" not in progress.inner_text()
    step = critical_open(page)[0][0]
    deviate(page, step, "The team entered before this was done.")
    assert "1 step covered by a deviation." in progress.inner_text()
    assert len(critical_open(page)) == before - 1
    assert re.search(rf"\b{before - 1} critical steps? (is|are) still open", progress.inner_text())


def test_no_connection_page_leads_back_to_the_run_and_not_to_sign_in(page):
    signed_in_and_saved(page)
    run_id = start_run(page, online=True)
    page.context.set_offline(True)
    page.goto(f"{page.base}/runs/{run_id}/check")  # not saved on the phone
    ready(page)
    assert page.locator("main h1").inner_text() == "No connection"
    assert "Sign in" not in page.locator("header.site-header").inner_text()
    back = page.locator("#last-run")
    assert back.is_visible() and back.get_attribute("href") == f"/runs/{run_id}"
    back.click()
    page.wait_for_selector(f"#run[data-run-id='{run_id}']")
    ready(page)


def test_a_run_started_offline_moves_to_its_own_address_once_sent(page):
    signed_in_and_saved(page)
    page.context.set_offline(True)
    run_id = start_run(page)
    assert "/offline/runs/" in page.url
    page.context.set_offline(False)
    page.wait_for_url(f"**/runs/{run_id}")
    ready(page)
    assert page.locator("#run").get_attribute("data-run-id") == run_id


def test_my_runs_at_360_px_draws_labels_on_one_line(page, tmp_path):
    signed_in_and_saved(page)
    start_run(page, online=True)
    page.goto(f"{page.base}/")
    ready(page)
    link = page.locator("main .task-list a", has_text="OP-TEST-001").first
    box = link.bounding_box()
    line = float(page.eval_on_selector("main .task-list a", "a => parseFloat(getComputedStyle(a).lineHeight)"))
    page.screenshot(path=str(tmp_path / "my-runs-360.png"), full_page=True)
    assert box["height"] < 1.5 * line and box["width"] > 80, box


def test_the_run_page_does_not_shift_as_fonts_load(browser, live_server, api):
    run_id = api("acc").start_run(label="OP-TEST-001")
    # A slow phone: no service worker or HTTP cache to serve the fonts at once, and each font arrives late.
    context = browser.new_context(viewport=PHONE, service_workers="block")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    browser_login(page, live_server)
    context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})

    def late(route):
        page.wait_for_timeout(300)
        route.continue_()
    page.route("**/*.woff2", late)
    page.add_init_script("""
      window.__shift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
      }).observe({ type: "layout-shift", buffered: true });
    """)
    page.goto(f"{live_server}/runs/{run_id}")
    ready(page)
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(800)  # shifts are reported after the frame that made them
    shift = page.evaluate("() => window.__shift")
    context.close()
    assert shift < 0.05, shift


def test_a_signed_out_visitor_does_not_ask_for_the_private_page_list(page):
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    failed = []
    page.on("console", lambda message: failed.append(message.text) if message.type == "error" else None)
    page.goto(f"{page.base}/login")
    ready(page)
    page.goto(f"{page.base}/protocols")
    ready(page)
    page.wait_for_timeout(300)
    assert not [url for url in asked if "/offline/precache.json" in url]
    assert not [text for text in failed if "401" in text]
