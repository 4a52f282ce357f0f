"""Supervisor review: the queue, return and approve through pages and the API, and every refusal."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.conftest import attestation, complete_answers, event, login

PROTOCOL = ("immigration-separation", "1.0.0")


def protocol(app):
    return app.extensions["donoharm.registry"].get(*PROTOCOL)


def submitted_run(app, who, label="OP-TEST-001", deviation=True, na=False, mode="live"):
    """A run by `who` answered in full, optionally with a deviation and an N/A step, then submitted."""
    run_id = who.start_run(label=label, mode=mode)
    steps = protocol(app).steps
    events = complete_answers(protocol(app))
    if na:
        events.append(event("step.na", steps[-1].id, note="No such situation arose"))
    deviation_event = event("deviation", steps[0].id, note="Briefing started late")
    if deviation:
        events.append(deviation_event)
    assert who.send(run_id, *events).status_code == 200
    assert who.send(run_id, attestation()).status_code == 200
    return run_id, deviation_event["id"] if deviation else None


def form_token(client, path, form_id):
    """The CSRF token inside one form of a page (the review page has two prefixed forms)."""
    html = client.get(path).get_data(as_text=True)
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id} on {path}"
    return re.search(r'name="[a-z]*-?csrf_token"[^>]*value="([^"]+)"', form.group(0)).group(1)


def status_of(api_client, run_id):
    return api_client.get(f"/api/v1/runs/{run_id}").get_json()["run"]["status"]


def page_return(client, run_id, comment):
    token = form_token(client, f"/review/{run_id}", "return-run")
    return client.post(f"/review/{run_id}/return", data={"return-csrf_token": token, "return-comment": comment})


def page_approve(client, run_id, acknowledged=(), comment=""):
    token = form_token(client, f"/review/{run_id}", "approve-run")
    return client.post(f"/review/{run_id}/approve", data={"approve-csrf_token": token, "approve-comment": comment,
                                                          "approve-acknowledged": list(acknowledged)})


def test_full_cycle_through_pages(app, api, client):
    acc = api("acc")
    run_id, deviation_id = submitted_run(app, acc, label="OP-TEST-PAGES-1", na=True)
    login(client, "sup2")
    assert "1 run waits for your review" in client.get("/").get_data(as_text=True)
    queue = client.get("/review").get_data(as_text=True)
    assert "OP-TEST-PAGES-1" in queue and "acc" in queue
    page = client.get(f"/review/{run_id}").get_data(as_text=True)
    assert "Briefing started late" in page and "has-deviation" in page
    assert "No such situation arose" in page and "is-na" in page

    refused = page_return(client, run_id, "   ")
    assert refused.status_code == 422 and "Say what needs correcting." in refused.get_data(as_text=True)
    assert status_of(acc, run_id) == "submitted"
    assert page_return(client, run_id, "Say which step the late briefing affected.").status_code == 302
    assert status_of(acc, run_id) == "returned"

    home = acc.get("/").get_data(as_text=True)
    assert "Returned for correction" in home and "Say which step the late briefing affected." in home
    assert "Say which step the late briefing affected." in acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "OP-TEST-PAGES-1" not in client.get("/review").get_data(as_text=True)

    # The accompanier amends and resubmits; the run comes back to the queue.
    assert acc.send(run_id, event("note", None, note="The late briefing affected the first step.")).status_code == 200
    assert acc.send(run_id, attestation()).status_code == 200
    assert "OP-TEST-PAGES-1" in client.get("/review").get_data(as_text=True)

    unacknowledged = page_approve(client, run_id, acknowledged=[])
    assert unacknowledged.status_code == 422
    assert "Acknowledge every red flag before approving" in unacknowledged.get_data(as_text=True)
    assert status_of(acc, run_id) == "submitted"
    assert page_approve(client, run_id, [deviation_id], "Handled well.").status_code == 302
    body = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert body["run"]["status"] == "approved"
    assert body["state"]["reviews"][-1]["actor"] == "sup2"
    assert body["state"]["reviews"][-1]["acknowledged"] == [deviation_id]
    assert "approved and locked" in client.get(f"/review/{run_id}").get_data(as_text=True).lower()

    # Nothing is accepted after approval.
    locked = acc.send(run_id, event("note", None, note="One more thing"))
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "run_locked"

    # The approved record is signed and names the approver.
    pdf = acc.get(f"/runs/{run_id}/record.pdf")
    assert pdf.status_code == 200
    verdict = acc.post("/api/v1/verify", data=pdf.data, headers={"Content-Type": "application/pdf"}).get_json()
    assert verdict["valid"] is True, verdict
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "sup2" in text and "Handled well." in text


def test_full_cycle_through_the_api(app, api):
    acc, sup = api("acc"), api("sup")
    run_id, deviation_id = submitted_run(app, acc)
    returned = sup.send(run_id, event("review.returned", note="Add the time the briefing began."))
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert acc.send(run_id, event("note", None, note="Briefing began 20 minutes late.")).status_code == 200
    assert acc.send(run_id, attestation()).status_code == 200
    approved = sup.send(run_id, event("review.approved", value={"acknowledged": [deviation_id]}))
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    again = sup.send(run_id, event("review.returned", note="Second thoughts"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "run_locked"


def test_api_refusals_change_nothing(app, api):
    acc, sup, trainer = api("acc"), api("sup"), api("trainer")
    in_progress = acc.start_run(label="OP-TEST-OPEN-1")
    response = sup.send(in_progress, event("review.approved", value={"acknowledged": []}))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_submitted"

    run_id, deviation_id = submitted_run(app, acc)
    own = acc.send(run_id, event("review.approved", value={"acknowledged": [deviation_id]}))
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "forbidden"
    assert trainer.send(run_id, event("review.approved", value={"acknowledged": [deviation_id]})).status_code == 404
    empty = sup.send(run_id, event("review.returned", note="  "))
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "comment_required"
    missing = sup.send(run_id, event("review.approved", value={"acknowledged": []}))
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "red_flags_unacknowledged"
    assert status_of(acc, run_id) == "submitted"
    assert len(acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]["reviews"]) == 0

    # Four-eyes: a supervisor cannot review a run they started.
    sups_run, sups_deviation = submitted_run(app, sup, label="OP-TEST-SUP-1")
    four_eyes = sup.send(sups_run, event("review.approved", value={"acknowledged": [sups_deviation]}))
    assert four_eyes.status_code == 403 and four_eyes.get_json()["error"]["code"] == "four_eyes"
    assert status_of(sup, sups_run) == "submitted"


def test_page_refusals_show_a_message_and_change_nothing(app, api, client):
    acc, sup = api("acc"), api("sup")
    sups_run, _dev = submitted_run(app, sup, label="OP-TEST-SUP-1", deviation=False)
    login(client, "sup")
    page = client.get(f"/review/{sups_run}").get_data(as_text=True)
    assert "another supervisor must review it" in page and 'id="approve-run"' not in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/review").get_data(as_text=True))  # the queue has no forms with tokens
    assert token is None
    # Posting anyway is refused by the core with a clear message.
    other_run, _dev = submitted_run(app, acc, label="OP-TEST-ACC-1", deviation=False)
    token = form_token(client, f"/review/{other_run}", "approve-run")
    refused = client.post(f"/review/{sups_run}/approve", data={"approve-csrf_token": token})
    assert refused.status_code == 409
    assert "another supervisor must review it" in refused.get_data(as_text=True)
    assert status_of(sup, sups_run) == "submitted"

    in_progress = acc.start_run(label="OP-TEST-OPEN-1")
    refused = client.post(f"/review/{in_progress}/return", data={
        "return-csrf_token": form_token(client, f"/review/{other_run}", "return-run"), "return-comment": "Please fix"})
    assert refused.status_code == 409 and "not waiting for review" in refused.get_data(as_text=True)


def test_accompaniers_and_trainers_cannot_open_review(app, api, client):
    acc = api("acc")
    run_id, _dev = submitted_run(app, acc)
    for name in ("acc", "trainer"):
        login(client, name)
        assert client.get("/review").status_code == 403
        assert client.get(f"/review/{run_id}").status_code == 403
        assert client.post(f"/review/{run_id}/approve", data={}).status_code in (400, 403)
        assert client.get("/oversight").status_code == 403
        client.post("/logout", data={"csrf_token": re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/logout").get_data(as_text=True)).group(1)})
    assert status_of(acc, run_id) == "submitted"


def test_practice_runs_never_enter_the_queue(app, api, client):
    acc, sup = api("acc"), api("sup")
    practice, _dev = submitted_run(app, acc, label="OP-TEST-PRACTICE-1", mode="practice", deviation=False)
    submitted_run(app, acc, label="OP-TEST-LIVE-1", deviation=False)
    login(client, "sup")
    for status in ("submitted", "all"):
        queue = client.get(f"/review?status={status}").get_data(as_text=True)
        assert "OP-TEST-LIVE-1" in queue and "OP-TEST-PRACTICE-1" not in queue
    response = sup.send(practice, event("review.approved", value={"acknowledged": []}))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "practice_run"
    assert "1 run waits for your review" in client.get("/").get_data(as_text=True)


def test_queue_is_oldest_first_with_counts_and_filters(app, api, client):
    acc, acc2 = api("acc"), api("acc2")
    submitted_run(app, acc, label="OP-TEST-A-1", na=True)
    submitted_run(app, acc2, label="OP-TEST-B-1", deviation=False)
    acc.start_run(protocol_id="non-coerced-adults", label="OP-TEST-C-1")
    login(client, "sup")
    queue = client.get("/review").get_data(as_text=True)
    assert queue.index("OP-TEST-A-1") < queue.index("OP-TEST-B-1")
    assert "OP-TEST-C-1" not in queue  # not submitted
    card = queue[queue.index("OP-TEST-A-1"):queue.index("OP-TEST-B-1")]
    assert '<span class="tag tag-deviation">1</span>' in card and '<span class="tag tag-na">1</span>' in card
    only_acc2 = client.get("/review?accompanier=acc2").get_data(as_text=True)
    assert "OP-TEST-B-1" in only_acc2 and "OP-TEST-A-1" not in only_acc2
    assert "OP-TEST-A-1" not in client.get("/review?protocol=non-coerced-adults").get_data(as_text=True)
    assert "OP-TEST-A-1" not in client.get("/review?since=2999-01-01").get_data(as_text=True)
    assert "OP-TEST-A-1" in client.get("/review?until=2999-01-01").get_data(as_text=True)
    bad = client.get("/review?since=yesterday")
    assert bad.status_code == 400 and "Give a date as YYYY-MM-DD." in bad.get_data(as_text=True)
