"""Labels that cannot be names (issue 18, part 1): a run's or an operation's label matches the organisation's
pattern (DONOHARM_LABEL_PATTERN; by default letters, digits and hyphens with at least one digit, no spaces), on
the start page, on the phone with no signal and in the API, refused in the same plain words everywhere."""
from __future__ import annotations

import html as html_lib
import re
import uuid

import pytest

from donoharm import create_app
from donoharm.config import ConfigError, load_config
from donoharm.db import connect
from donoharm.labels import DEFAULT_PATTERN, allows
from donoharm.services.run_service import RunError, checked_label
from tests.conftest import csrf_from, login
from tests.test_offline import TIMEOUT, go_offline_ready, ready

DEFAULT_HINT = ("Use letters, digits and hyphens, with at least one digit and no spaces, e.g. OP-2026-014 — never a "
                "person's name.")
NAME_SHAPED = "SYNTHETIC NAME, 15, SYNTHETICLAND"  # the shape of "first last, age, nationality"

# What the default rule lets through and what it refuses; the phone is checked against the same table below.
ACCEPTED = [
    "OP-2026-014",
    "OP-TEST-001",
    "op-2026-014",  # either case
    "2026",
    "A1",
    "X" * 79 + "1",  # 80 characters, the most a label may have
    # The limit of any pattern: a name joined by hyphens, with a digit, looks like a code. The hint under the
    # field and the personal-data guard on every text are what stand in its way.
    "SYNTHETIC-NAME-15",
]
REFUSED = [
    NAME_SHAPED,
    "OP 2026 014",  # spaces
    "OP-2026\u00a0014",  # a no-break space
    "OP-TEST",  # no digit
    "SYNTHETIC-NAME",  # no digit
    "OP_2026_014",  # underscores
    "OP-2026/014",
    "ÉQUIPE-2026",  # letters outside A-Z: a label in a script of its own could spell a name
    "\u041e\u0420-2026",  # Cyrillic letters that look like "OP"
    "OP-\u0e52\u0e55\u0e56\u0e59",  # Thai digits: digits are 0-9 only
    "OP-\u17e2\u17e0\u17e2\u17e6",  # Khmer digits
]


@pytest.mark.parametrize("label", ACCEPTED)
def test_the_default_rule_accepts_codes(app, label):
    with app.app_context():
        assert checked_label(label) == label
        assert checked_label(f"  {label}  ") == label  # stripped, as stored


@pytest.mark.parametrize("label", REFUSED)
def test_the_default_rule_refuses_names_spaces_and_labels_without_a_digit(app, label):
    with app.app_context(), pytest.raises(RunError) as refused:
        checked_label(label)
    assert refused.value.kind == "invalid" and refused.value.code == "invalid_label"
    assert refused.value.message == DEFAULT_HINT
    assert refused.value.details == {"pattern": DEFAULT_PATTERN}


def test_the_api_refuses_a_name_shaped_label_with_the_rule_in_plain_words(app, api):
    acc = api("acc")
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": NAME_SHAPED})
    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": "invalid_label", "message": DEFAULT_HINT,
                                             "details": {"pattern": DEFAULT_PATTERN}}}
    assert acc.get(f"/api/v1/runs/{run_id}").status_code == 404  # nothing stored

    # An operation's label follows the same rule.
    response = acc.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001",
        "operation": {"id": str(uuid.uuid4()), "label": "OP TEST"}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_operation_label" and error["message"] == DEFAULT_HINT
    db = connect(app.config["DATABASE"])
    try:
        assert db.execute("SELECT count(*) FROM operations").fetchone()[0] == 0
    finally:
        db.conn.close()


def test_an_organisations_own_pattern_is_explained_in_its_own_words(app, api):
    app.config["LABEL_PATTERN"] = "OP-[0-9]{4}-[0-9]{3}"
    app.config["LABEL_HINT"] = "Use the code from the planning sheet, such as OP-2026-014."
    acc = api("acc")
    refused = acc.put(f"/api/v1/runs/{uuid.uuid4()}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001"})
    assert refused.status_code == 422
    assert refused.get_json()["error"] == {"code": "invalid_label",
                                           "message": "Use the code from the planning sheet, such as OP-2026-014.",
                                           "details": {"pattern": "OP-[0-9]{4}-[0-9]{3}"}}
    assert acc.start_run(label="OP-2026-014")
    page = html_lib.unescape(acc.get("/runs/new").get_data(as_text=True))
    assert 'pattern="OP-[0-9]{4}-[0-9]{3}"' in page
    assert "Use the code from the planning sheet, such as OP-2026-014." in page

    # Without words of its own, the refusal names the pattern.
    app.config["LABEL_HINT"] = None
    refused = acc.put(f"/api/v1/runs/{uuid.uuid4()}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001"})
    assert "(OP-[0-9]{4}-[0-9]{3})" in refused.get_json()["error"]["message"]


def test_the_settings_are_read_from_the_environment(tmp_path, monkeypatch):
    assert load_config(tmp_path)["LABEL_PATTERN"] == DEFAULT_PATTERN
    monkeypatch.setenv("DONOHARM_LABEL_PATTERN", "[A-Z]{2}-[0-9]+")
    monkeypatch.setenv("DONOHARM_LABEL_HINT", "Two capitals, a hyphen and a number, e.g. OP-14.")
    config = load_config(tmp_path)
    assert config["LABEL_PATTERN"] == "[A-Z]{2}-[0-9]+"
    assert config["LABEL_HINT"] == "Two capitals, a hyphen and a number, e.g. OP-14."


@pytest.mark.parametrize("pattern,why", [
    ("[A-Z", "not a valid regular expression"),
    ("(?P<code>OP-[0-9]+)", "the group (?P"),  # Python only
    ("(?i)op-[0-9]+", "the group (?i"),  # inline flags: Python only
    (r"OP\s[0-9]+", r"the escape \s"),  # a browser's \s also matches Unicode spaces
    (r"OP-\p{N}+", "not a valid regular expression"),  # a browser's only
    ("OP-[0-9]{,3}", "a { that does not start a repeat count"),  # {,n}: Python only
    ("[]OP]-[0-9]+", "a character class opening with ]"),  # an empty class in a browser
    ("OP-[0-9]++", "a possessive repeat"),
    ("  ", None),  # blank: the default applies
])
def test_a_pattern_only_one_side_understands_stops_the_start_with_one_line(tmp_path, monkeypatch, pattern, why):
    monkeypatch.setenv("DONOHARM_LABEL_PATTERN", pattern)
    if why is None:
        assert load_config(tmp_path)["LABEL_PATTERN"] == DEFAULT_PATTERN
        return
    with pytest.raises(ConfigError) as refused:
        create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    message = str(refused.value)
    assert message.startswith("DONOHARM_LABEL_PATTERN") and why in message and "\n" not in message


def test_a_hint_on_several_lines_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("DONOHARM_LABEL_HINT", "Use the code.\nNever a name.")
    with pytest.raises(ConfigError, match="DONOHARM_LABEL_HINT"):
        load_config(tmp_path)


def test_the_start_page_shows_the_rule_and_keeps_the_other_fields_after_a_refusal(app, users):
    client = app.test_client()
    login(client, "acc")
    page = client.get("/runs/new").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="label"[^>]*>', page).group(0)
    assert f'pattern="{DEFAULT_PATTERN}"' in field and 'aria-describedby="label-names label-hint"' in field
    assert DEFAULT_HINT in html_lib.unescape(re.search(r'<p class="hint" id="label-hint">[^<]*</p>', page).group(0))

    response = client.post("/runs/new", data={
        "csrf_token": csrf_from(client, "/runs/new"), "protocol": "social-worker-accompaniment@1.1.0",
        "label": NAME_SHAPED, "mode": "practice", "language": "es"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = html_lib.unescape(re.search(r'<div class="notice notice-error error-summary".*?</div>', page, re.S)
                                .group(0))
    assert f'<a href="#label">{DEFAULT_HINT}</a>' in summary
    assert f'value="{NAME_SHAPED}"' in page  # nothing typed is lost
    assert re.search(r'<option selected value="social-worker-accompaniment@1\.1\.0"', page)
    assert re.search(r'value="practice"[^>]*checked|checked[^>]*value="practice"', page)
    assert re.search(r'<option selected value="es"', page)
    assert NAME_SHAPED not in client.get("/").get_data(as_text=True)  # no run was started


@pytest.mark.browser
def test_the_phone_refuses_a_label_with_spaces_offline_in_the_same_words(browser, live_server, app):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.base = live_server
    try:
        go_offline_ready(page)
        page.goto(f"{live_server}/runs/new")  # the copy saved on the phone
        ready(page)
        page.fill("#label", "OP TEST 001")
        page.click("#start-run button[type=submit]")
        error = page.locator("#start-run .error-message.js-error")
        error.wait_for()
        assert error.inner_text() == DEFAULT_HINT
        assert page.get_attribute("#label", "aria-invalid") == "true"
        assert page.url.endswith("/runs/new")
        saved = page.evaluate("() => import('/static/js/outbox.js').then((m) => m.localRuns()).then((r) => r.length)")
        assert saved == 0  # nothing kept to send later

        # The phone reads the default pattern as the server does, label for label.
        verdicts = page.evaluate(
            "([pattern, labels]) => import('/static/js/local.js')"
            ".then((m) => labels.map((label) => m.labelAllowed(pattern, label)))",
            [DEFAULT_PATTERN, ACCEPTED + REFUSED])
        assert verdicts == [allows(DEFAULT_PATTERN, label) for label in ACCEPTED + REFUSED]
        assert verdicts == [True] * len(ACCEPTED) + [False] * len(REFUSED)

        page.fill("#label", "OP-TEST-001")  # put right, the run starts on the phone
        page.click("#start-run button[type=submit]")
        page.wait_for_url("**/offline/runs/**")
    finally:
        context.close()
