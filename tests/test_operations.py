"""Operations (issue 17): several checklists, by several staff, at one operation, seen together."""
from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from donoharm.db import connect
from donoharm.services.library import get_registry

from .conftest import attestation, complete_answers, csrf_from, event
from .test_accessibility_errors import assert_one_error_pattern

SOCIAL = ("social-worker-accompaniment", "1.0.0")
IMMIGRATION = ("immigration-separation", "1.0.0")


def start_on_page(client, protocol=SOCIAL, label="OP-TEST-001", **extra):
    """Post the start form as a browser without JavaScript does."""
    data = {"csrf_token": csrf_from(client, "/runs/new"), "protocol": "@".join(protocol), "label": label,
            "mode": "live", "language": "en", **extra}
    return client.post("/runs/new", data=data)


def started_on_page(client, **kwargs) -> str:
    response = start_on_page(client, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def put_run(api_client, protocol=IMMIGRATION, label="OP-TEST-002", run_id=None, **extra):
    run_id = run_id or str(uuid.uuid4())
    response = api_client.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": protocol[0], "protocol_version": protocol[1], "label": label, **extra})
    return run_id, response


def operation_id_of(api_client, run_id: str) -> str | None:
    return api_client.get(f"/api/v1/runs/{run_id}").get_json()["run"]["operation_id"]


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def run_cards(page: str) -> dict[str, str]:
    """The operation page's run cards by run id."""
    return dict(re.findall(r'<li class="card" data-run-id="([^"]+)">(.*?)</li>', page, re.S))


def protocol(app, pair):
    with app.app_context():
        return get_registry().get(*pair)


def count_operations(app) -> int:
    db = connect(app.config["DATABASE"])
    try:
        return db.execute("SELECT count(*) FROM operations").fetchone()[0]
    finally:
        db.conn.close()


@pytest.fixture
def team(app, api):
    """acc opens an operation on the start page; acc2 joins it on the start page and again through the API."""
    acc, acc2 = api("acc"), api("acc2")
    lawyer_run = started_on_page(acc.client, protocol=SOCIAL, label="OP-TEST-001")
    operation_id = operation_id_of(acc, lawyer_run)
    assert operation_id
    page = text(acc2.client.get("/runs/new"))
    assert f'value="{operation_id}"' in page and "OP-TEST-001 — started" in page  # offered to join
    social_run = started_on_page(acc2.client, protocol=IMMIGRATION, label="", operation="join",
                                 operation_id=operation_id)
    api_run, response = put_run(acc2, protocol=("non-coerced-adults", "1.0.0"), label="OP-TEST-001-ADULTS",
                                operation_id=operation_id)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["operation_id"] == operation_id
    return {"acc": acc, "acc2": acc2, "operation": operation_id, "lawyer": lawyer_run, "social": social_run,
            "api": api_run}


def test_two_accompaniers_run_two_protocols_in_one_operation(app, team):
    acc, acc2 = team["acc"], team["acc2"]
    # The run joined on the page with a blank label took the operation's label.
    assert acc2.get(f"/api/v1/runs/{team['social']}").get_json()["run"]["label"] == "OP-TEST-001"
    # acc submits; acc2 records a deviation (a red flag) and leaves the run in progress.
    assert acc.send(team["lawyer"], *complete_answers(protocol(app, SOCIAL)), attestation()).status_code == 200
    assert acc2.send(team["social"], event("deviation", note="Police entered before the team.")).status_code == 200

    response = acc.get(f"/operations/{team['operation']}")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>OP-TEST-001</h1>" in page
    cards = run_cards(page)
    assert set(cards) == {team["lawyer"], team["social"], team["api"]}
    lawyer, social = cards[team["lawyer"]], cards[team["social"]]
    assert "acc" in lawyer and "social-worker-accompaniment 1.0.0" in lawyer
    assert "Submitted, waiting for review" in lawyer and re.search(r"Red flags</dt><dd>0<", lawyer)
    assert "acc2" in social and "immigration-separation 1.0.0" in social
    assert "In progress" in social and re.search(r'Red flags</dt><dd><span class="tag tag-missing">1<', social)
    # acc opens their own run from here, never acc2's.
    assert f'href="/runs/{team["lawyer"]}"' in lawyer and f'href="/runs/{team["social"]}"' not in social
    # Both run pages link the operation.
    for client, run_id in ((acc, team["lawyer"]), (acc2, team["social"])):
        assert f'href="/operations/{team["operation"]}"' in text(client.get(f"/runs/{run_id}"))


def test_supervisor_sees_every_run_from_the_review_page(app, api, team):
    acc, acc2 = team["acc"], team["acc2"]
    assert acc.send(team["lawyer"], *complete_answers(protocol(app, SOCIAL)), attestation()).status_code == 200
    assert acc2.send(team["social"], *complete_answers(protocol(app, IMMIGRATION)), attestation()).status_code == 200
    other, _response = put_run(acc, label="OP-TEST-009", operation={"id": str(uuid.uuid4()), "label": "OP-TEST-009"})
    assert acc.send(other, *complete_answers(protocol(app, IMMIGRATION)), attestation()).status_code == 200
    sup = api("sup")
    review = text(sup.get(f"/review/{team['lawyer']}"))
    link = re.search(r'<a href="(/operations/[^"]+)">Every run of this operation</a>', review)
    assert link and link.group(1) == f"/operations/{team['operation']}"
    page = text(sup.get(link.group(1)))
    cards = run_cards(page)
    assert set(cards) == {team["lawyer"], team["social"], team["api"]}
    for run_id in cards:  # a reviewer opens each run's review page
        assert f'href="/review/{run_id}"' in cards[run_id]
    # The queue filtered by the operation: its two submitted runs, not the other operation's.
    assert f"/review/{other}" in text(sup.get("/review?status=all"))
    queue = text(sup.get(f"/review?operation={team['operation']}&status=all"))
    assert f"/review/{team['lawyer']}" in queue and f"/review/{team['social']}" in queue
    assert f"/review/{other}" not in queue and "2 runs match." in queue


@pytest.mark.parametrize("value", ["not-a-uuid", str(uuid.uuid4())])
def test_the_queue_names_a_bad_operation_filter(app, api, users, value):
    sup = api("sup")
    response = sup.get(f"/review?operation={value}")
    assert response.status_code == 400
    page = text(response)
    assert 'href="#f-operation">No operation has this id.' in page and 'id="f-operation"' in page


def test_only_staff_with_a_run_in_it_and_reviewers_see_an_operation(app, api, users):
    acc = api("acc")
    run_id, response = put_run(acc, operation={"id": str(uuid.uuid4()), "label": "OP-TEST-003"})
    assert response.status_code == 201
    operation_id = response.get_json()["operation_id"]
    assert acc.get(f"/operations/{operation_id}").status_code == 200
    for who in ("acc2", "trainer"):
        assert api(who).get(f"/operations/{operation_id}").status_code == 404
    for who in ("sup", "admin"):
        assert api(who).get(f"/operations/{operation_id}").status_code == 200
    assert acc.get(f"/operations/{uuid.uuid4()}").status_code == 404
    assert acc.get("/operations/not-a-uuid").status_code == 404


def test_the_record_names_the_operation_and_its_sibling_runs(signed_app, api, users, tmp_path):
    acc, acc2 = api("acc"), api("acc2")
    operation_id = str(uuid.uuid4())
    mine, response = put_run(acc, protocol=SOCIAL, label="OP-TEST-001",
                             operation={"id": operation_id, "label": "OP-TEST-001"})
    assert response.status_code == 201
    sibling, response = put_run(acc2, protocol=IMMIGRATION, label="OP-TEST-002", operation_id=operation_id)
    assert response.status_code == 201
    assert acc.send(mine, *complete_answers(protocol(signed_app, SOCIAL)), attestation()).status_code == 200
    data = acc.get(f"/runs/{mine}/record.pdf").data
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    record = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                            check=True).stdout
    head = record.split("Red flags:")[0]  # near the top, before the red flags section
    assert "Operation: OP-TEST-001" in head
    sibling_line = next(line for line in head.splitlines() if "OP-TEST-002" in line)
    assert "immigration-separation 1.0.0" in sibling_line and "acc2" in sibling_line
    assert "In progress" in sibling_line
    embedded = json.loads(PdfReader(path).attachments["audit-record.json"][0])
    assert embedded["operation"]["id"] == operation_id
    assert [(s["id"], s["created_by"], s["status"]) for s in embedded["operation"]["siblings"]] == \
        [(sibling, "acc2", "in_progress")]
    assert acc.get(f"/api/v1/runs/{mine}").get_json()["operation"] == embedded["operation"]


def test_joining_another_days_operation_is_refused_and_nothing_is_lost(app, api, users):
    acc, acc2 = api("acc"), api("acc2")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    old_operation = str(uuid.uuid4())
    # A phone with no signal started this run yesterday, opening an operation of yesterday.
    _run, response = put_run(acc, created_at=yesterday, operation={"id": old_operation, "label": "OP-TEST-004"})
    assert response.status_code == 201
    # Another phone, also offline yesterday, joined it: sent today, it is still accepted (the run's own day).
    _run, response = put_run(acc2, created_at=yesterday, operation_id=old_operation)
    assert response.status_code == 201, response.get_json()
    # A run started today cannot join it.
    run_id, response = put_run(acc2, label="OP-TEST-005", operation_id=old_operation)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "operation_other_day" and "OP-TEST-004" in error["message"]
    assert acc2.get(f"/api/v1/runs/{run_id}").status_code == 404  # nothing half made
    # Nor is it offered on the start page; posted anyway (a page kept open overnight), it is refused in words.
    assert old_operation not in text(acc2.client.get("/runs/new"))
    response = start_on_page(acc2.client, label="OP-TEST-005-TYPED", operation="join", operation_id=old_operation)
    assert response.status_code == 422
    page = text(response)
    assert "That operation was started on another day." in page
    assert_one_error_pattern(response.get_data(as_text=True), "operation_id")
    assert 'value="OP-TEST-005-TYPED"' in page  # the typed label is kept


def test_an_unknown_operation_is_refused_in_words(app, api, users):
    acc = api("acc")
    run_id, response = put_run(acc, operation_id=str(uuid.uuid4()))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_operation"
    assert acc.get(f"/api/v1/runs/{run_id}").status_code == 404
    response = start_on_page(acc.client, label="OP-TEST-006", operation="join", operation_id=str(uuid.uuid4()))
    assert response.status_code == 422
    page = text(response)
    assert "That operation is not one started today." in page and 'value="OP-TEST-006"' in page
    response = start_on_page(acc.client, label="", operation="join", operation_id=str(uuid.uuid4()))
    assert response.status_code == 422
    assert_one_error_pattern(response.get_data(as_text=True), "operation_id")  # not the blank label's error
    response = start_on_page(acc.client, label="OP-TEST-006", operation="join", operation_id="")
    assert response.status_code == 422 and "Choose the operation to join." in text(response)


@pytest.mark.parametrize("label,why", [("", "give the operation a label"), ("x" * 81, "longer than 80"),
                                       ("OP\u202eTEST", "text-direction control"), (7, "give the operation")])
def test_a_bad_operation_label_is_refused(app, api, users, label, why):
    acc = api("acc")
    operation_id = str(uuid.uuid4())
    run_id, response = put_run(acc, operation={"id": operation_id, "label": label})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_operation_label" and why in error["message"]
    assert acc.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert count_operations(app) == 0


def test_a_bad_label_on_the_page_keeps_what_was_typed(app, api, users):
    acc = api("acc")
    response = start_on_page(acc.client, label="OP\u202eTEST-007")
    assert response.status_code == 422
    assert "text-direction control" in text(response) and 'value="OP\u202eTEST-007"' in text(response)
    assert count_operations(app) == 0


def test_a_replayed_put_with_its_operation_is_idempotent(app, api, users):
    acc, acc2 = api("acc"), api("acc2")
    operation = {"id": str(uuid.uuid4()), "label": "OP-TEST-008"}
    run_id, first = put_run(acc, operation=operation)
    _same, again = put_run(acc, run_id=run_id, operation=operation)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json() and again.get_json()["operation_id"] == operation["id"]
    assert count_operations(app) == 1
    # A second run sent with the same new operation (another run started on the phone with it) joins it.
    other, response = put_run(acc, protocol=SOCIAL, operation=operation)
    assert response.status_code == 201 and response.get_json()["operation_id"] == operation["id"]
    # A join replayed is the same run; the same run id with another operation, or none, is a different run.
    joined, response = put_run(acc2, operation_id=operation["id"])
    assert response.status_code == 201
    assert put_run(acc2, run_id=joined, operation_id=operation["id"])[1].status_code == 200
    assert put_run(acc, run_id=run_id, operation={"id": str(uuid.uuid4()), "label": "OP-TEST-008"})[1] \
        .status_code == 409
    assert put_run(acc, run_id=run_id)[1].status_code == 409
    # The same operation id with another label is another operation.
    _x, response = put_run(acc, operation={"id": operation["id"], "label": "OP-TEST-999"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "operation_exists"
    assert count_operations(app) == 1
    assert len(run_cards(text(acc.get(f"/operations/{operation['id']}")))) == 3


def test_practice_runs_are_not_part_of_an_operation(app, api, users):
    acc = api("acc")
    _run, response = put_run(acc, mode="practice", operation={"id": str(uuid.uuid4()), "label": "OP-TEST-010"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "practice_operation"
    _run, response = put_run(acc, operation_id=str(uuid.uuid4()),
                             operation={"id": str(uuid.uuid4()), "label": "OP-TEST-010"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_operation"
    # On the page, a practice run with the default New operation simply has none; joining is refused in words.
    practice = started_on_page(acc.client, label="OP-TEST-010", mode="practice")
    assert operation_id_of(acc, practice) is None
    live = started_on_page(acc.client, label="OP-TEST-011")
    response = start_on_page(acc.client, label="OP-TEST-012", mode="practice", operation="join",
                             operation_id=operation_id_of(acc, live))
    assert response.status_code == 422
    assert "Practice runs are not part of an operation" in text(response)
    assert_one_error_pattern(response.get_data(as_text=True), "operation")
    assert count_operations(app) == 1


@pytest.mark.browser
def test_a_phone_with_no_signal_joins_one_operation_and_opens_another(context, live_server, app, api):
    """The start form as the phone's script sends it: joined and new operations reach the server with the run."""
    from tests.test_offline import TIMEOUT, go_offline_ready, ready, server_run

    joined_operation = str(uuid.uuid4())
    _run, response = put_run(api("acc2"), operation={"id": joined_operation, "label": "OP-TEST-020"})
    assert response.status_code == 201
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.base = live_server
    go_offline_ready(page)  # signed in as acc, the start form (with today's operations) saved on the phone

    def start(label: str, join: str | None = None) -> str:
        page.goto(f"{page.base}/runs/new")
        ready(page)
        page.fill("#label", label)
        if join:
            page.check("input[name=operation][value=join]")
            page.select_option("#operation_id", value=join)
        page.click("#start-run button[type=submit]")
        page.wait_for_url("**/offline/runs/**")
        page.wait_for_selector("#run[data-run-id]:not([data-run-id=''])")
        return page.get_attribute("#run", "data-run-id")

    joined = start("", join=joined_operation)  # a blank label takes the operation's
    opened = start("OP-TEST-021")
    page.context.set_offline(False)
    ready(page)
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while not (server_run(app, joined) and server_run(app, opened)) and datetime.now(UTC) < deadline:
        page.wait_for_timeout(200)
    assert server_run(app, joined)["operation_id"] == joined_operation
    assert server_run(app, joined)["label"] == "OP-TEST-020"
    new_operation = server_run(app, opened)["operation_id"]
    assert new_operation and new_operation != joined_operation
    sup = api("sup")
    assert joined in run_cards(text(sup.get(f"/operations/{joined_operation}")))
    assert "<h1>OP-TEST-021</h1>" in text(sup.get(f"/operations/{new_operation}"))
