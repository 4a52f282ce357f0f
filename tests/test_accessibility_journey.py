"""Accessibility beyond the automated rules, in Chromium at 360 px: read through the accessibility tree (CDP)
and with the keyboard, as a screen-reader or keyboard user would."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import browser_login, complete_answers

pytestmark = pytest.mark.browser
PROTOCOL, VERSION = "social-worker-accompaniment", "1.1.1"  # every step kind


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base = live_server
    yield page
    context.close()


def ready(page):
    page.wait_for_selector("html[data-app=ready]", state="attached")


def ax_tree(page) -> list[dict]:
    """Every node of the page's accessibility tree as (role, name, description)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    value = lambda node, key: (node.get(key) or {}).get("value") or ""  # noqa: E731
    return [{"role": value(n, "role"), "name": value(n, "name"), "description": value(n, "description")}
            for n in nodes if not n.get("ignored")]


def protocol_of(app):
    return app.extensions["donoharm.registry"].get(PROTOCOL, VERSION)


def open_run(page, app, api):
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-201")
    browser_login(page, page.base)
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)
    return run_id


def test_every_step_control_is_named_or_described_by_its_step(page, app, api):
    open_run(page, app, api)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    nodes = ax_tree(page)
    protocol = protocol_of(app)
    for step in protocol.steps:
        toggles = [n for n in nodes if n["name"].startswith("Answer") and step.text in n["name"]]
        assert toggles, f"no toggle names the whole question of {step.id}"
        assert ("(Critical)" in toggles[0]["name"]) == step.critical
        assert "To do" in toggles[0]["description"]
        controls = [n for n in nodes if step.text in n["description"]]
        roles = {n["role"] for n in controls}
        assert "button" in roles, f"{step.id}: its buttons do not say which step they act on"
        if step.kind in ("count", "time", "text"):
            assert "textbox" in roles or "spinbutton" in roles, f"{step.id}: its field does not say which step"
        if step.guidance:
            assert any(n["name"] == "Guidance" for n in controls), f"{step.id}: its Guidance is not described"


def keyboard_answer(page, step_id, kind):
    """Answer one step with the keyboard: Enter on the toggle, type, Enter or Space on the button."""
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").focus()
    page.keyboard.press("Enter")
    if kind == "check":
        item.get_by_role("button", name="Mark as done").focus()
        page.keyboard.press("Enter")
    elif kind == "yesno":
        item.get_by_role("button", name="Yes", exact=True).focus()
        page.keyboard.press("Space")
    elif kind == "choice":
        item.locator("input[type=radio]").first.focus()
        page.keyboard.press("Space")
        item.get_by_role("button", name="Save answer").focus()
        page.keyboard.press("Enter")
    else:
        item.locator("[name=value]").focus()
        page.keyboard.type({"count": "3", "time": "2130", "text": "Done as agreed."}[kind])
        item.get_by_role("button", name="Save answer").focus()
        page.keyboard.press("Enter")
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=done]")


def assert_error_summary_leads_to(page, field_id):
    """The page says "Error:" first, its error summary has focus, and Enter on its link reaches the field."""
    assert page.title().startswith("Error:")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    page.locator("#error-summary a").first.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == field_id


def open_more_actions(page, item):
    """Enter on the step's toggle, then on "Not applicable, deviation or note"."""
    for toggle in ("details.step-actions > summary", "details.more-actions > summary"):
        item.locator(toggle).focus()
        page.keyboard.press("Enter")


def assert_focus_follows(page, step_id, number, status):
    focused = page.evaluate("""() => { const el = document.activeElement;
        return [el.tagName, el.closest('li.run-step') ? el.closest('li.run-step').dataset.step : null,
                el.firstChild ? el.firstChild.textContent : ''] }""")
    assert focused == ["SUMMARY", step_id, "Change"], focused
    assert page.locator("#run-announce").inner_text() == f"Step {number}: {status}"


def test_keyboard_journey_focus_follows_the_work_and_each_change_is_announced(page, app, api):
    run_id = open_run(page, app, api)
    steps = page.eval_on_selector_all("li.run-step", "els => els.map(e => [e.dataset.step, e.dataset.kind])")
    done_kinds = set()
    for number, (step_id, kind) in enumerate(steps, start=1):
        if kind in done_kinds:
            continue
        keyboard_answer(page, step_id, kind)
        assert_focus_follows(page, step_id, number, "Done")
        done_kinds.add(kind)
    assert done_kinds == {"check", "yesno", "count", "time", "choice", "text"}
    # Not applicable, by keyboard, on a step still open.
    number, (step_id, _kind) = next((n, s) for n, s in enumerate(steps, start=1)
                                    if page.get_attribute(f"li.run-step[data-step='{s[0]}']", "data-status") == "todo")
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    open_more_actions(page, item)
    item.locator("form[data-event='step.na'] textarea").focus()
    page.keyboard.type("No such situation on this operation.")
    item.get_by_role("button", name="Mark not applicable").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"li.run-step[data-step='{step_id}'][data-status=na]")
    assert_focus_follows(page, step_id, number, "Not applicable")
    # An empty deviation is explained at the field, which is marked invalid and described by the message.
    open_more_actions(page, item)
    item.get_by_role("button", name="Record deviation").focus()
    page.keyboard.press("Enter")
    field = item.locator("form[data-event=deviation] textarea")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.name") == "note"
    described = field.get_attribute("aria-describedby").split()
    assert "Describe what happened first." in page.locator(f"#{described[0]}").inner_text()
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert "steps answered" in page.locator("[data-role=progress]").inner_text()

    # The check page: an empty name is a server-side error; the summary takes focus and the title says so.
    with ThreadPoolExecutor(1) as pool:  # the rest answered from another device (Playwright's loop runs here)
        pool.submit(api("acc").send, run_id, *[e for e in complete_answers(protocol_of(app))
                                                if page.get_attribute(f"li.run-step[data-step='{e['step']}']",
                                                                      "data-status") == "todo"]).result()
    page.goto(f"{page.base}/runs/{run_id}/check")
    ready(page)
    page.locator("#submit-run button[type=submit]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{run_id}/submit")
    ready(page)
    assert_error_summary_leads_to(page, "name")


def test_in_forced_colours_tags_badges_and_buttons_keep_a_visible_box(page, app, api):
    open_run(page, app, api)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedMedia", {"features": [{"name": "forced-colors", "value": "active"}]})
    widths = page.evaluate("""() => ['.tag', '.critical-badge', 'button', 'summary'].map((selector) => {
        const el = document.querySelector(selector);
        const style = getComputedStyle(el);
        return [selector, style.borderTopStyle, parseFloat(style.borderTopWidth)];
    })""")
    for selector, style, width in widths:
        assert style != "none" and width >= 1, (selector, style, width)
    cdp.detach()


def test_every_standalone_target_is_at_least_44_px_at_360_px(page, app, api):
    run_id = open_run(page, app, api)
    protocol_page = f"/protocols/{PROTOCOL}/{VERSION}"
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/check", "/", "/runs/new", "/protocols", "/account", protocol_page):
        page.goto(f"{page.base}{path}")
        ready(page)
        page.evaluate("document.querySelectorAll('details.step-actions, details.more-actions')"
                      ".forEach((d) => { d.open = true; })")
        # Buttons, toggles, radio and checkbox rows, and links that stand alone (their block holds nothing else).
        small = page.evaluate("""() => [...document.querySelectorAll(
                'main button, main summary, main .choice, main a')]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => el.tagName !== 'A' || el.parentElement.textContent.trim() === el.textContent.trim())
            .map((el) => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)""")
        assert small == [], (path, small)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)  # nothing scrolls sideways at 360 px


LOCALE = "km-KH"


def test_at_320_px_with_wcag_text_spacing_nothing_scrolls_sideways(browser, live_server, app, api):
    # The spacing is a reader's own style sheet: the test lets it past the app's Content-Security-Policy.
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True, locale=LOCALE)
    page = context.new_page()
    page.base = live_server
    run_id = open_run(page, app, api)
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/check", "/"):
        page.goto(f"{page.base}{path}")
        ready(page)
        # WCAG 1.4.12: line height 1.5, paragraph spacing 2, letter spacing 0.12 and word spacing 0.16 em.
        page.add_style_tag(content="* { line-height: 1.5 !important; letter-spacing: 0.12em !important; "
                                   "word-spacing: 0.16em !important; } p { margin-bottom: 2em !important; }")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
    context.close()


def status_becomes(page, reader, run_id, status, seconds=15):
    """Wait, through Playwright, until the server tells `reader` (an Api) that the run has this status."""
    for _ in range(seconds * 10):
        if reader.get(f"/api/v1/runs/{run_id}").get_json()["run"]["status"] == status:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the run never became {status}")


def keyboard_sign_in(page, username):
    from tests.conftest import PASSWORD

    page.goto(f"{page.base}/login")
    ready(page)
    page.locator("#username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    # The phone's PIN, by keyboard too: the lock screen puts the focus in its first field.
    from tests.browser import PHONE_PIN

    page.wait_for_function("() => ['new', 'locked'].includes(document.documentElement.dataset.vault)")
    choosing = page.evaluate("() => document.documentElement.dataset.vault") == "new"
    page.keyboard.type(PHONE_PIN)
    if choosing:
        page.keyboard.press("Tab")
        page.keyboard.type(PHONE_PIN)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement.dataset.vault === 'open'", timeout=30_000)


def test_keyboard_journey_submit_return_and_approve(browser, live_server, app, api):
    run_id = api("acc").start_run(PROTOCOL, VERSION, label="OP-TEST-202")
    with ThreadPoolExecutor(1) as pool:  # issuing records uses asyncio; Playwright's loop runs on this thread
        assert pool.submit(api("acc").send, run_id, *complete_answers(protocol_of(app))).result().status_code == 200
    contexts = []

    def person(username):
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.base = live_server
        keyboard_sign_in(page, username)
        return page

    def submit_by_keyboard(page, type_name):
        page.goto(f"{page.base}/runs/{run_id}/check")
        ready(page)
        page.locator("#name").focus()
        if type_name:
            page.keyboard.type("Test Accompanier")
        page.locator("#confirmed").focus()
        page.keyboard.press("Space")
        page.locator("#submit-run button[type=submit]").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/runs/{run_id}")
        ready(page)
        assert "Submitted" in page.locator("[role=status]").first.inner_text()

    reader = api("sup")
    try:
        acc = person("acc")
        submit_by_keyboard(acc, type_name=True)
        sup = person("sup")
        sup.goto(f"{live_server}/review/{run_id}")
        ready(sup)
        sup.locator("#return-run button[type=submit]").focus()
        sup.keyboard.press("Enter")  # no comment: the summary takes focus and leads to the field
        ready(sup)
        assert_error_summary_leads_to(sup, "return-comment")
        sup.keyboard.type("Add the time the team left.")
        sup.locator("#return-run button[type=submit]").focus()
        sup.keyboard.press("Enter")
        status_becomes(sup, reader, run_id, "returned")
        # After the return the name attested before is filled in: no re-typing.
        acc.goto(f"{live_server}/runs/{run_id}/check")
        ready(acc)
        assert acc.input_value("#name") == "Test Accompanier"
        submit_by_keyboard(acc, type_name=False)
        sup.goto(f"{live_server}/review/{run_id}")
        ready(sup)
        sup.locator("#approve-run button[type=submit]").focus()
        sup.keyboard.press("Enter")
        status_becomes(sup, reader, run_id, "approved")
    finally:
        for context in contexts:
            context.close()
