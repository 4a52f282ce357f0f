"""The personal-data guard and removed texts on the run pages without JavaScript (issue 18).

What a person would notice: a note, reason, deviation or text answer that looks like it holds personal data is
sent back with the parts named and the text kept, and goes in once they tick "This does not identify anyone";
an ordinary text goes in at once; every free-text field says what never to write; a text a supervisor removed
reads "Text removed (redaction)" on the run page, which lists who removed it, when and why — and the old
text is nowhere in the page."""
from __future__ import annotations

import html
import json
import re
import threading
from pathlib import Path

import pytest

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.runs import Actor
from donoharm.services.redaction import redact

from .conftest import Api, csrf_from, event, login

PROTOCOL = "social-worker-accompaniment"
VERSION = "2.0.0"
TEXT_STEP = "police-debrief"  # a free-text answer
STEP = "written-accompaniment-agreement"  # a yes/no step: notes, deviations and reasons hang on it
HINT = ("Never write a name, age, phone number or address. The app warns about ages, numbers and addresses, "
        "but it cannot recognise names.")
REMOVED = "Text removed (redaction)"
REMOVED_RE = re.escape(REMOVED)  # for patterns: the words hold parentheses


@pytest.fixture
def acc(app, users):
    client = app.test_client()
    login(client, "acc")
    return client


def started(client) -> str:
    token = csrf_from(client, "/runs/new")
    response = client.post("/runs/new", data={"csrf_token": token, "protocol": f"{PROTOCOL}@{VERSION}",
                                              "label": "OP-TEST-001", "mode": "live", "language": "en"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def post(client, run_id, type_, step=STEP, value=None, note=None, confirmed=False):
    data = {"csrf_token": csrf_from(client, "/runs/new"), "type": type_, "step": step}
    if value is not None:
        data["value"] = value
    if note is not None:
        data["note"] = note
    if confirmed:
        data["text_confirmed"] = "y"
    return client.post(f"/runs/{run_id}/events", data=data)


def stored(app, run_id) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return runs_db.events_of(db, run_id)
    finally:
        db.conn.close()


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("type_,step,field,text,part,kind", [
    ("note", STEP, "note", "Walked a 15-year-old to the van.", "15-year-old", "an age"),
    ("deviation", STEP, "note", "Officer gave the number +44 7700 900123 to the group.", "+44 7700 900123",
     "a phone number"),
    ("step.na", STEP, "note", "Agreement sent to someone@example.org instead.", "someone@example.org",
     "an e-mail address"),
    ("step.set", TEXT_STEP, "value", "Debrief with a boy aged 15 present.", "aged 15", "an age"),
])
def test_a_text_over_the_guard_is_sent_back_named_and_kept_then_goes_in_once_confirmed(
        acc, app, type_, step, field, text, part, kind):
    run_id = started(acc)
    response = post(acc, run_id, type_, step, **{field: text})
    assert response.status_code == 422
    page = page_text(response)
    key = f"{step}:{type_}"
    assert "This text may identify someone." in page
    # The part found is named next to the field with its kind in plain words, and the text is still in the field.
    assert re.search(rf'id="pd-{re.escape(key)}".*?“<mark>{re.escape(part)}</mark>” — {kind}', page, re.S)
    textarea = f'id="{"note-" + key if field == "note" else "v-" + step}"'
    assert re.search(rf'<textarea {textarea}[^>]*>{re.escape(text)}</textarea>', page)
    assert f'id="confirm-{key}" name="text_confirmed"' in page
    assert "This does not identify anyone" in page
    assert stored(app, run_id) == []  # nothing stored until the person confirms

    # Sent again without ticking the box: still refused, still kept.
    response = post(acc, run_id, type_, step, **{field: text})
    assert response.status_code == 422 and stored(app, run_id) == []

    response = post(acc, run_id, type_, step, confirmed=True, **{field: text})
    assert response.status_code == 302, page_text(response)
    [saved] = stored(app, run_id)
    assert saved[field] == text and saved["text_confirmed"] and saved["text_flagged"]
    assert text in page_text(acc.get(f"/runs/{run_id}"))


def test_an_ordinary_text_goes_in_at_once_without_a_question(acc, app):
    run_id = started(acc)
    response = post(acc, run_id, "note", note="Handover as agreed, ten minutes late.")
    assert response.status_code == 302
    [saved] = stored(app, run_id)
    assert saved["note"] == "Handover as agreed, ten minutes late." and not saved["text_confirmed"]
    page = page_text(acc.get(f"/runs/{run_id}"))
    assert 'name="text_confirmed"' not in page  # the box is offered only after a refusal


def test_every_free_text_field_says_what_never_to_write_and_that_names_are_not_recognised(acc):
    run_id = started(acc)
    page = page_text(acc.get(f"/runs/{run_id}"))
    textareas = re.findall(r'<textarea id="([^"]+)"[^>]*aria-describedby="([^"]+)"', page)
    assert len(textareas) > 10
    hints = dict(re.findall(r'<p class="no-names" id="([^"]+)">([^<]+)</p>', page))
    for field_id, described_by in textareas:
        hint = next((hints[i] for i in described_by.split() if i in hints), None)
        assert hint == HINT, field_id


def redact_off_thread(app, run_id, event_id, reason):
    """Remove a text as a supervisor would (on a worker thread: re-issuing a record signs it, which starts its
    own event loop)."""
    def work():
        db = connect(app.config["DATABASE"])
        try:
            with app.app_context():
                result = redact(db, app.extensions["donoharm.registry"], run_id, event_id, reason,
                                Actor("sup", "supervisor"), Path(app.instance_path))
            assert result.accepted
        finally:
            db.conn.close()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()


def test_a_removed_text_reads_as_removed_and_the_old_text_is_not_in_the_page(acc, app):
    run_id = started(acc)
    texts = {
        "note": ("note", STEP, {"note": "SYNTHETIC-NAME-NOTE was with the group."}),
        "deviation": ("deviation", None, {"note": "SYNTHETIC-NAME-DEVIATION asked for a lawyer."}),
        "na": ("step.na", "arrival-time", {"note": "SYNTHETIC-NAME-REASON arrived alone."}),
        "answer": ("step.set", TEXT_STEP, {"value": "SYNTHETIC-NAME-ANSWER was debriefed."}),
    }
    for type_, step, fields in texts.values():
        assert post(acc, run_id, type_, step or "", **fields).status_code == 302
    events = {e["type"]: e for e in stored(app, run_id)}
    for type_, _step, _fields in texts.values():
        redact_off_thread(app, run_id, events[type_]["id"], "Synthetic reason: a name was written")

    for path in (f"/runs/{run_id}", f"/runs/{run_id}/check"):
        page = page_text(acc.get(path))
        for _type, _step, fields in texts.values():
            assert next(iter(fields.values())) not in page, path
        assert "SYNTHETIC-NAME" not in page, path
    page = page_text(acc.get(f"/runs/{run_id}"))
    assert page.count(REMOVED) >= 4  # the note, the deviation (also in the red-flag list), the reason, the answer
    for label in ("Note:", "Deviation:", "Not applicable:"):
        assert re.search(rf"{label}(</strong>)?\s*<em class=\"text-removed\">{REMOVED_RE}</em>", page), label
    assert re.search(rf'<strong data-role="answer"><em class="text-removed">{REMOVED_RE}</em></strong>|'
                     rf'<strong data-role="answer">{REMOVED_RE}</strong>', page)
    assert not re.search(r"(Note:|Deviation:|Not applicable:)(</strong>)?\s*(None)?\s*<span class=\"meta\">", page)
    # The section that lists the removals: who, when, why.
    section = re.search(r'<section class="redactions".*?</section>', page, re.S).group(0)
    assert "4 texts removed" in section
    assert section.count("Removed by sup") == 4 and "Synthetic reason: a name was written" in section
    # The phone is told which texts went, so it drops its own copies (static/js/outbox.js dropRemovedTexts).
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S)
                      .group(1))
    assert {r["event"] for r in data["redacted"]} == {events[t]["id"] for t, _s, _f in texts.values()}
    assert [r["value_is_text"] for r in data["redacted"] if r["event"] == events["step.set"]["id"]] == [True]


def test_a_removed_review_comment_reads_as_removed_on_the_returned_run(app, users):
    acc, sup = Api(app, "acc"), Api(app, "sup")
    registry = app.extensions["donoharm.registry"]
    protocol = registry.get(PROTOCOL, VERSION)
    from .conftest import attestation, complete_answers
    run_id = acc.start_run(protocol_id=PROTOCOL, version=VERSION)
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    returned = event("review.returned", note="Ask SYNTHETIC-NAME-COMMENT again.")
    assert sup.send(run_id, returned).status_code == 200
    redact_off_thread(app, run_id, returned["id"], "Synthetic reason: a name was written")
    page = page_text(acc.get(f"/runs/{run_id}"))
    assert "SYNTHETIC-NAME-COMMENT" not in page
    assert re.search(rf'role="alert"><h2 class="h3">[^<]+</h2><p><em class="text-removed">{REMOVED_RE}</em></p>', page)
