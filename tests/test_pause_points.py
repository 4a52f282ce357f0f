"""Pause points in the protocol format, and `protocols check` advice with --strict (issue 17)."""
from __future__ import annotations

import copy

import pytest

from donoharm.protocols import ProtocolError
from donoharm.protocols.advice import warnings
from donoharm.protocols.loader import load_text
from tests.protocol_factory import BASE, as_yaml


def paused(**phase_fields):
    doc = copy.deepcopy(BASE)
    doc["phases"][0].update({"pause_point": True, "mode": "read-do", "when": "Before entering the venue",
                             **phase_fields})
    doc["phases"][0] = {k: v for k, v in doc["phases"][0].items() if v is not None}
    return doc


def problems_of(doc):
    with pytest.raises(ProtocolError) as caught:
        load_text(as_yaml(doc), "upload.yaml")
    return [(p.line, p.message) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


def test_a_pause_point_has_a_mode_and_a_moment_in_every_language():
    doc = paused()
    doc["translations"] = {"es": {"phases": {"before": {"title": "Antes", "when": "Antes de entrar al local"}}}}
    protocol = load_text(as_yaml(doc))
    phase = protocol.phases[0]
    assert (phase.pause_point, phase.mode, phase.when) == (True, "read-do", "Before entering the venue")
    assert protocol.in_language("es").phases[0].when == "Antes de entrar al local"
    assert protocol.phases[1].pause_point is False


def test_pause_point_mistakes_are_errors_on_their_line():
    doc = paused(mode=None)
    text = as_yaml(doc)
    assert problems_of(doc) == [(line_of(text, "pause_point: true"),
                                 "a pause point needs 'mode' (read-do or do-confirm)")]
    doc = paused(mode="read-then-do")
    assert "'mode' must be one of: read-do, do-confirm" in problems_of(doc)[0][1]
    doc = copy.deepcopy(BASE)
    doc["phases"][1]["when"] = "After the handover"
    text = as_yaml(doc)
    assert problems_of(doc) == [(line_of(text, "when: After the handover"),
                                 "'when' is only for pause points (add 'pause_point: true')")]
    doc = paused(when="Before\nentering")
    assert "'when'" in problems_of(doc)[0][1]  # one line only


def _steps(count, critical):
    return [{"id": f"step-{i}", "text": f"Step {i} done.", "kind": "check", "critical": i < critical,
             "sources": ["S1"]} for i in range(count)]


def test_advice_on_long_pause_points_many_killer_items_and_counts_without_a_denominator():
    doc = paused(steps=_steps(10, 4))
    text = as_yaml(doc)
    found = [(w.line, w.message.split(";")[0]) for w in warnings(load_text(text), text, "p.yaml")]
    at = line_of(text, "pause_point: true")
    assert (at, "warning: pause point 'before' has 10 steps") in found
    assert (at, "warning: pause point 'before' has 4 critical steps") in found
    assert [message for _line, message in found if "counts people" in message] == [
        "warning: count 'screened' counts people but has no 'of': say which count it is out of (such as the people "
        "present), so that a number can be judged"]
    doc = paused(steps=_steps(9, 3))
    doc["phases"][1]["steps"].insert(0, {"id": "present", "text": "How many people were present?", "kind": "count",
                                         "critical": False, "sources": ["S1"]})
    doc["phases"][1]["steps"][1]["of"] = "present"  # screened, out of the people present
    text = as_yaml(doc)
    assert warnings(load_text(text), text, "p.yaml") == []


def test_protocols_check_prints_warnings_and_fails_on_them_only_when_strict(runner, tmp_path):
    folder = tmp_path / "test-protocol"
    folder.mkdir()
    (folder / "1.0.0.yaml").write_text(as_yaml(paused(steps=_steps(10, 1))), "utf-8")
    result = runner.invoke(args=["protocols", "check", str(folder)])
    assert result.exit_code == 0, result.output
    assert "warning: pause point 'before' has 10 steps" in result.output
    assert "1 file(s) OK, 2 warning(s)." in result.output
    strict = runner.invoke(args=["protocols", "check", "--strict", str(folder)])
    assert strict.exit_code == 1 and "0 problem(s) and 2 warning(s) in 1 file(s)." in strict.output


def test_the_run_page_shows_a_pause_point_with_its_mode_moment_and_time_spent(app, api, users):
    from donoharm.db import connect
    from donoharm.services import library
    from tests.conftest import event

    doc = paused()
    db = connect(app.config["DATABASE"])
    with app.app_context():
        library.publish(db, as_yaml(doc), users["trainer"])
    db.conn.close()
    acc = api("acc")
    run_id = acc.start_run(protocol_id="test-protocol", version="1.0.0")
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert page.count('data-role="pause-point"') == 1 and 'data-mode="read-do"' in page
    assert "Before entering the venue" in page and "Read, then do:" in page
    assert 'data-role="pause-time"' not in page  # nothing done yet
    first, second = event("step.set", "agreement", "yes"), event("step.set", "briefing", True)
    first["at"], second["at"] = "2026-03-01T10:00:00Z", "2026-03-01T10:07:00Z"
    assert acc.send(run_id, first, second).status_code == 200
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "Time spent on this pause point: 7 minutes" in page
    shown = acc.get("/protocols/test-protocol/1.0.0").get_data(as_text=True)
    assert "Before entering the venue" in shown and "Read, then do:" in shown


def test_the_protocol_page_shows_red_flag_rules_measures_and_follow_ups(client, users):
    from tests.conftest import login

    login(client, "trainer")
    page = client.get("/protocols/immigration-separation/1.1.0").get_data(as_text=True)
    assert "red flag above 0" in page and "outcome measure: <code>potential-victims-arrested</code>" in page
    assert "counted out of:" in page
    assert "Follow-up: answered after approval, due 72 hours after the run is submitted." in page
