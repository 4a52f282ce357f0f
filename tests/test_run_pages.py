"""The run screens without JavaScript: start, answer by kind, N/A, deviations, check and submit."""
from __future__ import annotations

import re

import pytest

from donoharm.services.library import get_registry

from .conftest import csrf_from, login

SAMPLES = {"check": "", "yesno": "yes", "count": "3", "time": "21:30", "text": "Handed over as agreed."}


@pytest.fixture
def acc(app, users):
    client = app.test_client()
    login(client, "acc")
    return client


def start(client, protocol="immigration-separation@1.0.0", label="OP-TEST-001", mode="live", **extra):
    token = csrf_from(client, "/runs/new")
    return client.post("/runs/new", data={"csrf_token": token, "protocol": protocol, "label": label,
                                          "mode": mode, "language": "en", **extra})


def started(client, **kwargs) -> str:
    response = start(client, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def post(client, run_id, type_, step="", value=None, note=None):
    data = {"csrf_token": csrf_from(client, "/runs/new"), "type": type_, "step": step}
    if value is not None:
        data["value"] = value
    if note is not None:
        data["note"] = note
    return client.post(f"/runs/{run_id}/events", data=data)


def answer_all(client, run_id, protocol):
    for step in protocol.steps:
        value = step.option_ids()[0] if step.kind == "choice" else SAMPLES[step.kind]
        response = post(client, run_id, "step.set", step.id, value)
        assert response.status_code == 302, (step.id, response.get_data(as_text=True))


def test_the_start_screen_preselects_the_current_version(acc, app):
    html = acc.get("/runs/new").get_data(as_text=True)
    with app.app_context():
        registry = get_registry()
        first = registry.current(registry.ids()[0])
    assert re.search(rf'<option selected value="{first.id}@{first.version}"|<option value="{first.id}@'
                     rf'{first.version}" selected', html), html
    assert "Never write a person&#39;s name" in html or "Never write a person's name" in html


def test_starting_a_run_shows_every_step_by_phase(acc, app):
    run_id = started(acc)
    html = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    for phase in protocol.phases:
        assert phase.title in html
    for step in protocol.steps:
        assert f'id="step-{step.id}"' in html
    assert "OP-TEST-001" in html and "In progress" in html


def test_start_errors_stay_next_to_the_field_and_keep_what_was_typed(acc):
    response = start(acc, label="   ", mode="practice")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the operation a label." in html
    assert re.search(r'value="practice"[^>]*checked|checked[^>]*value="practice"', html)
    response = start(acc, protocol="no-such-protocol@9.9.9")
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert acc.get("/").get_data(as_text=True).count("OP-TEST-001") == 0


def test_each_kind_is_answered_and_shown_in_words(acc, app):
    run_id = started(acc, protocol="social-worker-accompaniment@1.1.0")
    with app.app_context():
        protocol = get_registry().get("social-worker-accompaniment", "1.1.0")
    answer_all(acc, run_id, protocol)
    html = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert html.count('data-status="done"') == len(protocol.steps)
    choice = next(s for s in protocol.steps if s.kind == "choice")
    assert choice.options[0].label in html


def test_a_bad_count_is_refused_next_to_the_field_and_kept(acc, app):
    run_id = started(acc, protocol="social-worker-accompaniment@1.1.0")
    with app.app_context():
        step = next(s for s in get_registry().get("social-worker-accompaniment", "1.1.0").steps if s.kind == "count")
    response = post(acc, run_id, "step.set", step.id, "-2")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a whole number, 0 or more." in html
    assert f'id="v-{step.id}" name="value" value="-2"' in html
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["events"] == []


def test_not_applicable_needs_a_reason_and_keeps_the_run_unchanged(acc, app):
    run_id = started(acc)
    response = post(acc, run_id, "step.na", "immigration-officers-on-team", note="  ")
    assert response.status_code == 422 and "Say why the step does not apply." in response.get_data(as_text=True)
    assert post(acc, run_id, "step.na", "immigration-officers-on-team", note="No officers came").status_code == 302
    html = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "No officers came" in html and "Not applicable" in html


def test_check_page_lists_missing_critical_steps_and_refuses_submission(acc, app):
    run_id = started(acc)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    html = acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    assert f"{len(protocol.critical_steps)} critical steps are still open" in html
    assert 'id="submit-run"' not in html
    token = csrf_from(acc, f"/runs/{run_id}")
    response = acc.post(f"/runs/{run_id}/submit", data={"csrf_token": token, "name": "Test Accompanier",
                                                          "confirmed": "y"})
    assert response.status_code == 422 and "critical steps are still open" in response.get_data(as_text=True)


def test_a_deviation_covers_a_critical_step(acc, app):
    run_id = started(acc)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    answer_all(acc, run_id, protocol)
    critical = protocol.critical_steps[0]
    assert post(acc, run_id, "step.cleared", critical.id).status_code == 302
    assert 'id="submit-run"' not in acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    assert post(acc, run_id, "deviation", critical.id, note="Police refused; noted by role").status_code == 302
    html = acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    assert 'id="submit-run"' in html and "Police refused; noted by role" in html


def test_submission_needs_name_and_confirmation_then_shows_on_home(acc, app):
    run_id = started(acc)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    answer_all(acc, run_id, protocol)
    token = csrf_from(acc, f"/runs/{run_id}/check")
    response = acc.post(f"/runs/{run_id}/submit", data={"csrf_token": token, "name": "Test Accompanier"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Confirm the statement to submit." in html and 'value="Test Accompanier"' in html
    response = acc.post(f"/runs/{run_id}/submit", data={"csrf_token": token, "name": "Test Accompanier",
                                                          "confirmed": "y"})
    assert response.status_code == 302
    run = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert run["run"]["status"] == "submitted"
    assert run["state"]["submissions"][0]["attestation"] == {"name": "Test Accompanier", "confirmed": True}
    home = acc.get("/").get_data(as_text=True)
    assert "Submitted, waiting for review" in home and "OP-TEST-001" in home
    # A submitted run shows no answer forms and refuses further changes.
    assert "event-form" not in acc.get(f"/runs/{run_id}").get_data(as_text=True)
    refused = post(acc, run_id, "note", note="late")
    assert refused.status_code == 422 and "The run was submitted" in refused.get_data(as_text=True)


def test_practice_runs_are_marked_and_never_wait_for_review(acc, app):
    run_id = started(acc, mode="practice", label="OP-TEST-PRACTICE-1")
    assert "PRACTICE" in acc.get(f"/runs/{run_id}").get_data(as_text=True)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    answer_all(acc, run_id, protocol)
    token = csrf_from(acc, f"/runs/{run_id}/check")
    acc.post(f"/runs/{run_id}/submit", data={"csrf_token": token, "name": "Test Trainee", "confirmed": "y"})
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'run-status">Submitted (practice runs are not reviewed)' in page
    assert "PRACTICE" in acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    assert "PRACTICE" in acc.get("/").get_data(as_text=True)


def test_other_accompaniers_cannot_see_or_change_a_run(acc, app):
    run_id = started(acc)
    other = app.test_client()
    login(other, "acc2")
    assert other.get(f"/runs/{run_id}").status_code == 404
    assert other.get(f"/runs/{run_id}/check").status_code == 404
    token = csrf_from(other, "/runs/new")
    response = other.post(f"/runs/{run_id}/events", data={"csrf_token": token, "type": "note", "note": "x"})
    assert response.status_code == 404


def test_supervisors_read_runs_without_answer_forms(acc, app):
    run_id = started(acc)
    supervisor = app.test_client()
    login(supervisor, "sup")
    html = supervisor.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "OP-TEST-001" in html and "event-form" not in html


def test_anonymous_visitors_are_sent_to_sign_in(client, users):
    response = client.get("/runs/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_start_screen_defaults_to_the_browsers_language_without_a_saved_choice(app, users):
    client = app.test_client()
    login(client, "acc")
    html = client.get("/runs/new", headers={"Accept-Language": "km, en;q=0.5"}).get_data(as_text=True)
    assert re.search(r'<option selected value="km"|<option value="km" selected', html), html
