"""Removing a text for good, as supervisors and administrators do it (issue 18, part 3): over the API and the
review page, and the proof that the text is really gone.

What a user would notice: after a removal the text is on no page, in no API answer, export or new record, and
not in the database's files; the run's seal and `db verify` still pass; the records that held it are listed for
the administrator and no longer handed out; anyone but a supervisor or administrator is refused, with nothing
stored; a text removed behind the app's back is reported as tampering."""
from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.services import library
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers, csrf_from, event, login
from tests.protocol_factory import as_yaml, document

SECRET = "SYNTHETIC-NAME-7Q"
NOTE = f"{SECRET} was kept apart from the group at the gate"
REASON = "Synthetic reason: the note named a person"


# --- helpers ---

def _submitted_run(app, acc: Api, *extra_events, approve_with: Api | None = None):
    """acc's live run with a note holding SECRET (and `extra_events`), submitted (so it has a signed record);
    approved by `approve_with` when given. Returns (run id, the note event)."""
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    note = event("note", note=NOTE)
    response = acc.send(run_id, note, *extra_events, *complete_answers(protocol), attestation())
    assert response.status_code == 200, response.get_json()
    if approve_with is not None:
        approved = approve_with.send(run_id, event("review.approved", value={"acknowledged": []}))
        assert approved.status_code == 200, approved.get_json()
    return run_id, note


def _redact(who: Api, run_id: str, target: str, reason: str = REASON, **extra):
    return who.post(f"/api/v1/runs/{run_id}/redactions", json={"event": target, "reason": reason, **extra})


def _stored(app, run_id):
    db = connect(app.config["DATABASE"])
    try:
        return runs_db.get_run(db, run_id), runs_db.events_of(db, run_id)
    finally:
        db.conn.close()


def _records(app, run_id) -> list[dict]:
    """The run's internal records, oldest first (a shareable profile holds no free text)."""
    db = connect(app.config["DATABASE"])
    try:
        rows = db.execute("SELECT id, sha256, path, issued_at FROM records WHERE run_id = ? AND profile = 'internal' "
                          "ORDER BY issued_at", [run_id]).fetchall()
        return [dict(row) for row in rows]
    finally:
        db.conn.close()


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    """What a reader sees in a record: its pages as text, and the audit-record.json it carries."""
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout
    attached = PdfReader(io.BytesIO(data)).attachments["audit-record.json"][0].decode()
    return pages + "\n" + attached


def _database_bytes(app) -> bytes:
    """The database's files as they lie on disk: the database, its write-ahead log and its shared memory."""
    path = Path(app.config["DATABASE"])
    return b"".join(Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm")
                    if Path(f"{path}{suffix}").exists())


def _verify(app):
    return app.test_cli_runner().invoke(args=["db", "verify"])


@pytest.fixture
def text_protocol(app, users):
    """The factory's test protocol (it has a free-text step), published on the app."""
    db = connect(app.config["DATABASE"])
    with app.app_context():
        protocol, _created = library.publish(db, as_yaml(document()), users["trainer"])
    db.conn.close()
    return protocol


# --- the proof that the text is gone ---

def test_a_removed_text_is_gone_from_pages_api_exports_new_records_and_the_database_files(app, users, tmp_path):
    acc, sup, admin = Api(app, "acc"), Api(app, "sup"), Api(app, "admin")
    run_id, note = _submitted_run(app, acc)
    earlier = _records(app, run_id)
    assert len(earlier) == 1
    earlier_path = Path(app.instance_path) / earlier[0]["path"]
    # Where it can be seen before, so the checks below would notice it.
    assert SECRET in acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert SECRET in sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert SECRET in sup.get(f"/api/v1/runs/{run_id}").get_data(as_text=True)
    assert SECRET in _pdf_text(earlier_path.read_bytes(), tmp_path)
    assert SECRET.encode() in _database_bytes(app)

    response = _redact(sup, run_id, note["id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["records_superseded"] == [earlier[0]["id"]]
    assert body["state"]["redactions"][0]["target"] == note["id"] and body["head"] != earlier[0]["sha256"]

    pages = {path: who.get(path) for who, path in (
        (acc, f"/runs/{run_id}"), (acc, f"/runs/{run_id}/check"), (sup, f"/runs/{run_id}"),
        (sup, f"/review/{run_id}"), (acc, f"/api/v1/runs/{run_id}"), (sup, f"/api/v1/runs/{run_id}"),
        (sup, "/oversight.csv"), (admin, "/oversight.csv"), (admin, "/admin/redacted-records"))}
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert SECRET not in page.get_data(as_text=True), path
    # The review page says who removed it, when and why, in its place.
    review = pages[f"/review/{run_id}"].get_data(as_text=True)
    assert re.search(r"Text removed by sup on [^<]+: " + re.escape(REASON), review)
    # The run's new record (issued because of the removal) does not hold it; the earlier one is withdrawn.
    latest = acc.get(f"/runs/{run_id}/record.pdf")
    assert latest.status_code == 200 and latest.mimetype == "application/pdf"
    assert SECRET not in _pdf_text(latest.data, tmp_path)
    assert len(_records(app, run_id)) == 2
    assert not earlier_path.exists()
    # Nothing on the server holds it: the database's files, byte for byte, and every record file left.
    assert SECRET.encode() not in _database_bytes(app)
    for record_file in (Path(app.instance_path) / "records").rglob("*.pdf"):
        assert SECRET not in _pdf_text(record_file.read_bytes(), tmp_path), record_file
    # The seal still verifies, and so does the whole database, its records and a full backup.
    result = _verify(app)
    assert result.exit_code == 0, result.output
    backup = app.test_cli_runner().invoke(args=["db", "backup", "--full", str(tmp_path / "after.tar.gz")])
    assert backup.exit_code == 0, backup.output


def test_the_administrator_is_told_which_records_to_destroy_and_the_server_no_longer_gives_them_out(app, users):
    acc, sup, admin = Api(app, "acc"), Api(app, "sup"), Api(app, "admin")
    run_id, note = _submitted_run(app, acc)
    earlier = _records(app, run_id)[0]
    assert _redact(sup, run_id, note["id"]).status_code == 201

    page = admin.get("/admin/redacted-records")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Destroy every copy of these files (downloads, e-mail attachments, backups): they hold a text that " \
           "was removed." in html
    row = re.search(r'<table id="redacted-records">.*</table>', html, re.S).group(0)
    assert earlier["id"] in row and earlier["sha256"] in row and "OP-TEST-001" in row and "Deleted" in row
    newer = _records(app, run_id)[1]
    assert newer["id"] not in row  # the record issued after the removal holds no removed text
    assert 'href="/admin/redacted-records"' in admin.get("/").get_data(as_text=True)  # in the admin's menu

    for who in (acc, sup, admin):
        gone = who.get(f"/runs/{run_id}/records/{earlier['id']}.pdf")
        assert gone.status_code == 410 and gone.mimetype == "text/html"
        assert "withdrawn" in gone.get_data(as_text=True)
        assert who.get(f"/runs/{run_id}/records/{newer['id']}.pdf").status_code == 200
    # Only administrators see the list.
    assert sup.get("/admin/redacted-records").status_code == 403
    assert acc.get("/admin/redacted-records").status_code == 403


def test_a_text_removed_with_a_sqlite_shell_and_no_redaction_is_reported_as_tampering(app, users):
    acc = Api(app, "acc")
    run_id, note = _submitted_run(app, acc)
    assert _verify(app).exit_code == 0
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE events SET note = NULL, text_salt = NULL WHERE id = ?", [note["id"]])
    db.conn.close()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"run {run_id} seq 1: the text of event 1 was removed without a redaction being recorded" in result.output


# --- the review page ---

def _remove_link(html: str, event_id: str) -> str:
    match = re.search(r'href="(/review/[^"]+/texts/' + event_id + r'/remove)"', html)
    assert match, f"no Remove text link for {event_id}"
    return match.group(1)


def test_a_supervisor_removes_a_text_from_the_review_page_after_confirming(app, users):
    acc = Api(app, "acc")
    flagged = event("note", note="Synthetic: the officer gave the number +44 7700 900123", text_confirmed=True)
    run_id, note = _submitted_run(app, acc, flagged)
    sup = app.test_client()
    login(sup, "sup")

    review = sup.get(f"/review/{run_id}").get_data(as_text=True)
    # The text the guard questioned stands out, with its control beside it.
    flagged_text = re.search(r'<span class="free-text text-flagged" id="free-text-' + flagged["id"] +
                             r'">(.*?)</span>', review, re.S)
    assert flagged_text and "May identify someone — the person confirmed it does not" in flagged_text.group(1)
    assert 'class="free-text" id="free-text-' + note["id"] in review  # the other is not marked
    link = _remove_link(review, note["id"])

    confirm = sup.get(link)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and NOTE in html
    for promise in ("gone for good", "the API, exports and every signed record issued from now on",
                    "seal still verifies", "1 signed record issued since the text was written holds it",
                    "must be destroyed"):
        assert promise in html, promise

    token = csrf_from(sup, link)
    # A reason is required, and is checked like any text.
    empty = sup.post(link, data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 422 and "Say why the text is removed." in empty.get_data(as_text=True)
    phone = sup.post(link, data={"csrf_token": token, "reason": "Call +44 7700 900123 about it"})
    assert phone.status_code == 422
    assert re.search(r"<mark>\+44 7700 900123</mark>” — a phone number", phone.get_data(as_text=True))
    assert 'name="text_confirmed"' in phone.get_data(as_text=True)
    assert NOTE in _stored(app, run_id)[1][0]["note"]  # nothing removed yet
    # Without the CSRF token nothing happens either.
    assert sup.post(link, data={"reason": REASON}).status_code == 400

    done = sup.post(link, data={"csrf_token": token, "reason": REASON})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/review/{run_id}#free-text-{note['id']}")
    after = sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert "The text was removed." in after and SECRET not in after
    removed = re.search(r'<span class="text-removed" id="free-text-' + note["id"] + r'">(.*?)</span>', after, re.S)
    assert removed and re.fullmatch(r"Text removed by sup on .+: " + re.escape(REASON), removed.group(1).strip())
    assert f"/texts/{note['id']}/remove" not in after
    # Asking again says so, and removes nothing more.
    again = sup.post(link, data={"csrf_token": token, "reason": REASON})
    assert again.status_code == 302
    assert [e["type"] for e in _stored(app, run_id)[1]].count("redaction") == 1


def test_a_reason_that_may_identify_someone_is_taken_once_confirmed_on_the_page(app, users):
    acc = Api(app, "acc")
    run_id, note = _submitted_run(app, acc)
    sup = app.test_client()
    login(sup, "sup")
    link = f"/review/{run_id}/texts/{note['id']}/remove"
    token = csrf_from(sup, link)
    reason = "Named a person; staff line +44 7700 900123 knows why"
    done = sup.post(link, data={"csrf_token": token, "reason": reason, "text_confirmed": "y"})
    assert done.status_code == 302
    redaction = _stored(app, run_id)[1][-1]
    assert redaction["type"] == "redaction" and redaction["text_confirmed"] is True


def test_a_review_comment_the_guard_questions_is_sent_once_confirmed_and_marked_for_removal(app, users):
    acc = Api(app, "acc")
    run_id, _note = _submitted_run(app, acc)
    sup = app.test_client()
    login(sup, "sup")
    page = f"/review/{run_id}"
    comment = "Synthetic: ring the desk on +44 7700 900123 about step 3"
    token = re.search(r'name="return-csrf_token"[^>]*value="([^"]+)"', sup.get(page).get_data(as_text=True)).group(1)
    refused = sup.post(f"{page}/return", data={"return-csrf_token": token, "return-comment": comment})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "This comment may identify someone." in html
    assert "<mark>+44 7700 900123</mark>" in html and 'id="confirm-return" name="text_confirmed"' in html
    assert _stored(app, run_id)[0]["status"] == "submitted"
    sent = sup.post(f"{page}/return", data={"return-csrf_token": token, "return-comment": comment,
                                            "text_confirmed": "y"})
    assert sent.status_code == 302 and _stored(app, run_id)[0]["status"] == "returned"
    review = sup.get(page).get_data(as_text=True)
    returned = _stored(app, run_id)[1][-1]
    marked = re.search(r'<span class="free-text text-flagged" id="free-text-' + returned["id"] + r'">', review)
    assert marked and "May identify someone — the person confirmed it does not" in review
    _remove_link(review, returned["id"])


def test_every_kind_of_free_text_has_a_remove_control_and_a_replaced_one_is_listed(app, users, text_protocol):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    protocol = text_protocol
    text_step = next(s for s in protocol.steps if s.kind == "text")
    other = next(s for s in protocol.steps if s.kind != "text")
    run_id = acc.start_run(protocol.id, protocol.version)
    replaced = event("step.na", other.id, note=f"{SECRET} not applicable reason")
    answers = complete_answers(protocol)
    for answer in answers:
        if answer["step"] == text_step.id:
            answer["value"] = "Synthetic free-text answer"
    deviation = event("deviation", other.id, note="Synthetic deviation text")
    assert acc.send(run_id, replaced, *answers, deviation, attestation()).status_code == 200
    returned = event("review.returned", note="Synthetic review comment")
    assert sup.send(run_id, returned).status_code == 200
    text_answer = next(a for a in answers if a["step"] == text_step.id)
    assert "Synthetic review comment" in acc.get("/").get_data(as_text=True)  # on the accompanier's home screen

    review = sup.get(f"/review/{run_id}").get_data(as_text=True)
    for target in (text_answer, deviation, returned, replaced):
        _remove_link(review, target["id"])
    # The not-applicable reason was replaced by an answer: no longer in the answers, but still stored.
    earlier = re.search(r'<section [^>]*id="earlier-texts">(.*?)</section>', review, re.S).group(1)
    assert SECRET in earlier and replaced["id"] in earlier
    assert SECRET in sup.get(f"/api/v1/runs/{run_id}").get_data(as_text=True)

    for target in (replaced, text_answer, returned):
        assert _redact(sup, run_id, target["id"]).status_code == 201
    document = sup.get(f"/api/v1/runs/{run_id}").get_json()
    assert SECRET not in json.dumps(document) and "Synthetic free-text answer" not in json.dumps(document)
    assert "Synthetic review comment" not in json.dumps(document)
    assert "Synthetic review comment" not in acc.get("/").get_data(as_text=True)
    assert document["state"]["steps"][text_step.id]["redacted"] is True
    review = sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert review.count("Text removed by sup on") >= 3 and "Synthetic deviation text" in review


def test_a_text_is_removed_from_an_approved_locked_run_and_it_stays_approved(app, users, tmp_path):
    acc, sup, sup2 = Api(app, "acc"), app.test_client(), Api(app, "sup2")
    run_id, note = _submitted_run(app, acc, approve_with=sup2)
    assert acc.send(run_id, event("note", note="A later synthetic note.")).status_code == 409  # locked
    login(sup, "sup")
    link = _remove_link(sup.get(f"/review/{run_id}").get_data(as_text=True), note["id"])
    done = sup.post(link, data={"csrf_token": csrf_from(sup, link), "reason": REASON})
    assert done.status_code == 302
    document = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert document["run"]["status"] == "approved" and SECRET not in json.dumps(document)
    records = _records(app, run_id)
    latest = acc.get(f"/runs/{run_id}/records/{records[-1]['id']}.pdf")
    assert latest.status_code == 200 and SECRET not in _pdf_text(latest.data, tmp_path)
    assert "approved" in _pdf_text(latest.data, tmp_path).lower()
    assert _verify(app).exit_code == 0


# --- refusals: nothing stored ---

@pytest.mark.parametrize(("who", "status"), [("acc", 403), ("acc2", 404), ("trainer", 404)])
def test_only_supervisors_and_administrators_remove_texts(app, users, who, status):
    """The run's own accompanier is refused (403); anyone who may not read the run finds no such run (404)."""
    acc = Api(app, "acc")
    run_id, note = _submitted_run(app, acc)
    before = _stored(app, run_id)[1]
    response = _redact(Api(app, who), run_id, note["id"])
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == ("forbidden" if status == 403 else "not_found")
    # The page and its form are for supervisors and administrators only.
    client = app.test_client()
    login(client, who)
    link = f"/review/{run_id}/texts/{note['id']}/remove"
    assert client.get(link).status_code == 403
    assert client.post(link, data={"csrf_token": csrf_from(client, "/account"), "reason": REASON}).status_code == 403
    assert _stored(app, run_id)[1] == before


def test_a_trainer_is_refused_on_a_run_they_can_read(app, users):
    trainer = Api(app, "trainer")
    run_id = trainer.start_run(mode="practice")
    note = event("note", note=NOTE)
    assert trainer.send(run_id, note).status_code == 200
    response = _redact(trainer, run_id, note["id"])
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")
    assert len(_stored(app, run_id)[1]) == 1


def test_an_administrator_removes_a_text_too(app, users):
    acc, admin = Api(app, "acc"), Api(app, "admin")
    run_id, note = _submitted_run(app, acc)
    assert _redact(admin, run_id, note["id"]).status_code == 201
    assert _stored(app, run_id)[1][-1]["actor"] == "admin"


def test_bad_removals_are_refused_plainly_and_store_nothing(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id, note = _submitted_run(app, acc)
    count = len(_stored(app, run_id)[1])
    answer = _stored(app, run_id)[1][1]  # a yes/no answer: no text
    cases = [
        # A missing event is 422, not 404: the run (the resource addressed) exists; the body names no text
        # of it, exactly as the same redaction sent to .../events is refused.
        ({"event": "0b9a3c1e-0000-4000-8000-00000000dead", "reason": REASON}, 422, "no_text"),
        ({"event": answer["id"], "reason": REASON}, 422, "no_text"),
        ({"event": note["id"]}, 422, "reason_required"),
        ({"event": note["id"], "reason": "   "}, 422, "reason_required"),
        ({"event": note["id"], "reason": 7}, 422, "invalid_field"),
        ({"event": note["id"], "reason": "x" * 2001}, 422, "too_long"),
        ({"reason": REASON}, 422, "invalid_value"),
        ({"event": "not-a-uuid", "reason": REASON}, 422, "invalid_value"),
        ({"event": note["id"], "reason": REASON, "text_confirmed": "yes"}, 422, "invalid_field"),
        ({"event": note["id"], "reason": REASON, "note": "extra"}, 422, "invalid_field"),
    ]
    for body, status, code in cases:
        response = sup.post(f"/api/v1/runs/{run_id}/redactions", json=body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), body
    assert sup.post(f"/api/v1/runs/{run_id}/redactions", data="[]", content_type="application/json").status_code \
        == 400
    missing_run = _redact(sup, "0b9a3c1e-0000-4000-8000-00000000beef", note["id"])
    assert (missing_run.status_code, missing_run.get_json()["error"]["code"]) == (404, "not_found")
    # Like every API write, it needs the CSRF token of the session.
    no_token = sup.client.post(f"/api/v1/runs/{run_id}/redactions", json={"event": note["id"], "reason": REASON})
    assert (no_token.status_code, no_token.get_json()["error"]["code"]) == (400, "csrf")
    assert len(_stored(app, run_id)[1]) == count

    assert _redact(sup, run_id, note["id"]).status_code == 201
    twice = _redact(sup, run_id, note["id"])
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "already_redacted")
    assert len(_stored(app, run_id)[1]) == count + 1


def test_a_reason_with_a_phone_number_is_refused_unless_confirmed(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id, note = _submitted_run(app, acc)
    reason = "Named a person; ask +44 7700 900123"
    refused = _redact(sup, run_id, note["id"], reason)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "personal_data_suspected"
    assert [(span["field"], span["kind"]) for span in error["details"]["spans"]] == [("reason", "phone")]
    assert _stored(app, run_id)[1][0]["note"] == NOTE
    confirmed = _redact(sup, run_id, note["id"], reason, text_confirmed=True)
    assert confirmed.status_code == 201
    state = confirmed.get_json()["state"]
    assert state["redactions"][0]["reason"] == reason


def test_a_redaction_sent_as_an_event_also_withdraws_the_records_that_held_the_text(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    run_id, note = _submitted_run(app, acc)
    earlier = _records(app, run_id)[0]
    response = sup.send(run_id, event("redaction", value={"event": note["id"]}, note=REASON))
    assert response.status_code == 200, response.get_json()
    assert not (Path(app.instance_path) / earlier["path"]).exists()
    assert _verify(app).exit_code == 0
    assert sup.get(f"/runs/{run_id}/records/{earlier['id']}.pdf").status_code == 410
