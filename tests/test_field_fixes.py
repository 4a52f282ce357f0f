"""What a newcomer hit on the server's pages (issue 20): the start menu, My runs, practice, trainers' upload, the
offline page, the HTML checker's errors, `make run` and the package metadata."""
from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from donoharm.web import practice
from tests.conftest import attestation, complete_answers
from tests.protocol_factory import accompaniment_1_3_0
from tests.test_trainer_pages import SWA, check, publish, signed_in

ROOT = Path(__file__).resolve().parent.parent


def protocol_menu(page: str) -> tuple[str, str]:
    """The start form's protocol menu: its opening tag and its options."""
    found = re.search(r'(<select[^>]*id="protocol"[^>]*>)(.*?)</select>', page, re.S)
    return found.group(1), found.group(2)


def options_of(page: str) -> list[tuple[str, str]]:
    menu = protocol_menu(page)[1]
    return re.findall(r'<option(?: selected)? value="([^"]*)"(?: selected)?>([^<]*)</option>', menu)


def test_start_menu_names_the_protocol_and_begins_with_an_empty_choice(app, users):
    page = signed_in(app, "acc").get("/runs/new").get_data(as_text=True)
    tag, menu = protocol_menu(page)
    assert " required" in tag
    # The first option is an empty placeholder outside every optgroup, as HTML asks of a required menu.
    assert menu.startswith('<option value="">'), menu[:200]
    registry = app.extensions["donoharm.registry"]
    current = registry.current(SWA)
    labels = dict(options_of(page))
    assert labels[f"{SWA}@{current.version}"] == f"{current.title} — {current.version} (current)"
    # Two protocols never look alike in the closed menu: every label is unique.
    assert len(set(labels.values())) == len(labels)


def test_start_form_without_a_protocol_names_the_field(app, users):
    client = signed_in(app, "acc")
    page = client.get("/runs/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/runs/new", data={"csrf_token": token, "protocol": "", "label": "OP-TEST-001",
                                              "mode": "live", "operation": "new", "language": "en"})
    assert response.status_code == 422
    assert "Choose a protocol." in response.get_data(as_text=True)


def test_submitted_practice_runs_are_not_listed_as_waiting_for_review(app, users, api):
    acc = api("acc")
    registry = app.extensions["donoharm.registry"]
    protocol = registry.get("immigration-separation", "1.0.0")
    for mode, label in (("practice", "TRAINING-01"), ("live", "OP-TEST-001")):
        run_id = acc.start_run(label=label, mode=mode)
        assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    page = signed_in(app, "acc").get("/").get_data(as_text=True)
    waiting = page.split('id="h-submitted"')[1].split("</section>")[0]
    assert "OP-TEST-001" in waiting and "TRAINING-01" not in waiting
    practice_group = page.split('id="h-submitted_practice"')[1].split("</section>")[0]
    assert "practice runs are not reviewed" in practice_group and "TRAINING-01" in practice_group


def test_a_practice_run_started_a_minute_ago_is_not_missed(app, users, api, monkeypatch):
    api("acc").start_run(label="TRAINING-02", mode="practice")
    trainer = signed_in(app, "trainer")
    page = trainer.get("/practice").get_data(as_text=True)
    table = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    assert "Still under way" in page
    assert not re.search(r"<td>[1-9]\d*</td><td>", table), table  # no step counted missed
    # A day and more later, left in progress: its open critical steps count as missed.
    monkeypatch.setattr(practice, "_now", lambda: datetime.now(UTC) + timedelta(days=1, minutes=1))
    page = trainer.get("/practice").get_data(as_text=True)
    assert "Still under way" not in page and "Critical steps missed (left open):" in page
    assert re.search(r"<td>1</td><td>0</td>", page)


def current_of(client, protocol_id):
    listed = client.get("/api/v1/protocols").get_json()
    return [p["version"] for p in listed if p["id"] == protocol_id and p["status"] == "current"]


def test_unticking_make_current_keeps_the_previous_current_version(app, users):
    client = signed_in(app, "trainer")
    before = current_of(client, SWA)
    assert before and before != ["1.3.0"]
    assert publish(client, accompaniment_1_3_0(), make_current=False).status_code == 302
    assert current_of(client, SWA) == before  # the newer version is published, not current
    listed = {p["version"]: p["status"] for p in client.get("/api/v1/protocols").get_json() if p["id"] == SWA}
    assert listed["1.3.0"] == "published"


def test_preview_has_one_csrf_token_id_and_says_what_unticking_does(app, users):
    page = check(signed_in(app, "trainer"), accompaniment_1_3_0()).get_data(as_text=True)
    assert page.count('id="csrf_token"') == 1
    assert "Untick it to keep" in page


BAD_INDENT = """id: example
version: 1.0.0
title: Example
phases:
  - id: before
    title: Before
    steps:
      - id: one
        text: First
       kind: check
"""


def test_yaml_errors_are_in_plain_words_with_the_line_as_typed(app, users):
    response = check(signed_in(app, "trainer"), BAD_INDENT)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "block end" not in page and "block mapping start" not in page  # no parser jargon
    assert "indented differently" in page
    assert re.search(r"Line 10, column 8", page), page.split('id="problems"')[1][:600]
    # The offending line keeps its indentation, in a <pre>, with a mark under the column.
    quoted = page.split('<pre class="yaml-line" id="yaml-line-10">')[1].split("</pre>")[0]
    assert "10: </span>       kind: check" in quoted
    assert quoted.rstrip().endswith("       ^</span>")


def test_yaml_box_is_tall_and_resizable(app, users):
    page = signed_in(app, "trainer").get("/protocols/new").get_data(as_text=True)
    box = re.search(r"<textarea[^>]*id=\"text\"[^>]*>", page).group(0)
    assert 'rows="20"' in box and "yaml-text" in box
    css = (ROOT / "static/css/trainers.css").read_text()
    assert re.search(r"\.yaml-text \{[^}]*resize: vertical", css)


def test_oversight_escapes_the_small_count_sign(app, users):
    page = signed_in(app, "sup").get("/oversight").get_data(as_text=True)
    sentence = page.split("show as")[1].split("so that")[0]
    assert "&lt;" in sentence and "<5" not in sentence


def test_offline_page_has_no_sign_in_menu_and_a_way_back_to_the_run(app, users):
    for client in (app.test_client(), signed_in(app, "acc")):
        page = client.get("/offline").get_data(as_text=True)
        header = page.split('<header class="site-header">')[1].split("</header>")[0]
        assert "Sign in" not in header and "Sign out" not in header
        assert 'id="last-run"' in page and "Back to your run" in page


def test_run_page_marks_the_check_link_for_hiding_offline_and_preloads_its_font(app, users, api):
    run_id = api("acc").start_run()
    page = signed_in(app, "acc").get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'data-role="online-actions"' in page
    assert 'id="offline-missing"' in page
    assert re.search(r'<link rel="preload" href="/static/fonts/web/NotoSans-Regular.woff2" as="font"', page)
    css = (ROOT / "static/css/app.css").read_text()
    latin = [line for line in css.splitlines() if line.startswith('@font-face { font-family: "Noto Sans";')]
    assert latin and all("font-display: optional" in line for line in latin)


def test_progress_line_counts_steps_covered_by_a_deviation(app, users, api):
    from tests.conftest import event
    acc = api("acc")
    run_id = acc.start_run()
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    step = protocol.critical_steps[0]
    assert acc.send(run_id, event("deviation", step.id, note="Team entered before the check.")).status_code == 200
    page = signed_in(app, "acc").get(f"/runs/{run_id}").get_data(as_text=True)
    line = page.split('data-role="progress">')[1].split("</p>")[0]
    assert "1 step covered by a deviation." in line


def test_signed_out_pages_do_not_ask_for_the_private_page_list():
    app_js = (ROOT / "static/js/app.js").read_text()
    # The precache list is asked for only when the page says someone is signed in (a 401 otherwise).
    start = app_js.split("async function precachePrivatePages")[1].split("\n}")[0]
    assert "dataset.user" in start


def test_make_run_prints_the_setup_link_last():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:")[1].split("\n\n")[0]
    assert "setup-link" in recipe or "setup_link" in recipe


def test_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert all(Path(ROOT, name).exists() for name in project.get("license-files", []))
