"""The JSON API: a run's whole life, every bad input, idempotency and authorization."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import attestation, complete_answers, event


def protocol(app, pid="immigration-separation", version="1.0.0"):
    return app.extensions["donoharm.registry"].get(pid, version)


def test_session_gives_user_role_and_csrf(api):
    me = api("acc")
    body = me.get("/api/v1/session").get_json()
    assert body["user"] == "acc" and body["role"] == "accompanier" and body["csrf_token"]


def test_anonymous_api_requests_get_401_json(client, users):
    response = client.get("/api/v1/protocols")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_anonymous_writes_get_401_not_a_csrf_error(client, users):
    response = client.post(f"/api/v1/runs/{uuid.uuid4()}/events", json={"events": []})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_405_names_the_allowed_methods(api):
    response = api("acc").client.delete("/api/v1/protocols")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_protocols_list_and_one_version(api, app):
    me = api("acc")
    listed = me.get("/api/v1/protocols").get_json()
    assert {(p["id"], p["version"]) for p in listed} >= {("immigration-separation", "1.0.0")}
    body = me.get("/api/v1/protocols/immigration-separation/1.0.0").get_json()
    assert body["sha256"] == protocol(app).sha256
    assert len([s for phase in body["phases"] for s in phase["steps"]]) == len(protocol(app).steps)
    assert me.get("/api/v1/protocols/immigration-separation/9.0.0").status_code == 404


def test_whole_life_of_a_run(api, app):
    me = api("acc")
    run_id = me.start_run()
    answers = complete_answers(protocol(app))
    response = me.send(run_id, *answers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["accepted"] == [e["id"] for e in answers]
    assert body["complete"] is True and body["missing_critical"] == []
    assert body["event_count"] == len(answers) and body["counts"]["todo"] == 0
    assert set(body["steps"]) == {e["step"] for e in answers}  # what the batch changed, not the whole state
    assert "state" not in body
    submit = attestation()
    body = me.send(run_id, submit).get_json()
    assert body["status"] == "submitted"
    fetched = me.get(f"/api/v1/runs/{run_id}").get_json()
    assert fetched["run"]["status"] == "submitted"
    assert fetched["run"]["head_hash"] == body["head"] == fetched["events"][-1]["hash"]
    assert [e["seq"] for e in fetched["events"]] == list(range(1, len(answers) + 2))
    assert fetched["events"][-1]["value"] == {"name": "Test Accompanier", "confirmed": True}


def test_starting_the_same_run_twice_answers_200(api):
    me = api("acc")
    run_id = me.start_run()
    again = me.put(f"/api/v1/runs/{run_id}", json={"protocol_id": "immigration-separation",
                                                   "protocol_version": "1.0.0", "label": "OP-TEST-001",
                                                   "mode": "live"})
    assert again.status_code == 200
    other = me.put(f"/api/v1/runs/{run_id}", json={"protocol_id": "immigration-separation",
                                                   "protocol_version": "1.0.0", "label": "OP-TEST-999"})
    assert other.status_code == 409


def test_replayed_events_are_acknowledged_and_stored_once(api, app):
    me = api("acc")
    run_id = me.start_run()
    batch = complete_answers(protocol(app))[:5]
    first = me.send(run_id, *batch[:3]).get_json()
    replay = me.send(run_id, *batch).get_json()
    assert replay["duplicates"] == [e["id"] for e in batch[:3]]
    assert replay["accepted"] == [e["id"] for e in batch[3:]]
    again = me.send(run_id, *batch).get_json()
    assert again["accepted"] == [] and again["head"] == replay["head"] != first["head"]
    events = me.get(f"/api/v1/runs/{run_id}").get_json()["events"]
    assert len(events) == 5


def test_a_bad_event_rejects_the_whole_batch(api, app):
    me = api("acc")
    run_id = me.start_run()
    good = complete_answers(protocol(app))[:2]
    count_step = next(s for s in protocol(app).steps if s.kind == "count")
    response = me.send(run_id, *good, event("step.set", count_step.id, -3))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_value" and error["details"]["index"] == 2
    assert me.get(f"/api/v1/runs/{run_id}").get_json()["events"] == []


def _bad_inputs(app):
    p = protocol(app)
    count = next(s for s in p.steps if s.kind == "count").id
    choice = next((s for s in p.steps if s.kind == "choice"), None)
    cases = [
        ("body not JSON", {"data": "not json", "content_type": "application/json"}, 400, "invalid_body"),
        ("events not a list", {"json": {"events": {"a": 1}}}, 400, "invalid_body"),
        ("unknown type", {"json": {"events": [event("step.delete", count)]}}, 422, "unknown_type"),
        ("unknown step", {"json": {"events": [event("step.set", "nope", 1)]}}, 422, "unknown_step"),
        ("id not a UUID", {"json": {"events": [{**event("note", note="x"), "id": "abc"}]}}, 422, "invalid_id"),
        ("negative count", {"json": {"events": [event("step.set", count, -1)]}}, 422, "invalid_value"),
        ("count not a number", {"json": {"events": [event("step.set", count, "five")]}}, 422, "invalid_value"),
        ("note too long", {"json": {"events": [event("note", note="x" * 2001)]}}, 422, "too_long"),
        ("submit while incomplete", {"json": {"events": [attestation()]}}, 422, "incomplete"),
    ]
    if choice:
        cases.append(("choice outside options", {"json": {"events": [event("step.set", choice.id, "zzz")]}},
                      422, "invalid_value"))
    return cases


@pytest.mark.parametrize("index", range(10))
def test_bad_inputs_get_a_json_4xx_and_store_nothing(api, app, index):
    cases = _bad_inputs(app)
    if index >= len(cases):
        pytest.skip("no choice step in this protocol")
    name, kwargs, status, code = cases[index]
    me = api("acc")
    run_id = me.start_run()
    response = me.client.post(f"/api/v1/runs/{run_id}/events", headers={"X-CSRFToken": me.csrf}, **kwargs)
    assert response.status_code == status, name
    assert response.get_json()["error"]["code"] == code, name
    assert response.get_json()["error"]["message"]
    assert me.get(f"/api/v1/runs/{run_id}").get_json()["events"] == []


def test_incomplete_submission_lists_missing_steps(api, app):
    me = api("acc")
    run_id = me.start_run()
    error = me.send(run_id, attestation()).get_json()["error"]
    assert error["details"]["missing_steps"] == [s.id for s in protocol(app).critical_steps]


@pytest.mark.parametrize("payload,code", [
    ({"protocol_id": "immigration-separation", "protocol_version": "7.0.0", "label": "OP-1"}, "unknown_protocol"),
    ({"protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": ""}, "invalid_label"),
    ({"protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-1", "mode": "x"},
     "invalid_mode"),
])
def test_bad_runs_are_refused(api, payload, code):
    me = api("acc")
    response = me.put(f"/api/v1/runs/{uuid.uuid4()}", json=payload)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code


def test_malformed_run_id_and_missing_run(api):
    me = api("acc")
    response = me.put("/api/v1/runs/not-a-uuid", json={"protocol_id": "immigration-separation",
                                                       "protocol_version": "1.0.0", "label": "OP-1"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_id"
    response = me.send(str(uuid.uuid4()), event("note", note="x"))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_writes_without_csrf_header_are_refused(api):
    me = api("acc")
    response = me.client.put(f"/api/v1/runs/{uuid.uuid4()}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-1"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf"


def test_another_accompaniers_run_is_invisible(api):
    owner, other = api("acc"), api("acc2")
    run_id = owner.start_run()
    assert other.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert other.send(run_id, event("note", note="x")).status_code == 404
    assert api("sup").get(f"/api/v1/runs/{run_id}").status_code == 200
    assert api("admin").get(f"/api/v1/runs/{run_id}").status_code == 200
    assert api("trainer").get(f"/api/v1/runs/{run_id}").status_code == 404


def test_request_body_over_2_mb_is_413(api):
    me = api("acc")
    run_id = me.start_run()
    response = me.client.post(f"/api/v1/runs/{run_id}/events", data="x" * (2 * 1024 * 1024 + 10),
                              headers={"X-CSRFToken": me.csrf, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = path.replace("{int:", "{")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not in openapi.json"


def test_replaying_text_with_spaces_is_a_duplicate_not_a_conflict(api, app):
    me = api("acc")
    with_text = next(p for p in app.extensions["donoharm.registry"].all() if any(s.kind == "text" for s in p.steps))
    run_id = me.start_run(with_text.id, with_text.version)
    text_step = next(s for s in with_text.steps if s.kind == "text")
    answer = event("step.set", text_step.id, "  Handover done by role.  ", note="  see debrief ")
    assert me.send(run_id, answer).get_json()["accepted"] == [answer["id"]]
    assert me.send(run_id, answer).get_json()["duplicates"] == [answer["id"]]


def test_same_id_with_other_content_is_a_conflict(api, app):
    me = api("acc")
    run_id = me.start_run()
    first = event("note", note="Arrived at the staging area.")
    me.send(run_id, first)
    response = me.send(run_id, {**first, "note": "Something else"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "id_conflict"


def test_event_id_of_another_run_is_refused(api):
    me = api("acc")
    one, two = me.start_run(), me.start_run()
    shared = event("note", note="A note.")
    me.send(one, shared)
    response = me.send(two, shared)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "id_in_use"
