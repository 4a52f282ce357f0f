"""Red flags on the phone, offline (Chromium at 360 px): an answer saved on the phone is judged there at once by
the same rules as the server, on its step and in the run's header, before the server has heard of it."""
from __future__ import annotations

import pytest

from tests.browser import axe_violations, describe
from tests.conftest import browser_login, event
from tests.test_offline import deviate, ready, server_events
from tests.test_offline_shared import off_thread

pytestmark = pytest.mark.browser

EXPECTED_REASON = "The protocol expects the answer “Yes”."


def started_with_one_flag(app, api):
    """A signals-test run with one flagged answer (a placement in a police cell) already on the server."""
    def work():
        acc = api("acc")
        run_id = acc.start_run(protocol_id="signals-test", version="1.0.0", label="OP-TEST-001")
        response = acc.send(run_id, event("step.set", "placement", "police-cell"))
        assert response.status_code == 200, response.get_json()
        return run_id
    return off_thread(work)


def flag_count(page) -> str:
    return page.locator("[data-role=flags]").inner_text()


def open_menu(page, step_id):
    item = page.locator(f"li.run-step[data-step='{step_id}']")
    item.locator("details.step-actions > summary").click()
    return item


def test_offline_unexpected_answer_is_flagged_at_once_on_the_phone(phone, app, api, signals_protocol):
    page = phone
    run_id = started_with_one_flag(app, api)
    browser_login(page, page.base)
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)
    assert "Red flags: 1" in flag_count(page)
    target = page.locator("li.run-step[data-step='family-contact-safe']")
    assert target.locator("[data-role=flag]").is_hidden()

    page.context.set_offline(True)
    page.evaluate("() => { window.sameDocument = true; }")  # no reload, no navigation: all on the phone
    open_menu(page, "family-contact-safe").get_by_role("button", name="No", exact=True).click()

    page.wait_for_selector("li.run-step[data-step='family-contact-safe'][data-flagged=true]")
    flag = target.locator("[data-role=flag]")
    assert flag.is_visible()
    assert "Red flag" in flag.inner_text() and EXPECTED_REASON in flag.inner_text()
    assert "Red flags: 2" in flag_count(page)
    assert page.get_attribute("[data-role=first-flag]", "href") == "#step-family-contact-safe"
    assert "Red flag" in page.locator("#run-announce").inner_text()  # said to a screen reader as well
    # The submit form shown offline lists the flags (the one from the server and the one made here).
    summary = page.locator("#offline-submit [data-role=flag-summary]")
    assert summary.is_visible() and "Red flags: 2" in summary.inner_text()
    links = page.eval_on_selector_all("#offline-submit [data-role=flag-list] a",
                                      "as => as.map(a => a.getAttribute('href'))")
    assert links == ["#step-family-contact-safe", "#step-placement"]

    # A count of another ("x of N") and above it is flagged too; a deviation counts as a flag.
    item = open_menu(page, "people-present")
    item.locator("input[type=number]").fill("10")
    item.get_by_role("button", name="Save answer").click()
    item = open_menu(page, "victims-arrested")
    item.locator("input[type=number]").fill("12")
    item.get_by_role("button", name="Save answer").click()
    arrested = page.locator("li.run-step[data-step='victims-arrested']")
    page.wait_for_selector("li.run-step[data-step='victims-arrested'][data-flagged=true]")
    assert arrested.locator("[data-role=answer]").inner_text() == "12 of 10"
    assert "More than the 10 counted for “How many people were present?”." in arrested.locator(
        "[data-role=flag]").inner_text()
    assert "Red flags: 3" in flag_count(page)
    deviate(page, "people-present", "Counted twice by mistake.")
    assert "Red flags: 4" in flag_count(page)
    assert "A deviation from the protocol was recorded." in page.locator(
        "li.run-step[data-step='people-present'] [data-role=flag]").inner_text()
    # Answered again as expected: the flag goes, on the step and in the count.
    open_menu(page, "family-contact-safe").get_by_role("button", name="Yes", exact=True).click()
    page.wait_for_selector("li.run-step[data-step='family-contact-safe']:not([data-flagged])")
    assert target.locator("[data-role=flag]").is_hidden()
    assert "Red flags: 3" in flag_count(page)

    violations = axe_violations(page)  # the flags drawn on the phone: headings, lists, names, contrast
    assert not violations, describe(violations)
    assert page.evaluate("() => window.sameDocument") is True
    assert len(server_events(app, run_id)) == 1  # the server has only the answer it had before
    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    assert len(server_events(app, run_id)) == 6
    page.reload()
    ready(page)
    assert "Red flags: 3" in flag_count(page)  # the server counts as the phone did


def approved_in_follow_up(api, protocol):
    """A signals-test run answered flag-free, submitted and approved: in follow_up."""
    from tests.conftest import attestation, expected_answer

    def work():
        acc, sup = api("acc"), api("sup")
        run_id = acc.start_run(protocol_id="signals-test", version="1.0.0", label="OP-TEST-002")
        answers = [event("step.set", s.id, expected_answer(s)) for s in protocol.steps if not s.follow_up]
        assert acc.send(run_id, *answers, attestation()).status_code == 200
        assert sup.send(run_id, event("review.approved", value={"acknowledged": []})).status_code == 200
        return run_id
    return off_thread(work)


def test_offline_follow_up_answers_are_flagged_and_close_the_run_on_the_phone(phone, app, api, signals_protocol):
    page = phone
    run_id = approved_in_follow_up(api, signals_protocol)
    browser_login(page, page.base)
    page.goto(f"{page.base}/runs/{run_id}")
    ready(page)
    assert page.locator("[data-role=run-status]").inner_text() == "Approved, follow-up due"
    assert page.locator("#follow-up").is_visible() and "Follow-up due" in page.locator("#follow-up").inner_text()
    assert page.locator("li.run-step[data-step='placement'] details.step-actions").count() == 0

    violations = axe_violations(page)
    assert not violations, describe(violations)

    page.context.set_offline(True)
    open_menu(page, "no-removal-72h").get_by_role("button", name="Yes", exact=True).click()
    page.wait_for_selector("li.run-step[data-step='no-removal-72h'][data-flagged=true]")
    assert "The protocol expects the answer “No”." in page.locator(
        "li.run-step[data-step='no-removal-72h'] [data-role=flag]").inner_text()
    assert "Red flags: 1" in flag_count(page)
    assert page.locator("[data-role=run-status]").inner_text() == "Approved, follow-up due"

    open_menu(page, "services-reachable").get_by_role("button", name="Mark as done").click()
    page.wait_for_selector("#run[data-status=closed]")
    assert page.locator("[data-role=run-status]").inner_text() == "Closed: follow-up done"
    assert page.locator("#follow-up").is_hidden()
    assert page.locator("details.step-actions:visible").count() == 0
    assert len(server_events(app, run_id)) == len([s for s in signals_protocol.steps if not s.follow_up]) + 2

    page.context.set_offline(False)
    page.wait_for_selector("#sync-status[data-state=sent]")
    page.reload()
    ready(page)
    assert page.locator("[data-role=run-status]").inner_text() == "Closed: follow-up done"
    assert "Red flags: 1" in flag_count(page)
    page.goto(f"{page.base}/runs/{run_id}/check")
    assert "Red flags: 1" in page.locator("#red-flags").inner_text()
    violations = axe_violations(page)
    assert not violations, describe(violations)
