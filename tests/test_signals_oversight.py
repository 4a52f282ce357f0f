"""Oversight of harm signals: outcome measures and their ratios, red flags per run and per step, follow-ups done
on time, late or still open — on the page, in the chart and in the CSV, with small counts suppressed.

The fixture is computed by hand (signals-test 1.0.0, tests/protocol_factory.SIGNALS):

run | present | screened in private | arrested | flags                                      | follow-up
A   | 10      | 4                   | 0        | none                                       | done on time
B   | 20      | 10                  | 2        | placement police-cell; arrested above 0    | done late
C   | 30      | 6                   | 1        | family contact not safe; arrested above 0  | open (approved)
D   | 15      | not answered        | 0        | deviation on placement                     | open (not reviewed)
E   | N/A     | 5                   | 0        | none                                       | done on time
left out: one run not submitted (present 100), one practice run (present 50).

people-present: 4 runs, total 75.
people-screened-in-private: 4 runs, total 25; with a denominator (A, B, C): 20 of 60 (33%).
potential-victims-arrested: 5 runs, total 3; with a denominator (A-D): 3 of 75 (4%).
Flags: 5 raised, 3 flagged runs (B, C, D); per step: placement 2, victims-arrested 2, family-contact-safe 1.
Follow-ups: 5 due, 2 on time, 1 late, 2 open.
"""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from donoharm import oversight
from tests.conftest import attestation, event, login
from tests.test_oversight import figure

SIGNALS = ("signals-test", "1.0.0")


def answers(present=None, screened=None, arrested=None, family="yes", placement="shelter", present_na=False):
    events = [event("step.set", "family-contact-safe", family), event("step.set", "placement", placement)]
    if present_na:
        events.append(event("step.na", "people-present", note="Not counted"))
    elif present is not None:
        events.append(event("step.set", "people-present", present))
    for step, value in (("screened-in-private", screened), ("victims-arrested", arrested)):
        if value is not None:
            events.append(event("step.set", step, value))
    return events


def made_at(events, when):
    """The events as a phone would have sent them at `when`, a second apart."""
    return [{**e, "at": (when + timedelta(seconds=i)).isoformat()} for i, e in enumerate(events)]


def follow_up_answers():
    return [event("step.set", "no-removal-72h", "no"), event("step.set", "services-reachable", True)]


def approve(sup, run_id):
    flags = sup.get(f"/api/v1/runs/{run_id}").get_json()["state"]["red_flags"]
    response = sup.send(run_id, event("review.approved", value={"acknowledged": [f["id"] for f in flags]}))
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def signals_period(app, api, signals_protocol):
    app.config["RECORDS_WORKER"] = "off"  # the records are not what these tests are about: skip rendering them
    acc, sup = api("acc"), api("sup")
    now = datetime.now(UTC)

    def run(label, *events, created=None, mode="live"):
        run_id = str(uuid.uuid4())
        body = {"protocol_id": SIGNALS[0], "protocol_version": SIGNALS[1], "label": label, "mode": mode}
        if created:
            body["created_at"] = created.isoformat()
        assert acc.put(f"/api/v1/runs/{run_id}", json=body).status_code == 201
        if events:
            response = acc.send(run_id, *events)
            assert response.status_code == 200, response.get_json()
        return run_id

    a = run("OP-TEST-A-1", *answers(10, 4, 0), attestation())
    # B was submitted four days ago: its follow-up fell due a day ago, and is answered late below.
    b = run("OP-TEST-B-1", *made_at([*answers(20, 10, 2, placement="police-cell"), attestation()],
                                  now - timedelta(days=4)), created=now - timedelta(days=4, hours=2))
    c = run("OP-TEST-C-1", *answers(30, 6, 1, family="no"), attestation())
    d = run("OP-TEST-D-1", *answers(15, None, 0), event("deviation", "placement", note="Placed late"), attestation())
    e = run("OP-TEST-E-1", *answers(None, 5, 0, present_na=True), attestation())
    run("OP-TEST-OPEN-1", *answers(100, 100, 0))
    run("OP-TEST-PRACTICE-1", *answers(50, 50, 9, family="no"), attestation(), mode="practice")
    for run_id in (a, b, c, e):
        approve(sup, run_id)
    for run_id in (a, b, e):
        assert acc.send(run_id, *follow_up_answers()).status_code == 200
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def page(client, **query):
    response = client.get("/oversight", query_string={"protocol": SIGNALS[0], **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def measure_row(html, name):
    start = html.index(f'<tr data-measure="{name}">')
    row = html[start:html.index("</tr>", start)]
    cells = dict(re.findall(r'data-cell="(\w+)">(.*?)</td>', row, re.S))
    ratio = re.search(r"<span data-ratio>(.*?)</span>", cells["ratio"])
    return cells["runs"], cells["total"], ratio.group(1) if ratio else ""


def step_flagged(html, step_id):
    start = html.index(f'<tr data-step="{step_id}">')
    cells = html[start:html.index("</tr>", start)].split('<td class="num">')[1:]
    return cells[4].split("</td>")[0]  # runs, answered, na, deviated, flagged


def csv_rows(client, **query):
    response = client.get("/oversight.csv", query_string={"protocol": SIGNALS[0], **query})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def by_scope(rows, scope):
    return {(r["step_id"], r["measure"]): r["value"] for r in rows if r["scope"] == scope}


def test_measures_and_ratios_add_up_as_computed_by_hand(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    html = page(client)
    assert measure_row(html, "people-present") == ("4", "75", "")
    assert measure_row(html, "people-screened-in-private") == ("4", "25", "20 of 60 (33%)")
    assert measure_row(html, "potential-victims-arrested") == ("5", "3", "3 of 75 (4%)")
    assert "Counted against: People present" in html
    measures = by_scope(csv_rows(client), "measure")
    assert measures == {
        ("people-present", "people-present"): "75", ("people-present", "people-present.runs"): "4",
        ("screened-in-private", "people-screened-in-private"): "25",
        ("screened-in-private", "people-screened-in-private.runs"): "4",
        ("screened-in-private", "people-screened-in-private.ratio_runs"): "3",
        ("screened-in-private", "people-screened-in-private.numerator"): "20",
        ("people-present", "people-screened-in-private.denominator"): "60",
        ("screened-in-private", "people-screened-in-private.percent"): "33",
        ("victims-arrested", "potential-victims-arrested"): "3",
        ("victims-arrested", "potential-victims-arrested.runs"): "5",
        ("victims-arrested", "potential-victims-arrested.ratio_runs"): "4",
        ("victims-arrested", "potential-victims-arrested.numerator"): "3",
        ("people-present", "potential-victims-arrested.denominator"): "75",
        ("victims-arrested", "potential-victims-arrested.percent"): "4"}


def test_measures_are_suppressed_below_the_threshold(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 4
    login(client, "sup2")
    html = page(client)
    assert measure_row(html, "people-present") == ("4", "75", "")
    # 3 runs answered both counts, under 4: the parts and the share are withheld.
    assert measure_row(html, "people-screened-in-private") == ("4", "25", "fewer than 4 runs")
    # 4 runs answered both, but 3 arrested is under 4: the share, which would give it away, is withheld.
    assert measure_row(html, "potential-victims-arrested") == ("5", "&lt;4", "&lt;4 of 75 (share withheld)")
    rows = by_scope(csv_rows(client), "measure")
    assert rows[("screened-in-private", "people-screened-in-private.ratio_runs")] == "<4"
    assert rows[("screened-in-private", "people-screened-in-private.numerator")] == "<4 runs"
    assert rows[("people-present", "people-screened-in-private.denominator")] == "<4 runs"
    assert rows[("screened-in-private", "people-screened-in-private.percent")] == "withheld"
    assert rows[("victims-arrested", "potential-victims-arrested")] == "<4"
    assert rows[("victims-arrested", "potential-victims-arrested.numerator")] == "<4"
    assert rows[("people-present", "potential-victims-arrested.denominator")] == "75"
    assert rows[("victims-arrested", "potential-victims-arrested.percent")] == "withheld"
    # A total reported by fewer runs than the threshold is withheld, whatever its size.
    app.config["OVERSIGHT_MIN_COUNT"] = 5
    html = page(client)
    assert measure_row(html, "people-present") == ("&lt;5", "fewer than 5 runs", "")
    assert by_scope(csv_rows(client), "measure")[("people-present", "people-present")] == "<5 runs"
    assert "75" not in html.split('id="measures"')[1].split("</table>")[0]


def test_red_flags_per_run_and_per_step(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    html = page(client)
    assert figure(html, "flagged_runs") == "3" and figure(html, "flags") == "5"
    assert [step_flagged(html, s) for s in ("placement", "victims-arrested", "family-contact-safe",
                                            "people-present")] == ["2", "2", "1", "0"]
    # The steps that raised red flags lead the table, and each draws a red-flag bar in the chart.
    table = html[html.index('id="steps"'):]
    order = re.findall(r'<tr data-step="([\w-]+)">', table)
    assert order[:3] == ["placement", "victims-arrested", "family-contact-safe"]
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count('class="chart-flagged"') == 1 + 3  # the legend and three bars
    version = html[html.index(f'data-version="{SIGNALS[0]}@{SIGNALS[1]}"'):].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in version.split('<td class="num">')[1:]]
    # started, submitted, returned, approved, deviations, N/A, runs with a red flag
    assert cells[:7] == ["6", "5", "0", "4", "1", "1", "3"]
    rows = csv_rows(client)
    totals = {r["measure"]: r["value"] for r in rows if r["scope"] == "all"}
    assert totals["flagged_runs"] == "3" and totals["flags"] == "5"
    steps = by_scope(rows, "step")
    assert steps[("placement", "flagged")] == "2" and steps[("family-contact-safe", "flagged")] == "1"
    assert steps[("people-present", "flagged")] == "0"
    versions = {r["measure"]: r["value"] for r in rows if r["scope"] == "version"}
    assert versions["flagged_runs"] == "3" and versions["flags"] == "5"


def test_red_flags_are_suppressed_below_the_threshold(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 3
    login(client, "sup2")
    html = page(client)
    assert figure(html, "flagged_runs") == "3" and figure(html, "flags") == "5"
    assert [step_flagged(html, s) for s in ("placement", "family-contact-safe")] == ["&lt;3", "&lt;3"]
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count('class="chart-flagged"') == 1  # the legend only: every per-step count is under 3
    assert "&lt;3" in chart
    steps = by_scope(csv_rows(client), "step")
    assert steps[("placement", "flagged")] == "<3" and steps[("victims-arrested", "flagged")] == "<3"


def test_follow_ups_on_time_late_and_open(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    html = page(client)
    assert [figure(html, f"follow_ups_{k}") for k in ("due", "on_time", "late", "open")] == ["5", "2", "1", "2"]
    totals = {r["measure"]: r["value"] for r in csv_rows(client) if r["scope"] == "all"}
    assert [totals[f"follow_ups_{k}"] for k in ("due", "on_time", "late", "open")] == ["5", "2", "1", "2"]
    app.config["OVERSIGHT_MIN_COUNT"] = 2
    html = page(client)
    assert [figure(html, f"follow_ups_{k}") for k in ("due", "on_time", "late", "open")] == ["5", "2", "&lt;2", "2"]
    totals = {r["measure"]: r["value"] for r in csv_rows(client) if r["scope"] == "all"}
    assert [totals[f"follow_ups_{k}"] for k in ("due", "on_time", "late", "open")] == ["5", "2", "<2", "2"]


def test_the_period_and_protocol_filters_apply_to_the_new_figures(app, client, signals_period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    # Run B started four days ago: a period from yesterday leaves it out.
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    html = page(client, since=since)
    assert measure_row(html, "people-present") == ("3", "55", "")
    assert figure(html, "flagged_runs") == "2" and figure(html, "follow_ups_late") == "0"
    other = page(client, protocol="immigration-separation")
    assert 'id="measures"' not in other and figure(other, "flags") == "0"
    assert not [r for r in csv_rows(client, protocol="immigration-separation") if r["scope"] == "measure"]


def test_measure_cells_rules():
    measure = {"runs": 6, "total": 40, "of_step_id": "present", "paired_runs": 6, "paired_total": 40,
               "paired_of_total": 120}
    assert oversight.measure_cells(measure, 5) == {
        "runs": "6", "total": "40", "ratio": {"runs": "6", "part": "40", "whole": "120", "percent": "33"}}
    assert oversight.measure_cells({**measure, "paired_of_total": 4}, 5)["ratio"]["percent"] is None
    assert oversight.measure_cells({**measure, "paired_total": 4}, 5)["ratio"] == {
        "runs": "6", "part": "<5", "whole": "120", "percent": None}
    assert oversight.measure_cells({**measure, "paired_runs": 4}, 5)["ratio"] == {
        "runs": "<5", "part": None, "whole": None, "percent": None}
    assert oversight.measure_cells({**measure, "runs": 4}, 5)["total"] is None
    assert oversight.measure_cells({**measure, "of_step_id": None}, 5)["ratio"] is None
    assert oversight.percent(1, 1000) == "<1" and oversight.percent(0, 10) == "0"


def test_measure_csv_cells_cannot_start_a_formula():
    figures = oversight.Figures({}, None, measures=[{
        "protocol_id": "p", "measure": "=cmd", "label": "=cmd", "step_id": "s", "text": "@SUM(1)",
        "of_step_id": "o", "of_text": "+HYPERLINK()", "runs": 9, "total": 9, "paired_runs": 9, "paired_total": 9,
        "paired_of_total": 9}])
    rows = [r for r in csv.reader(io.StringIO(oversight.to_csv(figures, "2026-01-01", "2026-01-31", None, 5)))
            if r[2] == "measure"]
    assert len(rows) == 6
    for row in rows:
        assert row[6].startswith("'") and row[7].startswith("'"), row


def test_measure_totals_kept_by_each_append_agree_with_a_rebuild(app, api, client, signals_period):
    """A returned run whose count is corrected moves the measure totals by the difference, and the totals
    kept append by append equal a recount from the per-run summaries."""
    from donoharm.db import connect
    from donoharm.db import summaries as summaries_db
    from donoharm.services import run_service
    from donoharm.services.library import get_registry

    acc, sup = api("acc"), api("sup")
    run_d = signals_period["D"]
    assert sup.send(run_d, event("review.returned", note="Check the count")).status_code == 200
    assert acc.send(run_d, event("step.set", "people-present", 25), event("step.set", "screened-in-private", 5),
                    attestation()).status_code == 200
    db = connect(app.config["DATABASE"])
    with app.app_context():
        registry = get_registry()
        for run_id in signals_period.values():
            run = run_service.load_run(db, run_id)
            state, _events = run_service.run_state(db, registry, run)
            assert summaries_db.run_measures_of(db, run_id) == state.measures()
    tables = ("run_days", "step_days", "measure_days")
    kept = [sorted(map(tuple, db.execute(f"SELECT * FROM {t}").fetchall())) for t in tables]
    summaries_db.rebuild_day_totals(db)
    recounted = [sorted(map(tuple, db.execute(f"SELECT * FROM {t}").fetchall())) for t in tables]
    db.conn.close()
    assert kept == recounted and kept[2]
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    html = page(client)
    assert measure_row(html, "people-present") == ("4", "85", "")  # 10 + 20 + 30 + 25
    assert measure_row(html, "people-screened-in-private") == ("5", "30", "25 of 85 (29%)")
