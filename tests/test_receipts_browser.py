"""Receipts on the phone (issue 15, part 3), in Chromium: after a sync the run page says a receipt is kept,
IndexedDB holds the latest one per person and run, the saved file checks out with the API, and signing
out or another person signing in takes the receipts along with the rest of that person's data."""
from __future__ import annotations

import json

import pytest

from tests.browser import OPENED_JS
from tests.conftest import browser_login
from tests.test_offline import TIMEOUT, answer, ready, server_events, start_run

pytestmark = pytest.mark.browser

# Every receipt kept on the phone, as [key, receipt] pairs, read from IndexedDB and opened with the vault's key.
RECEIPTS_JS = f"""() => ({OPENED_JS})(["meta", [["receipt"], ["receipt", []]]])"""


@pytest.fixture
def page(context, signed_app, live_server):
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.base = live_server
    return page


def answer_step(page, index):
    """Answer the step at `index` through its form."""
    steps = page.eval_on_selector_all("li.run-step", "els => els.map(e => [e.dataset.step, e.dataset.kind])")
    answer(page, *steps[index])


def receipt_line(page, changes):
    line = page.locator("#run-receipt")
    words = "1 change." if changes == 1 else f"{changes} changes."
    line.filter(has_text=f"Receipt kept on this phone for {words}").wait_for()
    return line


def answer_and_send(page, index):
    """Answer the step at `index`, and wait for the receipt its sending brings back (one change a send)."""
    answer_step(page, index)
    receipt_line(page, index + 1)


def test_after_a_sync_the_run_page_keeps_the_receipt_and_saves_it_for_an_auditor(page, signed_app):
    browser_login(page, page.base)
    run_id = start_run(page, online=True)
    assert page.locator("#run-receipt").is_hidden()  # no change sent yet: no receipt
    for index in range(3):  # each receipt replaces the one before
        answer_and_send(page, index)
    page.wait_for_selector("#sync-status[data-state=sent]")

    kept = page.evaluate(RECEIPTS_JS)
    assert [key for key, _ in kept] == [["receipt", "acc", run_id]]  # one per person and run
    receipt = kept[0][1]
    assert receipt["seq"] == 3 == len(server_events(signed_app, run_id))
    assert receipt["head"] == server_events(signed_app, run_id)[-1]["hash"]

    page.reload()  # kept on the phone, not only on the page
    ready(page)
    line = receipt_line(page, 3)
    with page.expect_download() as download:
        line.get_by_role("link", name="Save receipt").click()
    assert download.value.suggested_filename == f"receipt-{run_id}-3.json"
    saved = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert saved == receipt

    # An auditor with the file and no account checks it.
    verdict = signed_app.test_client().post("/api/v1/receipts/verify", json=saved).get_json()
    assert verdict["valid"] is True and verdict["seq"] == 3, verdict


def test_an_earlier_receipt_never_replaces_a_later_one(page):
    browser_login(page, page.base)
    run_id = start_run(page, online=True)
    answer_and_send(page, 0)
    answer_and_send(page, 1)
    page.evaluate("""async ([runId]) => {
      const { keepReceipt } = await import("/static/js/outbox.js");
      await keepReceipt("acc", { run: runId, seq: 1, head: "0".repeat(64) });
    }""", [run_id])
    assert [r["seq"] for _, r in page.evaluate(RECEIPTS_JS)] == [2]


def test_receipts_go_with_the_rest_of_a_persons_data(page):
    browser_login(page, page.base)
    run_id = start_run(page, online=True)
    answer_and_send(page, 0)
    # Another person's receipt left on this shared phone: dropped when this person opens a page.
    page.evaluate("""async ([runId]) => {
      const { keepReceipt } = await import("/static/js/outbox.js");
      await keepReceipt("acc2", { run: runId, seq: 1, head: "0".repeat(64) });
    }""", [run_id])
    page.reload()
    ready(page)
    page.wait_for_function(f"async () => (await ({RECEIPTS_JS})()).length === 1")
    assert [key for key, _ in page.evaluate(RECEIPTS_JS)] == [["receipt", "acc", run_id]]

    page.goto(f"{page.base}/logout")
    ready(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login")
    assert page.evaluate(RECEIPTS_JS) == []  # the next person on the phone finds none of them
