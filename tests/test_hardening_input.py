"""Hardening II, input classes: text that cannot be stored, invalid Unicode, numbers read from requests,
validation and fold agreeing, device times, spreadsheet formulas, deep YAML and forged log lines.

Every hostile value here is obviously synthetic.
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from donoharm.db import connect
from donoharm.protocols import load_directory
from donoharm.runs import EVENT_TYPES, Actor, EventError, fold, normalise, validate
from donoharm.text import safe_filename, text_problem, whole_number
from tests.conftest import attestation, complete_answers, csrf_from, event, login
from tests.test_run_core import REGISTRY, make_run
from tests.test_run_core import append as core_append

# Each is refused in one-line text; the first four also in notes.
CONTROL_IN_TEXT = {
    "NUL": "OP-TEST\x00-001",
    "tab": "OP-TEST\t001",
    "bare CR": "OP-TEST\r001",
    "C1 NEL": "OP-TEST\x85001",
    "RTL override": "OP-TEST-\u202efdp.exe",
    "isolate": "OP-TEST-\u2066001",
    "line separator": "OP-TEST\u2028001",
}
LINE_BREAKS = {"LF": "OP-TEST\n001", "CRLF": "OP-TEST\r\n001"}


def live_run(api, label="OP-TEST-001"):
    acc = api("acc")
    return acc, acc.start_run(label=label)


def stored(app, table: str) -> int:
    """How many rows the server stored in `table` (runs or events)."""
    db = connect(app.config["DATABASE"])
    try:
        return db[table].count
    finally:
        db.conn.close()


def stored_runs(app) -> int:
    return stored(app, "runs")


def stored_events(app) -> int:
    return stored(app, "events")


# --- Control characters: one rule for every text field ---------------------------------------------

@pytest.mark.parametrize("label", [*CONTROL_IN_TEXT.values(), *LINE_BREAKS.values()],
                         ids=[*CONTROL_IN_TEXT, *LINE_BREAKS])
def test_control_characters_in_a_label_are_refused_by_the_api_and_nothing_is_stored(app, api, label):
    acc = api("acc")
    response = acc.put(f"/api/v1/runs/{uuid.uuid4()}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": label, "mode": "live"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_label"
    assert "U+" in error["message"]  # it names the character, so a person can find it
    assert stored_runs(app) == 0


def test_control_characters_in_a_label_are_refused_by_the_start_form(client, users, app):
    login(client, "acc")
    response = client.post("/runs/new", data={
        "csrf_token": csrf_from(client, "/runs/new"), "protocol": "immigration-separation@1.0.0",
        "label": "OP-TEST-\u202e001", "mode": "live", "language": "en"})
    assert response.status_code == 422
    assert "text-direction control" in response.get_data(as_text=True)
    assert stored_runs(app) == 0


@pytest.mark.parametrize("field", ["note", "step.na reason", "deviation", "text answer", "attestation name"])
@pytest.mark.parametrize("hostile", list(CONTROL_IN_TEXT.values()), ids=list(CONTROL_IN_TEXT))
def test_control_characters_in_any_event_text_are_refused(app, api, field, hostile):
    acc, run_id = live_run(api)
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    step = protocol.steps[0].id
    if field == "note":
        bad = event("note", note=hostile)
    elif field == "step.na reason":
        bad = event("step.na", step, note=hostile)
    elif field == "deviation":
        bad = event("deviation", step, note=hostile)
    elif field == "text answer":
        text_step = next(s for p in REGISTRY.all() for s in p.steps if s.kind == "text")
        owner = next(p for p in REGISTRY.all() if text_step in p.steps)
        run_id = acc.start_run(protocol_id=owner.id, version=owner.version)
        bad = event("step.set", text_step.id, hostile)
    else:
        assert acc.send(run_id, *complete_answers(protocol)).status_code == 200
        bad = attestation(name=hostile.replace("OP-TEST", "Test Person"))
    before = stored_events(app)
    response = acc.send(run_id, bad)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] in ("invalid_text", "invalid_attestation")
    assert stored_events(app) == before


@pytest.mark.parametrize("note", list(LINE_BREAKS.values()), ids=list(LINE_BREAKS))
def test_notes_keep_their_line_breaks(api, note):
    acc, run_id = live_run(api)
    response = acc.send(run_id, event("note", note=note))
    assert response.status_code == 200
    assert api("acc").get(f"/api/v1/runs/{run_id}").get_json()["state"]["notes"][0]["note"] == note


def test_the_phone_refuses_the_same_characters_as_the_server():
    """static/js/text.js mirrors donoharm/text.py: the same verdict on every sample, in Node."""
    import subprocess
    from pathlib import Path

    samples = [*CONTROL_IN_TEXT.values(), *LINE_BREAKS.values(), "OP-TEST-001", "ក្រុម OP 😀", "x\ud800"]
    script = Path(__file__).resolve().parent.parent / "static" / "js" / "text.js"
    program = (f"import({json.dumps(script.as_uri())}).then((m) => {{ const s = JSON.parse(process.argv[1]);"
               "console.log(JSON.stringify(s.map((v) => [m.hasForbiddenCharacters(v), "
               "m.hasForbiddenCharacters(v, true)]))); });")
    encoded = json.dumps(samples)  # lone surrogates travel as \ud800 escapes
    out = subprocess.run(["node", "-e", program, encoded], capture_output=True, text=True, check=True).stdout
    phone = json.loads(out)
    server = [[text_problem(v) is not None, text_problem(v, multiline=True) is not None] for v in samples]
    assert phone == server


# --- Invalid Unicode anywhere in a JSON body ------------------------------------------------------------

@pytest.mark.parametrize("where", ["label", "mode", "language", "note", "step", "value", "key"])
def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_422_not_a_500(app, api, where):
    acc = api("acc")
    run_id = acc.start_run()
    if where in ("label", "mode", "language"):
        fields = {"protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-002",
                  "mode": "live", where: "x\\ud800"}
        body = json.dumps(fields).replace("x\\\\ud800", "x\\ud800")
        response = acc.client.put(f"/api/v1/runs/{uuid.uuid4()}", data=body, content_type="application/json",
                                  headers={"X-CSRFToken": acc.csrf})
    else:
        raw = event("note", note="fine")
        if where == "key":
            raw["x\\ud800"] = 1
        else:
            raw[where] = "x\\ud800"
        body = json.dumps({"events": [raw]}).replace("x\\\\ud800", "x\\ud800")
        response = acc.client.post(f"/api/v1/runs/{run_id}/events", data=body, content_type="application/json",
                                   headers={"X-CSRFToken": acc.csrf})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_unicode"


# --- Runs stored before the rule still download, under a safe name -----------------------------------

def test_a_record_of_a_run_stored_with_a_hostile_label_still_downloads_under_a_safe_name(signed_app, api):
    acc, run_id = live_run(api)
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    db = connect(signed_app.config["DATABASE"])
    with db.conn:  # as a run stored by an earlier version would be
        db.execute("update runs set label = ? where id = ?", ["OP\r\nSet-Cookie: x=1\x00-\u202efdp.exe", run_id])
    db.conn.close()
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")
    disposition = response.headers["Content-Disposition"]
    assert all(ch not in disposition for ch in "\r\n\x00\u202e")
    assert not any(cookie.startswith("x=") for cookie in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("label, expected", [
    ("OP-2026-014", "OP-2026-014"),
    ("OP\r\n2026", "OP2026"),
    ("a/../b\\c", "a-..-b-c"),
    ("x\u202efdp.exe", "xfdp.exe"),
    ("\x00\x01", "run"),
])
def test_download_names_are_one_printable_line_with_no_path(label, expected):
    assert safe_filename(label, "run") == expected


# --- Numbers read from requests ----------------------------------------------------------------------

@pytest.mark.parametrize("page", ["99999999999999999999", "²", "-1", "0x10", "1e9", "١٢٣٤٥٦٧"])
def test_an_out_of_range_or_odd_page_number_is_a_400_not_a_500(client, users, page):
    login(client, "sup")
    response = client.get(f"/review?page={page}")
    assert response.status_code == 400
    assert "page number" in response.get_data(as_text=True)


def test_a_page_number_in_range_still_pages(client, users):
    login(client, "sup")
    assert client.get("/review?page=2").status_code == 200


@pytest.mark.parametrize("typed", ["²", "9" * 5000, "12.5", "-3"])
def test_a_count_typed_into_the_step_form_that_is_not_a_whole_number_is_explained(client, api, app, typed):
    acc, run_id = live_run(api)
    count_step = next(s for s in REGISTRY.get("immigration-separation", "1.0.0").steps if s.kind == "count")
    login(client, "acc")
    response = client.post(f"/runs/{run_id}/events", data={
        "csrf_token": csrf_from(client, f"/runs/{run_id}"), "type": "step.set", "step": count_step.id,
        "value": typed})
    assert response.status_code == 422
    assert "whole number" in response.get_data(as_text=True)


def test_whole_numbers_in_any_script_within_bounds():
    assert whole_number("១២", 100) == 12  # Khmer digits are digits
    assert whole_number(" 7 ", 100) == 7
    assert whole_number("101", 100) is None
    assert whole_number("²", 100) is None
    assert whole_number("9" * 5000, 10**6) is None


# --- Validation and fold agree: the validated event is the only thing folded ----------------------

def test_an_approval_without_a_value_approves_and_its_replay_is_a_duplicate(api):
    acc, run_id = live_run(api)
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    sup = api("sup")
    approval = {k: v for k, v in event("review.approved").items() if k != "value"}
    response = sup.send(run_id, approval)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    again = sup.send(run_id, approval)
    assert again.status_code == 200 and again.get_json()["duplicates"] == [approval["id"]]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**7) | st.text(max_size=8) | st.sampled_from(["yes", "no", "21:30"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["acknowledged", "name", "confirmed", "signature", "x"]), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(EVENT_TYPES), value=JSON_VALUES, note=st.none() | st.text(max_size=5),
       with_value=st.booleans(), submitted=st.booleans())
def test_every_event_the_validator_accepts_folds_without_error(kind, value, note, with_value, submitted):
    protocol = REGISTRY.get("immigration-separation", "1.0.0")
    run = make_run(protocol)
    stored, state = core_append(run, protocol, [], complete_answers(protocol) + ([attestation()] if submitted else []))
    raw = {"id": str(uuid.uuid4()), "type": kind, "step": protocol.steps[0].id if kind.startswith("step.") else None,
           "note": note, "at": "2026-01-01T10:00:00Z"}
    if with_value:
        raw["value"] = value
    actor = Actor("sup", "supervisor") if kind.startswith("review.") else Actor("acc", "accompanier")
    try:
        validated = validate(normalise(raw, run["id"]), protocol, state, actor)
    except EventError:
        return
    sealed = {**validated.client_fields(), "run": run["id"], "received_at": "2026-01-01T10:05:00Z",
              "actor": actor.username, "seq": len(stored) + 1, "prev_hash": "", "hash": ""}
    fold(protocol, run["created_by"], run["mode"], [*stored, sealed])  # must not raise


# --- Device times ------------------------------------------------------------------------------------

@pytest.mark.parametrize("at, reason", [
    ((datetime.now(UTC) + timedelta(days=2)).isoformat(), "ahead of the server"),
    ("9999-12-31T23:59:59+00:00", "ahead of the server"),
    ("0001-01-01T00:00:00+00:00", "before 2020-01-01"),
    ("2019-12-31T23:00:00+00:00", "before 2020-01-01"),
])
def test_device_times_outside_the_plausible_span_are_refused_with_the_reason(app, api, at, reason):
    acc, run_id = live_run(api)
    response = acc.send(run_id, {**event("note", note="OP-TEST note"), "at": at})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_time"
    assert reason in response.get_json()["error"]["message"]
    created = acc.put(f"/api/v1/runs/{uuid.uuid4()}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-009",
        "mode": "live", "created_at": at})
    assert created.status_code == 422 and reason in created.get_json()["error"]["message"]


def test_a_device_time_within_a_day_ahead_or_after_the_floor_is_kept(api):
    acc, run_id = live_run(api)
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    response = acc.send(run_id, {**event("note", note="OP-TEST note"), "at": soon},
                        {**event("note", note="OP-TEST note"), "at": "2020-01-01T00:00:00+00:00"})
    assert response.status_code == 200


def test_the_time_floor_is_configurable(tmp_path):
    from donoharm import create_app
    from tests.conftest import Api

    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test",
                      "DEVICE_TIME_FLOOR": "2025-06-01"})
    db = connect(app.config["DATABASE"])
    from donoharm.db import users as users_db
    from tests.conftest import PASSWORD_HASH

    users_db.create_user(db, "acc", PASSWORD_HASH, "accompanier")
    db.conn.close()
    acc = Api(app, "acc")
    run_id = acc.start_run()
    response = acc.send(run_id, {**event("note", note="OP-TEST note"), "at": "2025-05-31T00:00:00Z"})
    assert response.status_code == 422 and "before 2025-06-01" in response.get_json()["error"]["message"]


def test_a_bad_time_floor_stops_the_app_with_a_clear_message(tmp_path, monkeypatch):
    from donoharm import create_app

    monkeypatch.setenv("DONOHARM_TIME_FLOOR", "last tuesday")
    with pytest.raises(ValueError, match="DONOHARM_TIME_FLOOR"):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})


# --- Spreadsheet formulas in the oversight CSV --------------------------------------------------------

@pytest.mark.parametrize("starter", ["=", "+", "-", "@", "\t", "\r", "\uff1d"])
def test_every_csv_cell_that_could_start_a_formula_is_quoted(starter):
    from donoharm import oversight

    figures = oversight.Figures(totals={key: 9 for key in oversight.OUTCOMES}, median_hours=None)
    figures.steps = [{"protocol_id": f"{starter}cmd", "step_id": f"{starter}SUM(A1)", "text": f"{starter}HYPERLINK()",
                      "runs": 9, "answered": 9, "na": 9, "deviated": 9}]
    rows = list(csv.reader(io.StringIO(oversight.to_csv(figures, "2026-01-01", "2026-01-31", None, 5))))
    step_rows = [r for r in rows if r[2] == "step"]
    assert step_rows
    for row in step_rows:
        for cell in (row[3], row[5], row[6]):
            assert cell.startswith("'"), cell


# --- Deep or huge YAML ----------------------------------------------------------------------------------

def _hostile_yaml(kind: str) -> str:
    if kind == "deep flow sequences":
        return "id: x\nphases: " + "[" * 8000 + "]" * 8000 + "\n"
    if kind == "deep block mappings":
        return "id: x\nphases:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "v: 1\n"
    return "id: x\nphases: [" + "1, " * 60000 + "1]\n"


@pytest.mark.parametrize("kind", ["deep flow sequences", "deep block mappings", "wide"])
def test_hostile_yaml_is_refused_within_a_second_in_a_bounded_process(kind, tmp_path):
    """Parsed in a subprocess capped at 1 GB of memory: answered in time, with a line number."""
    import subprocess
    import sys

    source = tmp_path / "hostile.yaml"
    source.write_text(_hostile_yaml(kind))
    program = (
        "import resource, sys, time\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from donoharm.protocols.loader import ProtocolError, load_text\n"
        "text = open(sys.argv[1]).read()\n"
        "start = time.perf_counter()\n"
        "try:\n    load_text(text, 'hostile.yaml')\nexcept ProtocolError as e:\n    print(e.problems[0])\n"
        "print(time.perf_counter() - start)\n")
    out = subprocess.run([sys.executable, "-c", program, str(source)], capture_output=True, text=True, timeout=60,
                         check=True).stdout.splitlines()
    assert out[0].startswith("hostile.yaml:")
    assert "nested" in out[0] or "more than" in out[0]
    assert float(out[1]) < 1.0


def test_the_trainer_upload_refuses_deep_yaml_with_a_422(api):
    trainer = api("trainer")
    response = trainer.client.post("/api/v1/protocols", data=_hostile_yaml("deep flow sequences"),
                                   headers={"X-CSRFToken": trainer.csrf, "Content-Type": "application/yaml"})
    assert response.status_code == 422
    assert "nested" in response.get_json()["error"]["details"][0]["message"]


def test_shipped_protocols_are_well_inside_the_yaml_limits():
    from pathlib import Path

    from donoharm.protocols.loader import MAX_DEPTH

    registry, problems = load_directory(Path(__file__).resolve().parent.parent / "protocols")
    assert problems == [] and registry.all()
    assert MAX_DEPTH >= 10


# --- Forged lines in the access log -----------------------------------------------------------------------

def test_the_shipped_gunicorn_configuration_logs_escaped_paths(tmp_path):
    """A request whose path decodes to CR LF and a fake entry leaves one escaped line in gunicorn's log."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.parse
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "DONOHARM_INSTANCE": str(tmp_path / "instance"),
           "DONOHARM_SECRET_KEY": "hardening-test-secret-key-" + "0" * 40, "DONOHARM_BIND": f"127.0.0.1:{port}",
           "DONOHARM_WORKERS": "1"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "migrate"], cwd=root,
                   env=env, check=True, capture_output=True, timeout=120)  # ExecStartPre in deploy/donoharm.service
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                                   str(root / "deploy" / "gunicorn.conf.py"), "app:app"],
                                  cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                time.sleep(0.3)
        forged = '127.0.0.9 [01/Jan/2026:00:00:00 +0000] "GET /FORGED-ENTRY HTTP/1.1" 200 0 1ms'
        path = "/x%0d%0a" + urllib.parse.quote(forged)
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            while conn.recv(65536):
                pass
        deadline = time.monotonic() + 10
        while "FORGED-ENTRY" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=15)
    lines = log.read_text().splitlines()
    entry = [line for line in lines if "FORGED-ENTRY" in line]
    assert len(entry) == 1, lines
    assert entry[0].startswith("127.0.0.1 ")  # the real client, on the real request's line
    assert "/x\\x0d\\x0a127.0.0.9" in entry[0]
    assert not any(line.startswith("127.0.0.9") for line in lines)


@pytest.mark.parametrize("field, hostile", [("title", "Test protocol\u202e"), ("text", "Ask first\x07"),
                                            ("label", "Option\nB")])
def test_protocol_texts_follow_the_same_text_rule_with_the_line_named(field, hostile):
    from pathlib import Path

    from donoharm.protocols.loader import ProtocolError, load_text

    shipped = Path(__file__).resolve().parent.parent / "protocols" / "immigration-separation" / "1.0.0.yaml"
    source = shipped.read_text()
    data = yaml.safe_load(source)
    if field == "title":
        data["title"] = hostile
    elif field == "text":
        data["phases"][0]["steps"][0]["text"] = hostile
    else:
        step = next(s for p in data["phases"] for s in p["steps"] if s.get("options"))
        step["options"][0]["label"] = hostile
    with pytest.raises(ProtocolError) as caught:
        load_text(yaml.safe_dump(data, allow_unicode=True), "hostile.yaml")
    assert any(f"'{field}'" in p.message and "U+" in p.message and p.line > 1
               for p in caught.value.problems), caught.value.problems
