"""Oversight figures against runs built through the API, small-count suppression, the chart and the CSV."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from donoharm import create_app, oversight
from donoharm.db import connect
from donoharm.db import oversight as oversight_db
from donoharm.db import summaries as summaries_db
from donoharm.services import run_service
from donoharm.services.library import get_registry
from tests.conftest import attestation, complete_answers, event, login

PROTOCOL = ("immigration-separation", "1.0.0")


def protocol(app):
    return app.extensions["donoharm.registry"].get(*PROTOCOL)


@pytest.fixture
def period(app, api):
    """Six submitted live runs (five with a deviation on the first step, one with the last step N/A),
    two of them returned and three approved; one run left open; one practice run; one on another protocol."""
    acc, sup = api("acc"), api("sup")
    steps = protocol(app).steps
    first, last = steps[0].id, steps[-1].id
    run_ids = []
    for index in range(6):
        run_id = acc.start_run(label=f"OP-TEST-{index:03}")
        events = complete_answers(protocol(app))
        deviation = event("deviation", first, note="Started late")
        events += [deviation] if index < 5 else [event("step.na", last, note="Did not arise")]
        assert acc.send(run_id, *events, attestation()).status_code == 200
        run_ids.append((run_id, deviation["id"] if index < 5 else None))
    for run_id, _dev in run_ids[:2]:
        assert sup.send(run_id, event("review.returned", note="Add the time")).status_code == 200
    for run_id, deviation_id in run_ids[2:5]:
        assert sup.send(run_id, event("review.approved", value={"acknowledged": [deviation_id]})).status_code == 200
    acc.start_run(label="OP-TEST-OPEN-1")
    practice = acc.start_run(label="OP-TEST-PRACTICE-1", mode="practice")
    assert acc.send(practice, *complete_answers(protocol(app)), event("deviation", first, note="x"),
                    attestation()).status_code == 200
    acc.start_run(protocol_id="non-coerced-adults", label="OP-TEST-OTHER-1")
    return {"first": first, "last": last, "runs": [r for r, _d in run_ids]}


def figures_page(client, **query):
    response = client.get("/oversight", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def figure(html, name):
    marker = f'data-figure="{name}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("</dd>", start)]


def step_row(html, step_id):
    start = html.index(f'<tr data-step="{step_id}">')
    cells = html[start:html.index("</tr>", start)].split('<td class="num">')[1:]
    return [c.split("</td>")[0] for c in cells]  # runs, answered, na, deviated, runs with a red flag


def test_figures_with_suppression(app, client, period):
    login(client, "sup2")
    html = figures_page(client, protocol="immigration-separation")
    assert figure(html, "started") == "7" and figure(html, "submitted") == "6"
    assert figure(html, "returned") == "&lt;5" and figure(html, "approved") == "&lt;5"
    assert "hours" in figure(html, "median")
    assert step_row(html, period["first"]) == ["6", "6", "&lt;5", "5", "5"]  # each deviation is a red flag
    assert step_row(html, period["last"]) == ["6", "5", "&lt;5", "&lt;5", "&lt;5"]
    # Most problematic first: the deviated step leads the table and the chart.
    table = html[html.index('id="steps"'):]
    assert table.index(f'data-step="{period["first"]}"') < table.index(f'data-step="{period["last"]}"')
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count('class="chart-deviated"') == 2  # the legend and the one bar of 5 deviations
    assert "<script" not in chart and "style=" not in chart


def test_exact_figures_when_the_threshold_is_lowered(app, client, period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup2")
    html = figures_page(client, protocol="immigration-separation")
    assert [figure(html, k) for k in ("started", "submitted", "returned", "approved")] == ["7", "6", "2", "3"]
    assert step_row(html, period["last"]) == ["6", "5", "1", "0", "0"]
    assert figure(html, "flagged_runs") == "5" and figure(html, "flags") == "5"
    everything = figures_page(client)
    assert figure(everything, "started") == "8"  # the other protocol's run; never the practice run
    version = everything[everything.index('data-version="immigration-separation@1.0.0"'):]
    assert '<td class="num">5</td><td class="num">1</td>' in version.split("</tr>")[0]  # deviations, N/A


def test_period_filter(app, client, period):
    app.config["OVERSIGHT_MIN_COUNT"] = 0  # 0 publishes every count
    login(client, "sup")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    html = figures_page(client, since=tomorrow, until=tomorrow)
    assert figure(html, "started") == "0" and "No runs started in this period." in html
    bad = client.get("/oversight", query_string={"since": "2026-02-30"})
    assert bad.status_code == 400 and "Give a date as YYYY-MM-DD." in bad.get_data(as_text=True)
    backwards = client.get("/oversight", query_string={"since": tomorrow, "until": "2020-01-01"})
    assert backwards.status_code == 400 and "before its start" in backwards.get_data(as_text=True)


def test_csv_export(app, client, period):
    login(client, "sup")
    response = client.get("/oversight.csv", query_string={"protocol": "immigration-separation"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    totals = {r["measure"]: r["value"] for r in rows if r["scope"] == "all"}
    assert totals["started"] == "7" and totals["submitted"] == "6" and totals["returned"] == "<5"
    first = {r["measure"]: r["value"] for r in rows if r["scope"] == "step" and r["step_id"] == period["first"]}
    assert first == {"runs": "6", "answered": "6", "na": "<5", "deviated": "5", "flagged": "5"}
    assert totals["flagged_runs"] == "5" and totals["follow_ups_due"] == "<5"
    assert all(r["protocol_id"] == "immigration-separation" for r in rows)
    assert client.get("/oversight.csv", query_string={"until": "soon"}).status_code == 400


def test_summary_tables_agree_with_the_fold(app, period):
    db = connect(app.config["DATABASE"])
    with app.app_context():
        registry = get_registry()
        for run_id in period["runs"]:
            run = run_service.load_run(db, run_id)
            state, _events = run_service.run_state(db, registry, run)
            stored = summaries_db.run_steps_of(db, run_id)
            flagged = {flag["step"] for flag in state.red_flags()}
            assert stored == {sid: (entry["status"], sid in state.deviated_steps(), sid in flagged)
                              for sid, entry in state.steps.items()}
            facts = summaries_db.run_facts_of(db, run_id)
            assert facts["deviation_count"] == len(state.deviations)
            assert facts["na_count"] == sum(e["status"] == "na" for e in state.steps.values())
            assert facts["approved"] == (state.status == "approved")
            assert facts["returned"] == sum(r["decision"] == "returned" for r in state.reviews)
    # The day totals kept by adding and subtracting on each append equal a recount from the summaries.
    tables = ("run_days", "step_days", "measure_days")
    kept = [sorted(map(tuple, db.execute(f"SELECT * FROM {t}").fetchall())) for t in tables]
    summaries_db.rebuild_day_totals(db)
    recounted = [sorted(map(tuple, db.execute(f"SELECT * FROM {t}").fetchall())) for t in tables]
    assert kept == recounted and kept[1]
    db.conn.close()


def test_suppression_and_csv_cells():
    assert [oversight.suppress(n, 5) for n in (0, 4, 5, 12)] == ["<5", "<5", "5", "12"]
    assert oversight.suppress(2, 0) == "2"
    figures = oversight.Figures({"started": 0, "submitted": 0, "returned": 0, "approved": 0}, None, [],
                                [{"protocol_id": "p", "step_id": "s", "text": "=HYPERLINK(1)", "runs": 9,
                                  "answered": 9, "na": 0, "deviated": 0}])
    text = oversight.to_csv(figures, "2026-01-01", "2026-12-31", None, 5)
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_median_time_to_submission_is_exact(app, api):
    """Three submitted runs started 1, 2 and 6 hours before submission: the median is 2 hours."""
    acc = api("acc")
    now = datetime.now(UTC)
    for hours in (1, 2, 6):
        run_id = str(uuid.uuid4())
        created = (now - timedelta(hours=hours)).isoformat()
        body = {"protocol_id": PROTOCOL[0], "protocol_version": PROTOCOL[1], "label": f"OP-TEST-H{hours}",
                "created_at": created}
        assert acc.put(f"/api/v1/runs/{run_id}", json=body).status_code == 201
        assert acc.send(run_id, *complete_answers(protocol(app)), attestation()).status_code == 200
    db = connect(app.config["DATABASE"])
    day = now.date().isoformat()
    since = (now - timedelta(days=1)).date().isoformat()
    medians = oversight.submission_medians(oversight_db.submit_seconds(db, since, day, PROTOCOL[0]))
    db.conn.close()
    count, seconds = medians(None)
    assert count == 3 and abs(seconds - 2 * 3600) < 60
    assert medians(PROTOCOL)[0] == 3 and medians(PROTOCOL)[1] == seconds
    assert medians((PROTOCOL[0], "0.0.0")) == (0, None)


def test_medians_take_the_middle_value_or_the_mean_of_the_two_middle_ones_per_version_and_overall():
    medians = oversight.submission_medians({("p", "1.0.0"): [300.5, 100.25, 200.0],
                                            ("p", "2.0.0"): [1000.0, 50.0], ("q", "1.0.0"): []})
    assert medians(("p", "1.0.0")) == (3, 200.0)  # sorted first: the middle of three
    assert medians(("p", "2.0.0")) == (2, 525.0)  # the mean of the two middle values
    assert medians(("q", "1.0.0")) == (0, None)
    assert medians(None) == (5, 200.0)  # over every version: 50, 100.25, 200, 300.5, 1000
    assert oversight.submission_medians({})(None) == (0, None)


def test_runs_stored_before_the_summaries_are_summarised_at_start(app, api, tmp_path):
    acc = api("acc")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(protocol(app)), event("deviation", None, note="Late"),
                    attestation()).status_code == 200
    db = connect(app.config["DATABASE"])
    expected = summaries_db.run_facts_of(db, run_id)
    db.execute("DELETE FROM run_steps")
    db.execute("DELETE FROM run_facts")
    summaries_db.rebuild_day_totals(db)
    db.execute("INSERT INTO review_pending VALUES (?)", [run_id])
    db.conn.close()
    create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    db = connect(app.config["DATABASE"])
    assert summaries_db.run_facts_of(db, run_id) == expected
    assert summaries_db.pending_runs(db) == []
    assert db.execute("SELECT sum(submitted), sum(deviations) FROM run_days").fetchone()[:] == (1, 1)
    db.conn.close()
