"""Transparency reports of one instance: publishing a quarter (CLI and admin page), what counts, suppression
(primary and complementary), the signed JSON against its schema, the signed PDF, reproducibility, `reports check`,
refusals, and the public list that needs no account and shows nothing else.

The fixture (immigration-separation 1.0.0, Q2 2026, threshold 5), computed by hand:
8 live runs submitted in the quarter (OP-TEST-Q2-1..8), of which 2 deviated on placements-not-detention and 1
answered no-immigration-enforcement-commitment "no" (a flagged answer). Left out: one live run not submitted, one
practice run submitted, one live run started in Q3.
runs_by_protocol: submitted 8, returned 0 (<5), approved 0 (<5), flagged_runs 3 (<5).
red_flags: answer 1, deviation 2, all 3: all under 5, so all "<5".
operations: 8 (every run its own operation).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
from cryptography import x509

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import users as users_db
from donoharm.records.detached import signature_problem
from donoharm.transparency import suppression
from donoharm.transparency.document import data_sha256, period_of, schema_problems
from tests.conftest import PASSWORD_HASH, Api, complete_answers, csrf_from, event, login

PROTOCOL = ("immigration-separation", "1.0.0")


def make_instance(folder: Path, name: str, key_folder: Path | None = None, threshold: int = 5):
    """An app on its own instance folder, with its own name, users and (unless given) its own signing key."""
    folder.mkdir(parents=True)
    if key_folder is not None:
        for path in key_folder.iterdir():
            shutil.copy(path, folder)
    else:
        from donoharm.records.signing import generate_keys

        generate_keys(folder, name)
    app = create_app({"TESTING": True, "INSTANCE": folder, "SECRET_KEY": "test", "ORGANISATION_NAME": name,
                      "RECORDS_WORKER": "off", "OVERSIGHT_MIN_COUNT": threshold})
    db = connect(app.config["DATABASE"])
    for username, role in (("acc", "accompanier"), ("sup", "supervisor"), ("admin", "admin")):
        users_db.create_user(db, username, PASSWORD_HASH, role)
    db.conn.close()
    return app


def add_run(app, day: str, label: str, deviation: bool = False, flagged: bool = False, submit: bool = True,
            mode: str = "live") -> str:
    """A run of PROTOCOL started on `day` (UTC, 10:00) and answered then: complete, optionally with a deviation
    or a flagged answer, submitted unless told otherwise."""
    from donoharm.services.library import get_registry

    acc = Api(app, "acc")
    with app.app_context():
        protocol = get_registry().get(*PROTOCOL)
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": PROTOCOL[0], "protocol_version": PROTOCOL[1], "label": label, "mode": mode,
        "created_at": f"{day}T10:00:00+00:00"})
    assert response.status_code == 201, response.get_json()
    events = complete_answers(protocol)
    if flagged:
        events.append(event("step.set", "no-immigration-enforcement-commitment", "no"))
    if deviation:
        events.append(event("deviation", "placements-not-detention", note="Placed in a holding room at first."))
    if submit:
        events.append(event("run.submitted", value={"name": "Test Accompanier", "confirmed": True}))
    events = [{**e, "at": f"{day}T10:{i // 60:02d}:{i % 60:02d}+00:00"} for i, e in enumerate(events, start=1)]
    response = acc.send(run_id, *events)
    assert response.status_code == 200, response.get_json()
    return run_id


@pytest.fixture
def quarter_app(tmp_path, key_folder):
    app = make_instance(tmp_path / "instance", "Test Organisation SYNTHETIC", key_folder)
    for number in range(1, 9):
        add_run(app, f"2026-05-{number:02d}", f"OP-TEST-Q2-{number}", deviation=number in (2, 3),
                flagged=number == 4)
    add_run(app, "2026-05-20", "OP-TEST-Q2-OPEN", submit=False)
    add_run(app, "2026-05-21", "OP-TEST-Q2-PRACTICE", mode="practice")
    add_run(app, "2026-07-02", "OP-TEST-Q3-1")
    return app


def publish(app, *args):
    return app.test_cli_runner().invoke(args=["reports", "publish", *args])


def published_document(app) -> dict:
    db = connect(app.config["DATABASE"])
    row = db.execute("SELECT json_path FROM reports ORDER BY published_at DESC LIMIT 1").fetchone()
    db.conn.close()
    return json.loads((Path(app.instance_path) / "reports" / row[0]).read_text())


def counted_heads(app, labels) -> list[str]:
    db = connect(app.config["DATABASE"])
    marks = ",".join("?" * len(labels))
    heads = [r[0] for r in db.execute(f"SELECT head_hash FROM runs WHERE label IN ({marks})", list(labels))]
    db.conn.close()
    return heads


def root_of(app) -> x509.Certificate:
    return x509.load_pem_x509_certificate((Path(app.instance_path) / "signing-root.pem").read_bytes())


def test_publish_a_quarter_counts_live_submitted_runs_and_suppresses_small_counts(quarter_app):
    result = publish(quarter_app, "--period", "2026-Q2")
    assert result.exit_code == 0, result.output
    report = published_document(quarter_app)
    assert schema_problems(report) == []
    assert signature_problem(report, [root_of(quarter_app)]) is None
    assert report["period"] == {"start": "2026-04-01", "end": "2026-06-30", "label": "2026-Q2"}
    assert report["threshold"] == 5 and report["kind"] == "instance"
    assert report["instance"]["name"] == "Test Organisation SYNTHETIC" and len(report["instance"]["id"]) == 36
    assert [(p["id"], p["version"]) for p in report["protocols"]] == [PROTOCOL]
    figures = report["figures"]
    assert figures["operations"] == 8
    runs = figures["tables"]["runs_by_protocol"]
    assert runs["rows"][0]["cells"] == {"submitted": 8, "returned": "<5", "approved": "<5", "flagged_runs": "<5"}
    assert runs["total"]["submitted"] == 8
    assert figures["tables"]["red_flags"]["rows"][0]["cells"] == {"answer": "<5", "deviation": "<5", "all": "<5"}
    steps = {r["step_id"]: r["cells"] for r in figures["tables"]["deviations_by_step"]["rows"]}
    assert steps["placements-not-detention"]["deviated"] == "<5"
    # No total row: summed over steps it would count run-step pairs and give away red_flags' withheld counts.
    assert figures["tables"]["deviations_by_step"]["total"] is None
    heads = counted_heads(quarter_app, [f"OP-TEST-Q2-{n}" for n in range(1, 9)])
    assert report["data_sha256"] == data_sha256(heads)
    text = json.dumps(report)
    assert "OP-TEST" not in text and "acc" not in json.dumps(report["figures"])  # no label, no staff


def test_the_pdf_is_signed_and_readable(quarter_app):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    db = connect(quarter_app.config["DATABASE"])
    row = db.execute("SELECT pdf_path, pdf_sha256 FROM reports").fetchone()
    db.conn.close()
    data = (Path(quarter_app.instance_path) / "reports" / row[0]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == row[1]
    import io

    reader = PdfFileReader(io.BytesIO(data))
    root = (Path(quarter_app.instance_path) / "signing-root.pem").read_bytes()
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(pem.unarmor(root)[2])])
    # pyHanko runs its own event loop: off this thread, where Playwright's may be running in a full test run.
    from donoharm.records.blocking import outside_event_loop

    status = outside_event_loop(validate_pdf_signature, reader.embedded_signatures[0], context)
    assert status.bottom_line, status.pretty_print_details()
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Transparency report 2026-Q2" in text and "Runs by protocol version" in text


def test_publishing_the_same_period_gives_the_same_figures_and_data_hash(quarter_app):
    from donoharm.services import reports

    with quarter_app.app_context():
        from donoharm.db import get_db

        first = reports.compute(get_db(), period_of("2026-Q2"), 5)
        second = reports.compute(get_db(), period_of("2026-Q2"), 5)
    assert first.figures == second.figures and first.data_sha256 == second.data_sha256
    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    report = published_document(quarter_app)
    assert report["figures"] == first.figures and report["data_sha256"] == first.data_sha256
    # Publishing the period again (on a copy of the instance, where it is not published yet) gives the same.
    copy = Path(quarter_app.instance_path).parent / "copy"
    shutil.copytree(quarter_app.instance_path, copy, ignore=shutil.ignore_patterns("reports"))
    again = create_app({"TESTING": True, "INSTANCE": copy, "SECRET_KEY": "test", "RECORDS_WORKER": "off",
                        "ORGANISATION_NAME": "Test Organisation SYNTHETIC"})
    db = connect(again.config["DATABASE"])
    db.execute("DELETE FROM reports")
    db.conn.close()
    assert publish(again, "--period", "2026-Q2").exit_code == 0
    repeated = published_document(again)
    assert repeated["figures"] == report["figures"] and repeated["data_sha256"] == report["data_sha256"]
    assert repeated["instance"] == report["instance"] and repeated["protocols"] == report["protocols"]


def test_reports_check_tells_appended_from_rewritten(quarter_app):
    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    runner = quarter_app.test_cli_runner()
    report_id = runner.invoke(args=["reports", "list"]).output.split("\t")[0]
    checked = runner.invoke(args=["reports", "check", report_id])
    assert checked.exit_code == 0 and "INTACT" in checked.output, checked.output
    db = connect(quarter_app.config["DATABASE"])
    run_id = db.execute("SELECT id FROM runs WHERE label = 'OP-TEST-Q2-1'").fetchone()[0]
    db.conn.close()
    sup = Api(quarter_app, "sup")
    assert sup.send(run_id, event("review.approved", value={"acknowledged": []})).status_code == 200
    checked = runner.invoke(args=["reports", "check", report_id])
    assert checked.exit_code == 0 and "1 run(s) gained events" in checked.output, checked.output
    db = connect(quarter_app.config["DATABASE"])  # a rewrite behind the app's back: an answer changed
    db.execute("UPDATE events SET value = '\"no\"' WHERE run_id = ? AND step = 'placements-not-detention'",
               [run_id])
    db.conn.close()
    checked = runner.invoke(args=["reports", "check", report_id])
    assert checked.exit_code == 1 and "CHANGED" in checked.output and run_id in checked.output
    # The nightly `db verify` says it too, naming the report beside the run's broken chain.
    verified = runner.invoke(args=["db", "verify"])
    assert verified.exit_code == 1
    assert f"report {report_id}: run {run_id}: its history was changed" in verified.output, verified.output
    assert "1 published report(s) checked" in verified.output


def test_reports_check_tells_a_run_deleted_by_retention_from_one_that_vanished(quarter_app):
    """Retention deletes locked runs after their period, reports stay: the check names the deletion register's
    entry instead of calling the report changed; a run gone without one is still a change."""
    from donoharm.db import retention as retention_db

    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    runner = quarter_app.test_cli_runner()
    report_id = runner.invoke(args=["reports", "list"]).output.split("\t")[0]
    db = connect(quarter_app.config["DATABASE"])
    rows = [dict(r) for r in db.execute("SELECT id, protocol_id, protocol_version, created_at, head_hash, "
                                        "event_count, created_at AS locked_at FROM runs "
                                        "WHERE label IN ('OP-TEST-Q2-1', 'OP-TEST-Q2-2') ORDER BY label")]
    retention_db.delete_runs(db, rows, "2027-01-01T00:00:00Z", Path(quarter_app.instance_path))
    db.conn.close()
    checked = runner.invoke(args=["reports", "check", report_id])
    assert checked.exit_code == 0 and "INTACT" in checked.output, checked.output
    assert f"run {rows[0]['id']}: deleted by the retention policy on 2027-01-01T00:00:00Z (deletion register: " \
           "the head the report counted)" in checked.output

    db = connect(quarter_app.config["DATABASE"])  # the register's entry gone too: nothing accounts for the run
    db.execute("DELETE FROM deleted_runs WHERE run_id = ?", [rows[1]["id"]])
    db.conn.close()
    checked = runner.invoke(args=["reports", "check", report_id])
    assert checked.exit_code == 1 and "CHANGED" in checked.output
    assert f"run {rows[1]['id']}: no longer stored, and not deleted by the retention policy" in checked.output


@pytest.mark.parametrize("args, message", [
    (["--period", "2026-Q4"], "30 days after its end"),
    (["--start", "2026-10-01", "--end", "2026-11-20"], "30 days after its end"),
    (["--period", "2026-Q5"], "quarter such as 2026-Q2"),
    (["--start", "2026-06-01"], "both a start and an end"),
    (["--start", "2026-06-31", "--end", "2026-07-01"], "start as a day"),
])
def test_bad_periods_are_refused_and_nothing_is_published(quarter_app, args, message):
    result = publish(quarter_app, *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert quarter_app.test_cli_runner().invoke(args=["reports", "list"]).output == ""


def test_an_overlapping_period_is_refused(quarter_app):
    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    result = publish(quarter_app, "--start", "2026-06-15", "--end", "2026-07-15")
    assert result.exit_code == 1 and "overlaps the report already published for 2026-Q2" in result.output
    assert publish(quarter_app, "--period", "2026-Q1").exit_code == 0  # next to it is fine
    assert len(quarter_app.test_cli_runner().invoke(args=["reports", "list"]).output.splitlines()) == 2


def test_the_public_list_needs_no_account_and_shows_nothing_else(quarter_app):
    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    anonymous = quarter_app.test_client()
    page = anonymous.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2026-Q2" in html and "OP-TEST" not in html and "acc" not in html.split("<main", 1)[-1].lower().replace(
        "accompanied", "").replace("account", "").replace("accept", "")
    report_id = quarter_app.test_cli_runner().invoke(args=["reports", "list"]).output.split("\t")[0]
    downloaded = anonymous.get(f"/reports/{report_id}.json")
    assert downloaded.status_code == 200 and json.loads(downloaded.data) == published_document(quarter_app)
    downloaded.close()
    pdf = anonymous.get(f"/reports/{report_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    pdf.close()
    assert anonymous.get(f"/reports/{uuid.uuid4()}.json").status_code == 404
    schema = anonymous.get("/api/v1/schemas/report.json")
    assert schema.status_code == 200 and schema.get_json()["properties"]["format"]["const"] == "donoharm-report/1"
    for private in ("/oversight", "/review", "/admin/reports"):  # still behind a sign-in
        assert anonymous.get(private).status_code == 302


def test_admin_page_publishes_and_keeps_bad_input(quarter_app):
    admin = quarter_app.test_client()
    login(admin, "admin")
    token = csrf_from(admin, "/admin/reports")
    refused = admin.post("/admin/reports", data={"period": "2026-Q4", "csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "30 days after its end" in html and 'value="2026-Q4"' in html
    assert admin.post("/admin/reports", data={"period": "2026-Q2"}).status_code == 400  # no CSRF token
    done = admin.post("/admin/reports", data={"period": "2026-Q2", "csrf_token": token})
    assert done.status_code == 302
    assert "2026-Q2" in admin.get("/admin/reports").get_data(as_text=True)
    assert published_document(quarter_app)["period"]["label"] == "2026-Q2"


def test_complementary_suppression_hides_a_cell_recoverable_by_subtraction():
    """A column 7, 3, 9 with total 19: '3' is under 5; showing 7, 9 and 19 would give it away (19 - 7 - 9), so
    the next smallest, 7, is withheld too; then 7 + 3 = 10 is all one can work out."""
    table = {"columns": ["submitted"], "parts": None, "rows": [
        {"protocol_id": "p", "protocol_version": v, "cells": {"submitted": suppression.exact(n)}}
        for v, n in (("1.0.0", 7), ("1.1.0", 3), ("2.0.0", 9))], "total": {"submitted": suppression.exact(19)}}
    published = suppression.publish_table(table, 5)
    assert [r["cells"]["submitted"] for r in published["rows"]] == ["suppressed", "<5", 9]
    assert published["total"]["submitted"] == 19


def test_complementary_suppression_within_a_row_of_parts():
    """Follow-ups due 12 = on time 8 + late 2 + open 2: late and open are under 5 and hide each other; the
    column totals equal the single row, so they are withheld alike."""
    table = {"columns": ["due", "on_time", "late", "open"], "parts": (("on_time", "late", "open"), "due"),
             "rows": [{"protocol_id": "p", "protocol_version": "1.0.0", "cells": {
                 k: suppression.exact(v) for k, v in {"due": 12, "on_time": 8, "late": 2, "open": 2}.items()}}],
             "total": {k: suppression.exact(v) for k, v in {"due": 12, "on_time": 8, "late": 2, "open": 2}.items()}}
    published = suppression.publish_table(table, 5)
    assert published["rows"][0]["cells"] == {"due": 12, "on_time": 8, "late": "<5", "open": "<5"}
    # One cell under the threshold alone in its row: the smallest other part goes with it.
    table["rows"][0]["cells"]["open"] = table["total"]["open"] = suppression.exact(0)
    table["rows"][0]["cells"]["late"] = table["total"]["late"] = suppression.exact(6)
    table["rows"][0]["cells"]["on_time"] = table["total"]["on_time"] = suppression.exact(6)
    cells = suppression.publish_table(table, 5)["rows"][0]["cells"]
    assert cells["open"] == "<5" and list(cells.values()).count("suppressed") == 1


def test_ratio_withheld_when_a_part_is_suppressed():
    measure = {"protocol_id": "p", "measure": "people-screened", "label": "People screened", "of": "present",
               "runs": suppression.exact(6), "total": suppression.exact(40), "paired_runs": suppression.exact(6),
               "part": suppression.exact(3), "whole": suppression.exact(50)}
    published = suppression.publish_measure(measure, 5)
    assert published["total"] == 40 and published["ratio"]["part"] == "<5" and published["ratio"]["percent"] is None
    measure["part"] = suppression.exact(20)
    assert suppression.publish_measure(measure, 5)["ratio"]["percent"] == "40"
