"""Two disclosure profiles of every signed record (issue 18, part 4) and removed texts in records (part 3).

What a user would notice: each record is issued as an internal and a shareable PDF, both signed and verifiable;
the shareable one can go to a funder or a court without naming staff, repeating free text, giving small counts
or nationality totals; each names the other; /verify says which profile a file is; a record issued after a
redaction shows the text as removed, and an earlier record is reported as superseded by the redaction.

The rendering is costly (about half a second a PDF), so one run is taken through submission, approval and a
redaction once for the module, and the tests read what it left.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import records as records_db
from donoharm.db import users as users_db
from donoharm.protocols.loader import load_text
from donoharm.records.profiles import withholds_step
from donoharm.runs.chain import event_hash
from donoharm.services import library
from donoharm.services.library import get_registry

from .conftest import PASSWORD_HASH, Api, attestation, event, expected_answer
from .protocol_factory import as_yaml, document
from .test_records import PROTOCOLS, pdf_text, pdfsig, verify_api, verify_page

# Synthetic names and texts; the first word of each is what the tests look for (one word, so that no line break
# of the page can split it).
ACC, SUP, TRAINER = "qzaccompanier", "qzsupervisor", "qztrainer"
ATTESTED_BY = "Qzsynthname Example"
NOTE = "Qzsynthnote the team waited outside"
NA_REASON = "Qzsynthreason only women staff that night"
DEVIATION = "Qzsynthdeviation the van arrived late"
COMMENT = "Qzsynthcomment read and accepted"
REDACTION_REASON = "Qzsynthremoval described someone"
TEXT_ANSWER = "Qzsynthanswer agreed at the gate"
INTERNAL_ONLY = 777111  # the answer to a step marked `disclosure: internal`

# immigration-separation 2.0.0: six-digit counts cannot be mistaken for a date or a time on the page.
COUNTS = {"people-present": 987650, "possible-minors-present": 2, "identity-documents-logged": 3,
          "arrests-objected-to": 0, "suspects-arrested": 123456,
          "total-foreign-nationals-present": 876540, "total-foreign-nationals-screened": 765430,
          "total-foreign-nationals-identified": 654320, "foreign-nationals-informed": 543210,
          "total-foreign-nationals-detained": 0, "possible-minors-referred-to-child-protection": 2,
          "documents-returned": 3}
NATIONALITY = [value for step, value in COUNTS.items() if "foreign-national" in step and value]


def pdf_json(data: bytes) -> dict:
    import json

    return json.loads(PdfReader(io.BytesIO(data)).attachments["audit-record.json"][0])


def without_hashes(text: str) -> str:
    """The page text without hex hashes and record ids, so that a number is only found where it is printed."""
    return re.sub(r"[0-9a-f]{8,}|[0-9a-f-]{36}", " ", text.replace("\n", " "))


def records_rows(app, run_id: str) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return [dict(row) for row in db.execute("SELECT * FROM records WHERE run_id = ? ORDER BY issued_at, profile",
                                                [run_id]).fetchall()]
    finally:
        db.conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, key_folder):
    """A run of immigration-separation 2.0.0 submitted, approved and then redacted, with every record issued."""
    instance = tmp_path_factory.mktemp("profiles") / "instance"
    instance.mkdir()
    for path in key_folder.iterdir():
        shutil.copy(path, instance)
    app = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test"})
    db = connect(app.config["DATABASE"])
    ids = {name: users_db.create_user(db, name, PASSWORD_HASH, role)
           for name, role in ((ACC, "accompanier"), (SUP, "supervisor"), (TRAINER, "trainer"))}
    db.conn.close()
    acc, sup = Api(app, ACC), Api(app, SUP)
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "2.0.0")
    run_id = acc.start_run(protocol.id, protocol.version)
    answers, note = [], None
    for step in protocol.steps:
        if step.follow_up:
            continue
        if step.id == "male-and-female-staff":
            answers.append(event("step.na", step.id, note=NA_REASON))
        elif step.id == "people-present":
            note = event("step.set", step.id, COUNTS[step.id], note=NOTE)
            answers.append(note)
        else:
            answers.append(event("step.set", step.id, COUNTS.get(step.id, expected_answer(step))))
    deviation = event("deviation", "suspects-arrested", note=DEVIATION)
    submitted = acc.send(run_id, *answers, deviation, attestation(ATTESTED_BY))
    assert submitted.status_code == 200, submitted.get_json()
    flags = sup.get(f"/api/v1/runs/{run_id}").get_json()["state"]["red_flags"]
    approved = sup.send(run_id, event("review.approved", value={"acknowledged": [f["id"] for f in flags]},
                                      note=COMMENT))
    assert approved.status_code == 200, approved.get_json()
    before = {profile: acc.get(f"/runs/{run_id}/record.pdf?profile={profile}").data
              for profile in ("internal", "shareable")}
    redacted = sup.send(run_id, event("redaction", value={"event": note["id"]}, note=REDACTION_REASON))
    assert redacted.status_code == 200, redacted.get_json()
    after = {profile: acc.get(f"/runs/{run_id}/record.pdf?profile={profile}").data
             for profile in ("internal", "shareable")}

    # A protocol with a free-text step and a step its trainer marked `disclosure: internal`.
    doc = document(id="test-disclosure")
    doc["phases"][1]["steps"].append({"id": "routes-used", "text": "How many routes were used?", "kind": "count",
                                      "critical": False, "sources": ["S1"], "disclosure": "internal"})
    db = connect(app.config["DATABASE"])
    with app.app_context():
        text_protocol, _created = library.publish(db, as_yaml(doc), ids[TRAINER])
    db.conn.close()
    text_run = acc.start_run(text_protocol.id, text_protocol.version)
    text_answers = [event("step.set", s.id, {"text": TEXT_ANSWER, "count": INTERNAL_ONLY if s.id == "routes-used"
                                             else 9}.get(s.kind, expected_answer(s))) for s in text_protocol.steps]
    assert acc.send(text_run, *text_answers, attestation(ATTESTED_BY)).status_code == 200
    text_records = {profile: acc.get(f"/runs/{text_run}/record.pdf?profile={profile}").data
                    for profile in ("internal", "shareable")}
    yield {"app": app, "run_id": run_id, "protocol": protocol, "before": before, "after": after,
           "text_run": text_run, "text_records": text_records, "acc": acc, "sup": sup,
           "tmp": tmp_path_factory.mktemp("files")}


def text_of(world, data: bytes) -> str:
    return pdf_text(data, world["tmp"])


def flowing_text(world, data: bytes) -> str:
    """The page text in reading order, each table cell's text on one line of single spaces."""
    path = world["tmp"] / "flowing.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


def test_each_issue_signs_both_profiles_as_a_pair(world):
    app, run_id = world["app"], world["run_id"]
    rows = records_rows(app, run_id)
    # Submission, approval (the follow-up opens) and the redaction: one internal and one shareable record each.
    issues = ("submitted", "follow_up", "follow_up")
    assert sorted((r["status"], r["profile"]) for r in rows) == sorted(
        (status, profile) for status in issues for profile in ("internal", "shareable"))
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        other = by_id[row["pair_id"]]
        assert other["pair_id"] == row["id"] and other["profile"] != row["profile"]
        assert (other["head_hash"], other["status"], other["issued_at"]) == \
            (row["head_hash"], row["status"], row["issued_at"])
    # "The" record of a run stays the internal one.
    db = connect(app.config["DATABASE"])
    try:
        assert records_db.latest_record(db, run_id)["profile"] == "internal"
        assert all(r["profile"] == "internal" for r in records_db.records_of(db, run_id))
    finally:
        db.conn.close()


@pytest.mark.parametrize("profile", ["internal", "shareable"])
def test_both_profiles_verify_with_the_cli_pyhanko_and_pdfsig(world, profile):
    app, data = world["app"], world["after"][profile]
    path = world["tmp"] / f"{profile}.pdf"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["records", "verify", str(path)])
    assert result.exit_code == 0 and "VALID" in result.output, result.output
    summary = ("Profile: shareable — no free text, roles instead of names, small counts hidden"
               if profile == "shareable" else "Profile: internal")
    assert summary in result.output
    other = "internal" if profile == "shareable" else "shareable"
    other_sha256 = hashlib.sha256(world["after"][other]).hexdigest()
    assert f"{other} profile of the same record" in result.output and other_sha256 in result.output
    verdict = verify_api(app, data).get_json()  # pyHanko
    assert verdict["valid"] is True and verdict["profile"] == profile, verdict
    assert verdict["other_profile_sha256"] == other_sha256 and verdict["latest"] is True
    assert "Signature Validation: Signature is Valid." in pdfsig(data, world["tmp"])


def test_the_shareable_record_names_no_one_and_holds_no_text_small_count_or_nationality_total(world):
    internal, shareable = (text_of(world, world["before"][p]) for p in ("internal", "shareable"))
    secrets = (ACC, SUP, ATTESTED_BY, NOTE, NA_REASON, DEVIATION, COMMENT)
    for secret in secrets:  # all there in the internal record ...
        assert secret.split()[0] in internal, secret
        assert secret.split()[0] not in shareable, secret  # ... none in the shareable one
    assert "Attested by the accompanier" in shareable and "text withheld in this profile" in shareable
    assert "Deviation" in shareable and "supervisor" in shareable
    for total in NATIONALITY:
        assert str(total) in without_hashes(internal) and str(total) not in without_hashes(shareable), total
    flowing = flowing_text(world, world["before"]["shareable"])
    assert "withheld in this profile (a nationality or immigration figure)" in flowing
    # Counts of 5 and more stay; a count of 2 reads "<5" in the shareable profile only.
    assert "987650" in without_hashes(shareable) and "123456" in without_hashes(shareable)
    assert "<5" in shareable and "<5" not in internal
    minors_step = world["protocol"].step("possible-minors-present").text
    for text, answer in ((shareable, "<5"), (internal, "2")):
        line = next(line for line in text.splitlines() if minors_step[:25] in line)
        cells = re.split(r"\s{2,}", line.strip())  # number, step, answer, time
        assert cells[2] == answer, line


def test_the_shareable_json_follows_the_same_rules_and_keeps_the_links_of_the_chain(world):
    internal, shareable = pdf_json(world["before"]["internal"]), pdf_json(world["before"]["shareable"])
    raw = repr(shareable)
    for secret in (ACC, SUP, ATTESTED_BY, NOTE, NA_REASON, DEVIATION, COMMENT):
        assert secret in repr(internal) and secret not in raw, secret
    assert shareable["run"]["created_by"] == "accompanier"
    steps = shareable["state"]["steps"]
    assert steps["possible-minors-present"]["value"] == "<5" and steps["people-present"]["value"] == 987650
    assert steps["total-foreign-nationals-present"]["value"] is None
    assert "value" in steps["total-foreign-nationals-present"]["withheld"]
    assert shareable["state"]["deviations"][0]["step"] == "suspects-arrested"
    assert shareable["state"]["deviations"][0]["note"] is None
    events, full = shareable["events"], {e["id"]: e for e in internal["events"]}
    assert {e["actor"] for e in events} == {"accompanier", "supervisor"}
    for earlier, later in zip(events, events[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]
    assert events[-1]["hash"] == shareable["run"]["head_hash"] == internal["run"]["head_hash"]
    for shown in events:  # the hashes are the internal record's, and recompute from the full events
        original = full[shown["id"]]
        assert shown["hash"] == original["hash"] == event_hash(original["prev_hash"], original)
        assert "note" not in shown and "text_salt" not in shown
        assert shown["text_commitment"] == original["text_commitment"]
    numbers = [e["value"] for e in events if e["step"] in COUNTS and e["type"] == "step.set"]
    assert not any(isinstance(v, int) and v < 5 for v in numbers) and set(NATIONALITY).isdisjoint(numbers)


def test_each_profile_names_the_other(world):
    internal, shareable = world["before"]["internal"], world["before"]["shareable"]
    shareable_sha256 = hashlib.sha256(shareable).hexdigest()
    internal_json, shareable_json = pdf_json(internal), pdf_json(shareable)
    assert internal_json["disclosure"]["shareable"]["sha256"] == shareable_sha256
    assert shareable_sha256 in re.sub(r"\s+", "", text_of(world, internal))
    named = shareable_json["disclosure"]["internal"]
    assert named["run_id"] == world["run_id"] and named["head_hash"] == internal_json["run"]["head_hash"]
    assert verify_api(world["app"], internal).get_json()["record_id"] == named["record_id"]
    assert named["record_id"] in re.sub(r"\s+", "", text_of(world, shareable))


def test_the_verify_page_says_which_profile_a_file_is(world):
    page = verify_page(world["app"], world["after"]["shareable"]).get_data(as_text=True)
    assert "This is a genuine record" in page
    assert "Profile: shareable — no free text, roles instead of names, small counts hidden" in page
    assert hashlib.sha256(world["after"]["internal"]).hexdigest() in page
    page = verify_page(world["app"], world["after"]["internal"]).get_data(as_text=True)
    assert "Profile: internal" in page and hashlib.sha256(world["after"]["shareable"]).hexdigest() in page


def test_supervisors_choose_the_profile_and_the_download_says_which(world):
    run_id, acc, sup = world["run_id"], world["acc"], world["sup"]
    page = sup.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "Download the shareable record (PDF)" in page and "Download the internal record (PDF)" in page
    review = sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert f"/runs/{run_id}/record.pdf?profile=shareable" in review
    assert "Download the shareable record (PDF)" not in acc.get(f"/runs/{run_id}").get_data(as_text=True)

    response = sup.get(f"/runs/{run_id}/record.pdf?profile=shareable")
    assert response.status_code == 200 and response.data == world["after"]["shareable"]
    assert response.headers["Content-Disposition"].endswith('-shareable.pdf')
    response = sup.get(f"/runs/{run_id}/record.pdf")
    assert response.data == world["after"]["internal"]
    assert response.headers["Content-Disposition"].endswith('-internal.pdf')
    earlier = next(r for r in records_rows(world["app"], run_id) if r["status"] == "submitted"
                   and r["profile"] == "internal")
    shared = sup.get(f"/runs/{run_id}/records/{earlier['id']}.pdf?profile=shareable")
    assert hashlib.sha256(shared.data).hexdigest() != earlier["sha256"]
    assert verify_api(world["app"], shared.data).get_json()["profile"] == "shareable"


def test_an_unknown_profile_is_a_clear_400(world):
    run_id, sup = world["run_id"], world["sup"]
    page = sup.get(f"/runs/{run_id}/record.pdf?profile=public")
    assert page.status_code == 400 and "choose internal or shareable" in page.get_data(as_text=True)
    answer = sup.get(f"/runs/{run_id}/record.pdf?profile=public", headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "unknown_profile"


def test_a_record_issued_after_a_redaction_shows_the_text_as_removed(world):
    internal, shareable = (text_of(world, world["after"][p]) for p in ("internal", "shareable"))
    assert NOTE.split()[0] not in internal and "Text removed (redaction)" in internal
    assert "issued after a text was removed" in internal
    # The internal record says who removed it, when and why; the shareable one gives the role only.
    assert "Removed texts" in internal and REDACTION_REASON.split()[0] in internal and SUP in internal
    assert "Removed texts" in shareable and REDACTION_REASON.split()[0] not in shareable
    assert DEVIATION.split()[0] in internal  # the texts not removed are still there


def test_a_record_superseded_by_a_redaction_is_reported_so(world):
    app = world["app"]
    path = world["tmp"] / "earlier.pdf"
    path.write_bytes(world["before"]["internal"])
    result = app.test_cli_runner().invoke(args=["records", "verify", str(path)])
    assert result.exit_code == 0 and "VALID" in result.output  # still a genuine signed record
    assert "superseded by a redaction on 20" in result.output and "destroy copies of this file" in result.output
    page = verify_page(app, world["before"]["internal"]).get_data(as_text=True)
    assert "Superseded by a redaction on" in page
    # The shareable record of the same issue held no text: it is not superseded by the redaction.
    path.write_bytes(world["before"]["shareable"])
    result = app.test_cli_runner().invoke(args=["records", "verify", str(path)])
    assert result.exit_code == 0 and "redaction" not in result.output


def test_text_answers_and_steps_marked_internal_stay_in_the_internal_record(world):
    internal, shareable = (text_of(world, world["text_records"][p]) for p in ("internal", "shareable"))
    assert TEXT_ANSWER.split()[0] in internal and TEXT_ANSWER.split()[0] not in shareable
    assert str(INTERNAL_ONLY) in without_hashes(internal) and str(INTERNAL_ONLY) not in without_hashes(shareable)
    assert "9" in without_hashes(shareable).split()  # a count of 9 is over the threshold: shown
    assert TEXT_ANSWER not in repr(pdf_json(world["text_records"]["shareable"]))


@pytest.mark.parametrize("path", sorted(PROTOCOLS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_nationality_and_immigration_totals_are_recognised_in_every_shipped_protocol(path):
    protocol = load_text(path.read_text("utf-8"), str(path))
    withheld = {step.id for step in protocol.steps if withholds_step(step)}
    assert withheld == {step.id for step in protocol.steps
                        if step.kind == "count" and "foreign-national" in f"{step.id} {step.measure}"}
    if protocol.id in ("immigration-separation", "labour-trafficking"):
        assert withheld
