"""Trainers' pages: upload, errors by line, preview and comparison, publish, current and retire, badge."""
from __future__ import annotations

import base64
import io
import re

from donoharm.db import connect
from donoharm.protocols.model import version_key
from tests.conftest import csrf_from, login
from tests.protocol_factory import accompaniment_1_3_0, as_yaml, document

SWA = "social-worker-accompaniment"


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def check(client, text=None, file=None, against=None):
    data = {"csrf_token": csrf_from(client, "/protocols/new"), "text": text or ""}
    if against:
        data["against"] = against
    if file is not None:
        data["file"] = (io.BytesIO(file.encode()), "protocol.yaml")
    return client.post("/protocols/new", data=data, content_type="multipart/form-data")


def publish(client, text, make_current=True):
    """Check the text, then press Publish on the preview, sending back what the page holds."""
    page = check(client, text).get_data(as_text=True)
    form = page.split('action="/protocols/new/publish">')[1].split("</form>")[0]
    data = dict(re.findall(r'<input id="(csrf_token|payload)" name="[^"]+" type="hidden" value="([^"]*)"', form))
    assert set(data) == {"csrf_token", "payload"}, form
    if make_current:
        data["make_current"] = "y"
    return client.post("/protocols/new/publish", data=data)


def stored(app):
    db = connect(app.config["DATABASE"])
    try:
        return [tuple(r) for r in db.execute("SELECT protocol_id, version FROM protocol_uploads")]
    finally:
        db.conn.close()


def test_only_trainers_and_admins_reach_the_upload_page(app, users):
    for name, status in [("acc", 403), ("sup", 403), ("trainer", 200), ("admin", 200)]:
        assert signed_in(app, name).get("/protocols/new").status_code == status, name
    assert app.test_client().get("/protocols/new").status_code == 302  # to the sign-in page


def test_valid_paste_shows_preview_and_redline_against_the_previous_version(app, users):
    client = signed_in(app, "trainer")
    response = check(client, accompaniment_1_3_0())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # Compared with the newest shipped version older than 1.3.0 (2.0.0 is newer, issue 17).
    older = [p.version for p in app.extensions["donoharm.registry"].versions(SWA)
             if version_key(p.version) < version_key("1.3.0")]
    assert f"Compared with {max(older, key=version_key)}" in page
    assert "<del><span class=\"visually-hidden\">[removed: </span>NGO team arrive" in page
    assert "<ins><span class=\"visually-hidden\">[added: </span>social worker reach the venue" in page
    assert 'id="added-water-and-food-offered"' in page
    assert "As accompaniers will see it" in page and 'id="step-water-and-food-offered"' in page
    assert stored(app) == []  # nothing is published by checking


def test_file_upload_is_checked_like_pasted_text(app, users):
    client = signed_in(app, "trainer")
    page = check(client, file=as_yaml(document())).get_data(as_text=True)
    assert "Check test-protocol 1.0.0 before publishing" in page
    assert "This is the first version of test-protocol." in page


def test_errors_are_shown_by_line_and_the_text_is_kept(app, users):
    client = signed_in(app, "trainer")
    doc = document()
    doc["phases"][0]["steps"][1]["kind"] = "signature"
    text = as_yaml(doc)
    response = check(client, text)
    page = response.get_data(as_text=True)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "signature" in t)
    assert response.status_code == 422
    assert f"Line {line}</a>: unknown step kind &#39;signature&#39;" in page
    assert "kind: signature" in page  # the line itself, and the textarea still holds the text
    assert page.count("Agreement confirmed?") >= 1
    assert stored(app) == []


def test_conflicting_version_is_refused_before_publishing(app, users):
    client = signed_in(app, "trainer")
    response = check(client, as_yaml(document(id=SWA, version="1.1.0")))
    assert response.status_code == 409
    assert "already published with different content" in response.get_data(as_text=True)


def test_nothing_submitted_is_a_message_not_an_error_page(app, users):
    response = check(signed_in(app, "trainer"), "   ")
    assert response.status_code == 422
    assert "Choose a YAML file or paste" in response.get_data(as_text=True)


def test_publish_needs_csrf(app, users):
    client = signed_in(app, "trainer")
    payload = base64.b64encode(as_yaml(document()).encode()).decode()
    response = client.post("/protocols/new/publish", data={"payload": payload, "make_current": "y"})
    assert response.status_code == 400
    assert stored(app) == []


def test_publish_as_current_then_retire_and_reinstate(app, users):
    client = signed_in(app, "trainer")
    response = publish(client, accompaniment_1_3_0())
    assert response.status_code == 302 and response.location.endswith(f"/protocols/{SWA}/1.3.0")
    assert stored(app) == [(SWA, "1.3.0")]
    listed = {(p["id"], p["version"]): p["status"] for p in client.get("/api/v1/protocols").get_json()}
    assert listed[(SWA, "1.3.0")] == "current" and listed[(SWA, "1.1.0")] == "published"

    token = csrf_from(client, f"/protocols/{SWA}/1.1.0")
    assert client.post(f"/protocols/{SWA}/1.1.0/retire").status_code == 400  # no CSRF token
    assert client.post(f"/protocols/{SWA}/1.1.0/retire", data={"csrf_token": token}).status_code == 302
    listed = {(p["id"], p["version"]): p["status"] for p in client.get("/api/v1/protocols").get_json()}
    assert listed[(SWA, "1.1.0")] == "retired"
    assert "Retired: no new runs start on this version" in client.get(f"/protocols/{SWA}/1.1.0").get_data(
        as_text=True)
    assert client.post(f"/protocols/{SWA}/1.1.0/reinstate", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/protocols/{SWA}/1.1.0/current", data={"csrf_token": token}).status_code == 302
    listed = {(p["id"], p["version"]): p["status"] for p in client.get("/api/v1/protocols").get_json()}
    assert listed[(SWA, "1.1.0")] == "current" and listed[(SWA, "1.3.0")] == "published"


def test_accompaniers_cannot_change_the_lifecycle(app, users):
    client = signed_in(app, "acc")
    page = client.get(f"/protocols/{SWA}/1.1.0").get_data(as_text=True)
    assert "Make current" not in page and "Retire" not in page
    token = client.get("/api/v1/session").get_json()["csrf_token"]  # a valid token of this session
    assert client.post(f"/protocols/{SWA}/1.1.0/retire", data={"csrf_token": token}).status_code == 403
    assert client.get("/api/v1/protocols").get_json()[0]["status"] != "retired"


def test_republishing_the_same_content_changes_nothing(app, users):
    client = signed_in(app, "trainer")
    publish(client, accompaniment_1_3_0())
    again = check(client, accompaniment_1_3_0()).get_data(as_text=True)
    assert "This exact version is already published" in again
    publish(client, accompaniment_1_3_0())
    assert stored(app) == [(SWA, "1.3.0")]


def test_badge_for_versions_published_since_the_last_visit(app, users):
    reader = signed_in(app, "acc")
    assert "since your last visit" not in reader.get("/protocols").get_data(as_text=True)
    publish(signed_in(app, "trainer"), accompaniment_1_3_0())
    page = reader.get("/protocols").get_data(as_text=True)
    assert "1 version was published since your last visit." in page
    assert 'tag-new' in page
    again = reader.get("/protocols").get_data(as_text=True)
    assert "since your last visit" not in again and "tag-new" not in again


def test_compare_page_lists_changes_and_both_changelogs(app, users):
    client = signed_in(app, "acc")
    page = client.get(f"/protocols/{SWA}/compare?from=1.0.0&to=1.1.0").get_data(as_text=True)
    assert "What changed from 1.0.0 to 1.1.0" in page
    assert 'id="added-belongings-kept"' in page
    assert 'id="changed-interpreters-booked"' in page
    assert "Changes since 1.0.0." in page  # the trainer's changelog beside it
    assert client.get(f"/protocols/{SWA}/compare?from=1.0.0&to=9.0.0").status_code == 404
    newest, before = app.extensions["donoharm.registry"].versions(SWA)[:2]
    default = client.get(f"/protocols/{SWA}/compare").get_data(as_text=True)
    assert f"What changed from {before.version} to {newest.version}" in default


def test_preview_can_compare_with_a_chosen_version(app, users):
    client = signed_in(app, "trainer")
    page = check(client, accompaniment_1_3_0(), against="1.0.0").get_data(as_text=True)
    assert "Compared with 1.0.0" in page
    assert 'id="added-belongings-kept"' in page  # added in 1.1.0, so new against 1.0.0
    assert '<option value="1.0.0" selected>' in page
