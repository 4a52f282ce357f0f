"""Time answers mean what was typed: 24-hour text read the same way on the server, on the phone, in any locale."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from donoharm.text import time_of_day
from tests.conftest import csrf_from, login

SAMPLES = {"21:30": "21:30", "2130": "21:30", "9:05": "09:05", "0905": "09:05", "21.30": "21:30",
           "21h30": "21:30", " 07:00 ": "07:00", "00:00": "00:00", "23:59": "23:59",
           "9:30 pm": None, "9:30 PM": None, "24:00": None, "21:60": None, "21:3": None, "": None, "noon": None,
           "2:30:00": None}


@pytest.mark.parametrize("typed, stored", SAMPLES.items())
def test_a_time_is_read_on_the_24_hour_clock_or_refused(typed, stored):
    assert time_of_day(typed) == stored


def test_the_phone_reads_times_exactly_as_the_server_does():
    script = Path(__file__).resolve().parent.parent / "static" / "js" / "text.js"
    program = (f"import({json.dumps(script.as_uri())}).then((m) => {{ const s = JSON.parse(process.argv[1]);"
               "console.log(JSON.stringify(s.map((v) => m.timeOfDay(v)))); });")
    out = subprocess.run(["node", "-e", program, json.dumps(list(SAMPLES))], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == list(SAMPLES.values())


def _time_step(app):
    registry = app.extensions["donoharm.registry"]
    for protocol in registry.all():
        for step in protocol.steps:
            if step.kind == "time":
                return protocol, step
    raise AssertionError("no shipped protocol has a time step")


@pytest.mark.parametrize("typed, stored", [("2130", "21:30"), ("21.30", "21:30"), ("9:05", "09:05")])
def test_the_step_form_stores_the_time_typed(client, app, api, typed, stored):
    protocol, step = _time_step(app)
    run_id = api("acc").start_run(protocol.id, protocol.version)
    login(client, "acc")
    response = client.post(f"/runs/{run_id}/events", data={
        "csrf_token": csrf_from(client, f"/runs/{run_id}"), "type": "step.set", "step": step.id, "value": typed})
    assert response.status_code == 302
    state = api("acc").get(f"/api/v1/runs/{run_id}").get_json()["state"]
    assert state["steps"][step.id]["value"] == stored
    assert stored in client.get(f"/runs/{run_id}").get_data(as_text=True)  # echoed back as stored


def test_an_ambiguous_time_is_refused_with_a_clear_message(client, app, api):
    protocol, step = _time_step(app)
    run_id = api("acc").start_run(protocol.id, protocol.version)
    login(client, "acc")
    response = client.post(f"/runs/{run_id}/events", data={
        "csrf_token": csrf_from(client, f"/runs/{run_id}"), "type": "step.set", "step": step.id, "value": "9:30 pm"})
    assert response.status_code == 422
    assert "24-hour clock, for example 21:30" in response.get_data(as_text=True)
    assert api("acc").get(f"/api/v1/runs/{run_id}").get_json()["state"]["steps"][step.id]["status"] == "todo"


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["en-US", "th-TH"])
def test_a_time_typed_in_any_locale_is_stored_as_typed(browser, live_server, app, api, locale):
    from tests.conftest import browser_login

    protocol, step = _time_step(app)
    run_id = api("acc").start_run(protocol.id, protocol.version)
    context = browser.new_context(locale=locale, viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        browser_login(page, live_server)
        page.goto(f"{live_server}/runs/{run_id}")
        page.wait_for_selector("html[data-app=ready]", state="attached")
        item = page.locator(f"li.run-step[data-step='{step.id}']")
        item.locator("details.step-actions > summary").click()
        field = item.locator("input[name=value]")
        field.press_sequentially("9:30 pm")  # refused as typed, never cut short to 9:30 and kept
        item.locator("form[data-event='step.set'] button[type=submit]").click()
        assert "21:30" in item.locator(".error-message").inner_text()  # "…24-hour clock, for example 21:30"
        assert field.get_attribute("aria-invalid") == "true"
        assert item.get_attribute("data-status") == "todo"
        field.fill("")
        field.press_sequentially("2130")
        item.locator("form[data-event='step.set'] button[type=submit]").click()
        page.wait_for_selector(f"li.run-step[data-step='{step.id}'][data-status=done]")
        assert "21:30" in item.locator("p.answer").inner_text()
        page.wait_for_selector("#sync-status[data-state=sent]")
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = api("acc").get(f"/api/v1/runs/{run_id}").get_json()["state"]
            if state["steps"][step.id]["status"] == "done":
                break
            time.sleep(0.2)
        assert state["steps"][step.id]["value"] == "21:30"
    finally:
        context.close()
