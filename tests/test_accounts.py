"""Accounts: sign-in throttling, the one-time setup link, and the administrators' user page."""
from __future__ import annotations

from donoharm.accounts import auth
from donoharm.web.pwa import SHELL_PAGES

from .conftest import PASSWORD, csrf_from, login


def test_wrong_passwords_slow_down_that_address_on_that_account_only(app, client, users, monkeypatch):
    monkeypatch.setattr(auth, "_clock", lambda: 1_800_000_000.0)  # the wait is a second: a slow machine is slower
    for _attempt in range(app.config["LOGIN_PAIR_FAILURES"]):
        response = login(client, "acc", "not the password")
        assert response.status_code == 401
        assert "The username or password is not right." in response.get_data(as_text=True)
    response = login(client, "acc", PASSWORD)  # from here even the right password waits a moment now
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert "Too many failed attempts. Wait 1 second and try again." in response.get_data(as_text=True)
    assert client.get("/api/v1/session").status_code == 401
    # The same account from another address, and another account from this one, sign in at once.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(other, "acc").status_code == 302
    assert login(app.test_client(), "acc2").status_code == 302


def test_many_failures_from_one_address_do_not_keep_others_behind_it_out(app, client, users, monkeypatch):
    monkeypatch.setattr(auth, "_clock", lambda: 1_800_000_000.0)
    app.config["LOGIN_ADDRESS_FAILURES"] = 3
    for name in ("nobody1", "nobody2", "nobody3"):
        assert login(client, name, "guess").status_code == 401
    assert login(client, "nobody1", "guess").status_code == 429  # the names it failed on wait
    assert login(client, "sup", PASSWORD).status_code == 302  # a colleague behind the same address does not


def test_the_setup_link_works_once(app):
    client = app.test_client()
    token = app.extensions["donoharm.setup_token"]
    path = f"/setup?token={token}"
    assert client.get(path).status_code == 200
    data = {"csrf_token": csrf_from(client, path), "token": token, "username": "boss",
            "password": "field lantern basement 7", "confirm": "field lantern basement 7",
            "organisation_name": "Example Organisation (test)", "time_zone": "UTC", "page_size": "A4"}
    response = client.post(path, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    second = app.test_client()
    assert second.get(path).status_code == 404
    assert client.post(path, data=data).status_code == 400  # replaying the form: its CSRF token died at sign-in
    fresh = {**data, "csrf_token": client.get("/api/v1/session").get_json()["csrf_token"]}
    assert client.post(path, data=fresh).status_code == 404  # and with a fresh one, the link is spent
    assert second.get("/setup?token=made-up").status_code == 404


def test_setup_refuses_a_weak_password_and_keeps_the_username(app):
    client = app.test_client()
    token = app.extensions["donoharm.setup_token"]
    path = f"/setup?token={token}"
    response = client.post(path, data={"csrf_token": csrf_from(client, path), "token": token,
                                       "username": "boss", "password": "short", "confirm": "short"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="boss"' in html and 'class="error-message"' in html
    assert client.get(path).status_code == 200  # the token was not spent


def test_admin_adds_changes_and_deactivates_users(app, users):
    admin = app.test_client()
    login(admin, "admin")
    token = csrf_from(admin, "/admin/users")
    # Adding a person is inviting them: the answer is their one-time link (tests/test_accounts_invitations.py).
    response = admin.post("/admin/users", data={"csrf_token": token, "username": "newsup", "role": "supervisor",
                                                 "full_name": "New Supervisor"})
    assert response.status_code == 200 and "/invitation?token=" in response.get_data(as_text=True)
    assert "newsup" in admin.get("/admin/users").get_data(as_text=True)
    taken = admin.post("/admin/users", data={"csrf_token": token, "username": "newsup", "role": "supervisor",
                                              "full_name": "Another Person"})
    assert taken.status_code == 422 and "That username is taken." in taken.get_data(as_text=True)
    # Deactivated users can no longer sign in, and are signed out where they already were.
    phone = app.test_client()
    login(phone, "acc2")
    assert phone.get("/").status_code == 200
    admin.post(f"/admin/users/{users['acc2']}", data={"csrf_token": token, "role": "accompanier"})
    assert login(app.test_client(), "acc2").status_code == 401
    assert phone.get("/").status_code == 302 and phone.get("/api/v1/session").status_code == 401
    # Taken back on later (a phone found again), the account does not revive the old sign-in.
    admin.post(f"/admin/users/{users['acc2']}", data={"csrf_token": token, "role": "accompanier", "active": "y"})
    assert login(app.test_client(), "acc2").status_code == 302
    assert phone.get("/").status_code == 302
    # The last active administrator stays one.
    admin.post(f"/admin/users/{users['admin']}", data={"csrf_token": token, "role": "trainer", "active": "y"})
    assert "Keep at least one active administrator." in admin.get("/admin/users").get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200


def test_only_admins_reach_the_user_page(app, users):
    for name in ("acc", "sup", "trainer"):
        client = app.test_client()
        login(client, name)
        assert client.get("/admin/users").status_code == 403


def test_sign_out_needs_a_post_with_the_token(app, users):
    client = app.test_client()
    login(client, "acc")
    assert client.get("/logout").status_code == 200
    assert client.get("/api/v1/session").status_code == 200
    assert client.post("/logout", data={}).status_code == 400
    response = client.post("/logout", data={"csrf_token": csrf_from(client, "/logout")})
    assert response.status_code == 302
    assert client.get("/api/v1/session").status_code == 401


def test_error_pages_keep_the_layout_and_say_what_to_do(app, users):
    client = app.test_client()
    login(client, "acc")
    response = client.get("/admin/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "You cannot open this page" in html and '<main id="main"' in html
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


# Fetched without a person's click while the sign-in page is open: the service worker saving the app
# shell, the manifest, the page's own script asking which pages to keep for offline use, and the
# outbox asking the API whether it may send.
BACKGROUND_URLS = ("/static/css/app.css", "/static/js/app.js", "/sw.js", *SHELL_PAGES, "/offline/precache.json",
                   "/api/v1/session", "/api/v1/protocols")


def test_fetches_that_left_the_sign_in_page_and_come_back_late_do_not_sign_you_out(app, users):
    person = app.test_client()
    person.get("/login")
    signed_out_cookie = person.get_cookie("session").value
    login(person, "acc")
    late = app.test_client()  # the same requests, sent with the cookie of before the sign-in
    late.set_cookie("session", signed_out_cookie)
    for url in BACKGROUND_URLS:
        response = late.get(url)
        response.close()  # static files are streamed
        assert response.status_code in (200, 401), url
        for header in response.headers.getlist("Set-Cookie"):  # the browser would store what arrives last
            if header.startswith("session="):
                person.set_cookie("session", header.split(";")[0].split("=", 1)[1])
    assert person.get("/").status_code == 200


def test_pages_saved_for_offline_use_in_the_background_leave_the_next_message_for_the_person(app, users):
    person = app.test_client()
    login(person, "acc")
    person.post("/account", data={"language": "en", "csrf_token": csrf_from(person, "/account")})
    # The page's script saves the signed-in pages while the browser follows the redirect.
    urls = person.get("/offline/precache.json", headers={"X-Background-Fetch": "1"}).get_json()["pages"]
    for url in urls:
        saved = person.get(url, headers={"X-Background-Fetch": "1"})
        assert saved.status_code == 200, url
        assert "Language saved" not in saved.get_data(as_text=True), url  # not shown later, offline, from the copy
        assert not any(h.startswith("session=") for h in saved.headers.getlist("Set-Cookie")), url
    assert "Language saved: English." in person.get("/account").get_data(as_text=True)


def _language_saved(person) -> None:
    person.post("/account", data={"language": "en", "csrf_token": csrf_from(person, "/account")})


def test_the_service_workers_shell_pages_leave_the_message_and_name_nobody(app, users):
    # Installing, the service worker fetches its shell pages with the person's cookie, maybe while a form's
    # answer is on its way. Kept in the phone's plain cache for whoever uses the phone next.
    person = app.test_client()
    login(person, "acc")
    _language_saved(person)
    for url in SHELL_PAGES:
        saved = person.get(url, headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"})
        assert saved.status_code == 200, url
        body = saved.get_data(as_text=True)
        assert "Language saved" not in body, url
        assert 'data-user="acc"' not in body and "(acc)" not in body, url
        assert not any(h.startswith("session=") for h in saved.headers.getlist("Set-Cookie")), url
    assert "Language saved: English." in person.get("/account").get_data(as_text=True)


def test_a_page_fetched_by_a_script_leaves_the_message_for_the_page_the_person_opens(app, users):
    person = app.test_client()
    login(person, "acc")
    _language_saved(person)
    fetched = person.get("/runs/new", headers={"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"})
    assert fetched.status_code == 200 and "Language saved" not in fetched.get_data(as_text=True)
    assert not any(h.startswith("session=") for h in fetched.headers.getlist("Set-Cookie"))
    opened = person.get("/account", headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
    assert "Language saved: English." in opened.get_data(as_text=True)
    assert "Language saved" not in person.get("/account").get_data(as_text=True)  # shown once


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(app, users):
    person = app.test_client()
    login(person, "acc")
    copied = app.test_client()  # the same cookie, kept by a late response, a backup or someone else
    copied.set_cookie("session", person.get_cookie("session").value)
    assert copied.get("/").status_code == 200
    person.post("/logout", data={"csrf_token": csrf_from(person, "/logout")})
    assert copied.get("/").status_code == 302
    assert copied.get("/api/v1/session").status_code == 401
    other = app.test_client()  # signing out on one device leaves the person's other sign-ins alone
    login(other, "acc")
    login(person, "acc")
    person.post("/logout", data={"csrf_token": csrf_from(person, "/logout")})
    assert other.get("/").status_code == 200

