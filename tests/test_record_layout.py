"""A record layout a reader trusts (issue 21, part 4): a first-page summary, labelled device and server times
in the organisation's zone with the offset, each note beside its step, and real headings and header cells
(the structure the tagged PDF is made from)."""
from __future__ import annotations

import re
import subprocess
from html import unescape

import pytest

from donoharm.db import connect, get_db
from donoharm.db.settings import save_settings
from donoharm.records.render import record_html
from donoharm.services import run_service
from donoharm.services.library import get_registry

from .conftest import Api, attestation, complete_answers, event

ZONE = "Asia/Phnom_Penh"  # UTC+07:00 all year: no daylight saving to make the test depend on the date
STEP_NOTE = "SYNTHETIC team lead confirmed by radio"
RUN_NOTE = "SYNTHETIC note on the whole run"


@pytest.fixture
def reviewed_run(signed_app, users):
    """A live run with a note on its first step and one on the whole run, a deviation, returned once,
    submitted again and approved; the organisation's zone is Asia/Phnom_Penh."""
    db = connect(signed_app.config["DATABASE"])
    save_settings(db, "Test Organisation", ZONE, "A4", None)
    db.conn.close()
    acc, sup = Api(signed_app, "acc"), Api(signed_app, "sup")
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run(label="OP-TEST-007")
    first, second = protocol.steps[0], protocol.steps[1]
    deviation = event("deviation", second.id, note="SYNTHETIC briefing started late")
    sent = acc.send(run_id, *complete_answers(protocol), event("note", first.id, note=STEP_NOTE),
                    event("note", note=RUN_NOTE), deviation, attestation())
    assert sent.status_code == 200, sent.get_json()
    assert sup.send(run_id, event("review.returned", note="SYNTHETIC add the time")).status_code == 200
    assert acc.send(run_id, attestation()).status_code == 200
    approved = sup.send(run_id, event("review.approved", value={"acknowledged": [deviation["id"]]}))
    assert approved.status_code == 200, approved.get_json()
    return acc, run_id, protocol


def html_of(app, run_id) -> str:
    with app.test_request_context():
        db = get_db()
        run = run_service.load_run(db, run_id)
        state, events = run_service.run_state(db, get_registry(), run)
        protocol = run_service.protocol_of(get_registry(), run)
        return record_html("REC-TEST", "2026-01-01T00:00:00+00:00", "review.approved", run, protocol, state,
                           events, None)


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def rows(html: str) -> list[str]:
    return re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)


def test_summary_times_and_notes_are_where_a_reader_looks(signed_app, reviewed_run):
    _, run_id, protocol = reviewed_run
    html = html_of(signed_app, run_id)
    summary = re.search(r'<section class="summary"[^>]*>(.*?)</section>', html, re.S).group(1)
    said = {text(th): text(td) for th, td in re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', summary, re.S)}
    assert said["Operation"] == "OP-TEST-007"
    assert said["Protocol"] == f"{protocol.title} — {protocol.id} version {protocol.version} · sha256 " \
                               f"{protocol.sha256[:12]}"
    assert said["Status"] == "Approved" and said["Deviations"] == "1"
    assert said["Red flags"].startswith("1") and "acknowledged on approval: 1" in said["Red flags"]
    assert re.fullmatch(r"sup: returned, \S+ \S+ \+07:00 sup: approved, \S+ \S+ \+07:00", said["Reviewers"])
    assert f"issued 2026-01-01 07:00:00 +07:00 ({ZONE})" in said["This record"]

    # Every time is labelled device or server, in the zone with its offset; the two submissions are told apart.
    history = re.search(r'<table class="history">(.*?)</table>', html, re.S).group(1)
    assert 'scope="col">Device time<' in history and 'scope="col">Server received time<' in history
    labels = [text(re.search(r'<th scope="row">(.*?)</th>', row, re.S).group(1)) for row in rows(history)[1:]]
    assert labels == ["Started", "Submitted (1 of 2)", "Returned for correction", "Submitted (2 of 2)", "Approved",
                      "This record issued"]
    for row in rows(history)[1:-1]:
        assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00", row)) == 2, row
    assert "Submitted:" not in text(html)

    # The step's note is in the step's own row; the note on the whole run in a section of its own.
    first = next(row for row in rows(html) if protocol.steps[0].text in text(row))
    assert STEP_NOTE in first and re.search(r"Note \(\S+ \S+ \+07:00, acc\): " + STEP_NOTE, text(first))
    assert sum(STEP_NOTE in row for row in rows(html)) == 1
    assert RUN_NOTE not in "".join(rows(html))
    assert "Notes on the whole run" in html and RUN_NOTE in html.split("Notes on the whole run")[1]


def test_headings_and_header_cells_for_the_tagged_pdf(signed_app, reviewed_run):
    _, run_id, protocol = reviewed_run
    html = html_of(signed_app, run_id)
    assert len(re.findall(r"<h1[ >]", html)) == 1
    h2 = [text(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]
    assert h2[:4] == ["Summary", "Details", "Status history", "Red flags: 1"] and "Steps" in h2
    h3 = [text(h) for h in re.findall(r"<h3[^>]*>(.*?)</h3>", html, re.S)]
    assert [phase.title for phase in protocol.phases] == h3[:len(protocol.phases)]
    cells = re.findall(r"<th(?:\s[^>]*)?>", html)
    assert cells and all(re.search(r'scope="(row|col)"', cell) for cell in cells), cells
    assert all(re.search(r'alt="[^"]+"', image) for image in re.findall(r"<img[^>]*>", html))


def test_the_first_page_of_the_pdf_carries_the_summary(signed_app, reviewed_run, tmp_path):
    acc, run_id, protocol = reviewed_run
    path = tmp_path / "record.pdf"
    path.write_bytes(acc.get(f"/runs/{run_id}/record.pdf").data)
    page_one = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
    words = " ".join(page_one.split())
    for expected in ("Summary", "OP-TEST-007", protocol.title, f"version {protocol.version}", protocol.sha256[:12],
                     "Approved", "Red flags", "Deviations", "sup: returned", "sup: approved", "+07:00"):
        assert expected in words, expected
