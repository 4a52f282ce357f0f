"""The organisation's own settings and people's full names (issue 19, parts 4 and 5): /setup asks for the name,
time zone and paper size; an administrator changes them on /admin/settings; records show the name, server
times in the organisation's zone with the offset, the paper size chosen, and full names (internal profile only)."""
from __future__ import annotations

import html
import re
import subprocess
import uuid

import pytest

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import settings as settings_db
from donoharm.db import users as users_db
from donoharm.services.library import get_registry
from tests.conftest import PASSWORD_HASH, Api, attestation, complete_answers, csrf_from, event, login

ORGANISATION = "Example Organisation (test)"
ADMIN_PASSWORD = "field lantern basement 7"


def setup_path(app) -> str:
    result = app.test_cli_runner().invoke(args=["users", "setup-link"])
    assert result.exit_code == 0, result.output
    return "/setup" + result.output.split()[1].split("/setup", 1)[1]


def setup_form(client, path: str, **changes) -> dict:
    data = {"csrf_token": csrf_from(client, path), "token": path.split("token=", 1)[1],
            "organisation_name": ORGANISATION, "time_zone": "Europe/Paris", "page_size": "Letter",
            "username": "boss", "password": ADMIN_PASSWORD, "confirm": ADMIN_PASSWORD}
    return {**data, **changes}


def stored(app) -> dict | None:
    db = connect(app.config["DATABASE"])
    try:
        return settings_db.get_settings(db)
    finally:
        db.conn.close()


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / f"{uuid.uuid4()}.pdf"
    path.write_bytes(data)
    raw = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(raw.split())


def page_size_of(data: bytes, tmp_path) -> str:
    path = tmp_path / f"{uuid.uuid4()}.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return re.search(r"Page size:\s+(.*)", info).group(1)


def test_setup_stores_the_organisation_and_its_records_show_name_zone_paper_and_full_names(app, tmp_path):
    client = app.test_client()
    path = setup_path(app)
    page = client.get(path).get_data(as_text=True)
    assert '<option selected value="UTC">UTC</option>' in page and 'value="Europe/Paris"' in page
    response = client.post(path, data=setup_form(client, path))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert {k: stored(app)[k] for k in ("name", "time_zone", "page_size")} == {
        "name": ORGANISATION, "time_zone": "Europe/Paris", "page_size": "Letter"}

    db = connect(app.config["DATABASE"])
    users_db.create_user(db, "acc", PASSWORD_HASH, "accompanier", "Test Accompanier")
    users_db.create_user(db, "sup", PASSWORD_HASH, "supervisor", "Synthetic Supervisor")
    db.conn.close()
    acc, sup = Api(app, "acc"), Api(app, "sup")
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    review = sup.get(f"/review/{run_id}").get_data(as_text=True)
    assert "Test Accompanier" in review  # staff are named by their full name in the app
    assert sup.send(run_id, event("review.approved", value={"acknowledged": []})).status_code == 200

    internal = acc.get(f"/runs/{run_id}/record.pdf?profile=internal").data
    text = pdf_text(internal, tmp_path)
    assert ORGANISATION in text and "unconfigured" not in text
    # Times in the organisation's zone with the offset, device and server times labelled (issue 21); the event
    # log keeps the device times as the phone recorded them (UTC).
    assert re.search(r"issued \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00 \(Europe/Paris\)", text), text[:600]
    assert "Device time" in text and "Server received time" in text
    assert re.search(r"Started\s+Test Accompanier \(acc\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00\s+"
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00", text), text[:3000]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00 · run\.submitted", text)
    assert re.search(r"Accompanier\s+Test Accompanier \(acc\)", text)
    assert "Synthetic Supervisor (sup) · approved" in text
    assert page_size_of(internal, tmp_path).startswith("612 x 792 pts")  # Letter, as chosen at setup

    shareable = pdf_text(acc.get(f"/runs/{run_id}/record.pdf?profile=shareable").data, tmp_path)
    assert ORGANISATION in shareable
    assert "Test Accompanier" not in shareable and "Synthetic Supervisor" not in shareable
    assert "supervisor · approved" in shareable  # roles only


@pytest.mark.parametrize("changes, error", [
    ({"organisation_name": "  "}, "Enter the organisation&#39;s name."),
    ({"organisation_name": "Example " + "O" * 120}, "Use at most 120 characters."),
    ({"organisation_name": "Example\x07Organisation"}, "without control characters"),
    ({"time_zone": "Mars/Olympus_Mons"}, "Choose a time zone from the list"),
])
def test_setup_refuses_bad_settings_and_keeps_what_was_typed(app, changes, error):
    client = app.test_client()
    path = setup_path(app)
    response = client.post(path, data=setup_form(client, path, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and error in page
    assert 'value="boss"' in page  # the rest of the form is kept
    sent = changes.get("organisation_name", ORGANISATION).strip()
    if "\x07" not in sent:
        assert f'value="{html.escape(sent)}"' in page
    if "time_zone" in changes:
        assert '<option selected value="Mars/Olympus_Mons">' in page
    assert stored(app) is None
    db = connect(app.config["DATABASE"])
    assert users_db.count_active_admins(db) == 0
    db.conn.close()
    assert client.get(path).status_code == 200  # the link still works


def test_a_signing_key_made_after_setup_carries_the_name_chosen_there(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})
    client = app.test_client()
    path = setup_path(app)
    assert client.post(path, data=setup_form(client, path)).status_code == 302
    from donoharm.records.signing import signing_key

    with app.app_context():
        assert signing_key().subject == f"{ORGANISATION} audit records"
    page = client.get("/admin/settings").get_data(as_text=True)
    assert f"Records are signed by “{ORGANISATION} audit records”" in html.unescape(page)
    assert "the signing certificate keeps the name it was made with" in page.lower()


def test_only_administrators_change_the_settings_and_bad_input_changes_nothing(app, users):
    for who in ("acc", "sup", "trainer"):
        client = app.test_client()
        login(client, who)
        assert client.get("/admin/settings").status_code == 403
    assert app.test_client().get("/admin/settings").status_code == 302  # to sign in
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'value="Test Organisation"' in page  # the environment's name until one is chosen here
    assert 'href="/admin/settings"' in page  # in the administrators' navigation
    token = csrf_from(admin, "/admin/settings")
    bad = admin.post("/admin/settings", data={"csrf_token": token, "organisation_name": "Example Organisation (test)",
                                              "time_zone": "Europe/Nowhere", "page_size": "A4"})
    assert bad.status_code == 422 and "Choose a time zone from the list" in bad.get_data(as_text=True)
    assert 'value="Example Organisation (test)"' in bad.get_data(as_text=True)
    assert stored(app) is None
    good = admin.post("/admin/settings", data={"csrf_token": token, "organisation_name": "Example Organisation (test)",
                                               "time_zone": "America/New_York", "page_size": "Letter"})
    assert good.status_code == 302
    assert stored(app)["time_zone"] == "America/New_York" and stored(app)["updated_by"] == "admin"
    with app.test_request_context():
        from donoharm.services.organisation import organisation_name, paper_size, time_zone

        assert (organisation_name(), time_zone(), paper_size()) == (ORGANISATION, "America/New_York", "Letter")


@pytest.mark.parametrize("typed, error", [
    ("Test " + "A" * 120, "Use at most 120 characters."),
    ("Test\u202eAccompanier", "without control characters"),
    ("   ", "Enter the person&#39;s full name."),
])
def test_a_bad_full_name_is_refused_with_the_text_kept(app, users, typed, error):
    admin = app.test_client()
    login(admin, "admin")
    path = f"/admin/users/{users['acc']}/full-name"
    response = admin.post(path, data={"csrf_token": csrf_from(admin, path), "full_name": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and error in page
    if typed.strip() and "\u202e" not in typed:
        assert f'value="{typed}"' in page
    db = connect(app.config["DATABASE"])
    assert users_db.get_user(db, users["acc"])["full_name"] is None
    db.conn.close()


def test_an_administrator_changes_a_full_name_and_the_account_log_says_so(app, users):
    acc = app.test_client()
    login(acc, "acc")
    assert acc.get(f"/admin/users/{users['acc']}/full-name").status_code == 403
    admin = app.test_client()
    login(admin, "admin")
    assert "Change full name" in admin.get("/admin/users").get_data(as_text=True)
    path = f"/admin/users/{users['acc']}/full-name"
    response = admin.post(path, data={"csrf_token": csrf_from(admin, path), "full_name": " Test Accompanier "})
    assert response.status_code == 302
    db = connect(app.config["DATABASE"])
    assert users_db.get_user(db, users["acc"])["full_name"] == "Test Accompanier"
    db.conn.close()
    assert "Full name changed" in admin.get("/admin/account-log").get_data(as_text=True)


def test_server_times_in_the_zone_with_offset_device_times_as_recorded():
    from donoharm.records.render import device_when, zoned_when

    assert zoned_when("2026-01-01T21:30:00Z", "Europe/Paris") == "2026-01-01 22:30:00 +01:00 (Europe/Paris)"
    assert zoned_when("2026-07-01T21:30:00+00:00", "Europe/Paris") == "2026-07-01 23:30:00 +02:00 (Europe/Paris)"
    assert zoned_when("2026-01-01T21:30:00Z", "UTC") == "2026-01-01 21:30:00 +00:00 (UTC)"
    assert device_when("2026-01-01T21:30:00-05:00") == "2026-01-01 21:30:00 -05:00"
