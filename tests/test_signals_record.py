"""The signed record puts harm signals first: "Red flags: N" with each flag's step, answer and reasons, the
flagged steps marked in the step table, and a follow-up section with due and done dates, on time or late."""
from __future__ import annotations

import io
import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from donoharm.records.render import when
from tests.conftest import attestation, event

SIGNALS = ("signals-test", "1.0.0")


def made_at(events, moment):
    """The events as a phone would have sent them at `moment`, a second apart."""
    return [{**e, "at": (moment + timedelta(seconds=i)).isoformat()} for i, e in enumerate(events)]


def start(acc, created=None):
    run_id = str(uuid.uuid4())
    body = {"protocol_id": SIGNALS[0], "protocol_version": SIGNALS[1], "label": "OP-TEST-FLAGS-1", "mode": "live"}
    if created:
        body["created_at"] = created.isoformat()
    assert acc.put(f"/api/v1/runs/{run_id}", json=body).status_code == 201
    return run_id


def flagged_answers():
    """Five red flags: an unexpected yes/no, a flagged choice, a count above its limit, a deviation on a step
    and one for the whole operation."""
    return [event("step.set", "family-contact-safe", "no"), event("step.set", "placement", "police-cell"),
            event("step.set", "people-present", 10), event("step.set", "screened-in-private", 4),
            event("step.set", "victims-arrested", 2),
            event("deviation", "screened-in-private", note="Screened in the corridor"),
            event("deviation", None, note="Team arrived early")]


def record_text(client, run_id, tmp_path):
    response = client.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / f"{uuid.uuid4()}.pdf"
    path.write_bytes(response.data)
    # -raw keeps the order the text was laid out in, so a table cell's wrapped lines stay together.
    raw = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(raw.split()), response.data


def approve(sup, run_id):
    flags = sup.get(f"/api/v1/runs/{run_id}").get_json()["state"]["red_flags"]
    response = sup.send(run_id, event("review.approved", value={"acknowledged": [f["id"] for f in flags]}))
    assert response.status_code == 200, response.get_json()


def test_red_flags_come_first_with_their_reasons(signed_app, api, signals_protocol, tmp_path):
    acc = api("acc")
    run_id = start(acc)
    assert acc.send(run_id, *flagged_answers(), attestation()).status_code == 200
    text, data = record_text(acc.client, run_id, tmp_path)
    assert "Red flags: 5" in text
    flags = text[text.index("Red flags: 5"):text.index("Follow-up")]
    for expected in (
            "Was family contacted only after a risk assessment?", "No",
            "The protocol expects the answer “Yes”.",
            "Where were people placed?", "Police cell", "The protocol marks this answer as a red flag.",
            "How many people with signs of trafficking were arrested?",
            "The protocol marks any number above 0 as a red flag.",
            "How many people were screened in private?", "Deviation: Screened in the corridor",
            "The whole operation", "Deviation: Team arrived early", "A deviation from the protocol was recorded."):
        assert expected in flags, expected
    # Before the step table, and before the follow-up section, which comes before the steps too.
    assert text.index("Red flags: 5") < text.index("Follow-up") < text.index("During")
    # In the step table, each of the four flagged steps is marked, and no other.
    table = text[text.index("During"):text.index("Deviations", text.index("During"))]
    assert len(re.findall(r"Red flag(?!s)", table)) == 4
    for step in ("Was family contacted only after a risk assessment? (critical)", "Where were people placed?",
                 "How many people were screened in private?",
                 "How many people with signs of trafficking were arrested?"):
        assert f"{step} Red flag " in table, step
    assert "Status Submitted, waiting for review" in text
    embedded = json.loads(PdfReader(io.BytesIO(data)).attachments["audit-record.json"][0])
    assert len(embedded["state"]["red_flags"]) == 5


def test_a_record_without_red_flags_says_so(signed_app, api, signals_protocol, tmp_path):
    acc = api("acc")
    run_id = start(acc)
    answers = [event("step.set", "family-contact-safe", "yes"), event("step.set", "placement", "shelter"),
               event("step.set", "people-present", 10), event("step.set", "victims-arrested", 0)]
    assert acc.send(run_id, *answers, attestation()).status_code == 200
    text, _data = record_text(acc.client, run_id, tmp_path)
    assert "Red flags: 0" in text and "No red flags" in text
    assert not re.search(r"Red flag(?!s)", text)


def test_follow_up_section_shows_due_done_and_late(signed_app, api, signals_protocol, tmp_path):
    acc, sup = api("acc"), api("sup")
    submitted = datetime.now(UTC) - timedelta(days=4)
    run_id = start(acc, created=submitted - timedelta(hours=1))
    assert acc.send(run_id, *made_at([*flagged_answers(), attestation()], submitted)).status_code == 200
    due = when((submitted + timedelta(seconds=7, hours=72)).isoformat())  # the attestation is the 8th event
    text, _data = record_text(acc.client, run_id, tmp_path)
    section = text[text.index("Follow-up Phase Due Done Result"):text.index("Steps Each step")]
    assert f"Follow-up {due} Overdue: 2 steps still open" in section  # due a day before the record was issued
    approve(sup, run_id)
    text, _data = record_text(acc.client, run_id, tmp_path)
    assert "Status Approved, follow-up due" in text
    assert "Acknowledged on approval by sup" in text
    answered = datetime.now(UTC)
    follow_up = made_at([event("step.set", "no-removal-72h", "no"), event("step.set", "services-reachable", True)],
                        answered)
    assert acc.send(run_id, *follow_up).status_code == 200
    text, _data = record_text(acc.client, run_id, tmp_path)
    done = when(follow_up[-1]["at"])
    section = text[text.index("Follow-up Phase Due Done Result"):text.index("Steps Each step")]
    assert f"Follow-up {due} {done} Done late" in section
    assert "Status Closed: follow-up done" in text and "issued when the follow-up changed" in text


def test_follow_up_done_in_time(signed_app, api, signals_protocol, tmp_path):
    acc, sup = api("acc"), api("sup")
    run_id = start(acc)
    answers = [event("step.set", "family-contact-safe", "yes"), event("step.set", "people-present", 3)]
    assert acc.send(run_id, *answers, attestation()).status_code == 200
    approve(sup, run_id)
    text, _data = record_text(acc.client, run_id, tmp_path)
    section = text[text.index("Follow-up Phase Due Done Result"):text.index("Steps Each step")]
    assert section.rstrip().endswith("Still open: 2 steps")  # due in three days' time
    assert acc.send(run_id, event("step.set", "no-removal-72h", "no"),
                    event("step.set", "services-reachable", True)).status_code == 200
    text, _data = record_text(acc.client, run_id, tmp_path)
    section = text[text.index("Follow-up Phase Due Done Result"):text.index("Steps Each step")]
    assert section.rstrip().endswith("Done on time")
