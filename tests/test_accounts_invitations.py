"""Invitations, password change and reset links, and the account audit log (issue 19, parts 1 and 2)."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest

from donoharm.accounts import links as links_module
from donoharm.db import connect
from donoharm.db import users as users_db

from .conftest import PASSWORD, csrf_from, login

NEW_PASSWORD = "quiet river lantern 42"


def link_in(response) -> str:
    """The one-time link path shown on an administrator's link page."""
    match = re.search(r'value="https?://[^"/]+(/(?:invitation|reset)\?token=[^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return html_lib.unescape(match.group(1))


def invite(admin, username="newacc", role="accompanier", full_name="Nia Example"):
    return admin.post("/admin/users", data={"csrf_token": csrf_from(admin, "/admin/users"), "username": username,
                                            "role": role, "full_name": full_name})


def choose(client, path, password=NEW_PASSWORD, confirm=None):
    """Send the form of a link page (with a CSRF token from the sign-in page when the link shows no form)."""
    token = path.split("token=", 1)[1]
    page = client.get(path)
    csrf = csrf_from(client, path) if page.status_code == 200 else csrf_from(client, "/login")
    return client.post(path, data={"csrf_token": csrf, "token": token, "password": password,
                                   "confirm": password if confirm is None else confirm})


def audit_actions(app, subject=None):
    db = connect(app.config["DATABASE"])
    rows = db.execute("SELECT * FROM account_audit ORDER BY id").fetchall()
    db.conn.close()
    return [(r["actor"], r["action"], r["subject"]) for r in rows if subject is None or r["subject"] == subject]


@pytest.fixture
def admin(app, users):
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    return client


def test_an_invitation_lets_the_person_choose_their_password_once(app, admin):
    response = invite(admin, full_name="Nia Example")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'src="data:image/svg+xml' in html  # the QR code, made here: the CSP allows no other source
    assert "This link is shown only now." in html
    path = link_in(response)
    db = connect(app.config["DATABASE"])
    row = users_db.find_user(db, "newacc")
    assert row["full_name"] == "Nia Example" and not users_db.has_password(row)
    stored = db.execute("SELECT * FROM account_links").fetchall()
    assert len(stored) == 1 and path.split("token=")[1] not in str(dict(stored[0]))  # only the hash is kept
    db.conn.close()
    # The users page says the person is invited, and never shows the link again.
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Invited; the link works until" in listing and path.split("token=")[1] not in listing
    # Not a password anyone can sign in with before the person chooses one.
    assert login(app.test_client(), "newacc", "!").status_code == 401

    person = app.test_client()
    page = person.get(path)
    assert page.status_code == 200 and "Your username is newacc" in page.get_data(as_text=True)
    done = choose(person, path)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert person.get("/api/v1/session").get_json()["user"] == "newacc"  # signed in
    assert login(app.test_client(), "newacc", NEW_PASSWORD).status_code == 302
    # The link is spent: a second use changes nothing.
    again = app.test_client()
    spent = again.get(path)
    assert spent.status_code == 410 and "It was used already" in spent.get_data(as_text=True)
    assert choose(again, path, "another good passphrase 9").status_code == 410
    assert login(app.test_client(), "newacc", NEW_PASSWORD).status_code == 302
    assert [a[1] for a in audit_actions(app, "newacc")] == ["invited", "invitation_accepted"]
    assert audit_actions(app, "newacc")[0][0] == "admin" and audit_actions(app, "newacc")[1][0] == "newacc"


def test_a_supervisor_invited_is_sent_on_to_set_up_two_step_sign_in(app, admin):
    path = link_in(invite(admin, "newsup", "supervisor", "Sam Super"))
    app.config["REQUIRE_2FA"] = "reviewers"
    person = app.test_client()
    done = choose(person, path)
    assert done.status_code == 302 and done.headers["Location"] == "/account/two-factor"
    assert person.get("/review").headers["Location"].startswith("/account/two-factor")


@pytest.mark.parametrize("data, field, message", [
    ({"username": "", "full_name": "A Person"}, "username", "Enter a username."),
    ({"username": "a b", "full_name": "A Person"}, "username", "Use letters, digits, dots, hyphens and underscores"),
    ({"username": "x", "full_name": "A Person"}, "username", "Use 2 to 64 characters."),
    ({"username": "nia", "full_name": "N" * 121}, "full_name", "Use at most 120 characters."),
    ({"username": "nia", "full_name": "Nia\u202eelpmaxE"}, "full_name", "without control characters"),
    ({"username": "nia", "full_name": "Nia\x07"}, "full_name", "without control characters"),
    ({"username": "nia", "full_name": ""}, "full_name", "full name."),
    ({"username": "acc", "full_name": "A Person"}, "username", "That username is taken."),
])
def test_a_bad_invitation_is_refused_on_the_page_with_what_was_typed(app, admin, data, field, message):
    response = admin.post("/admin/users", data={"csrf_token": csrf_from(admin, "/admin/users"), "role": "trainer",
                                                **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert f'id="{field}-error"' in html and html.count('id="error-summary"') == 1
    assert '<option selected value="trainer">' in html or '<option value="trainer" selected>' in html
    if data["username"] and field != "username":
        assert f'value="{data["username"]}"' in html
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 6  # nothing added
    assert db.execute("SELECT count(*) FROM account_links").fetchone()[0] == 0
    db.conn.close()


def test_a_password_that_breaks_the_rules_keeps_the_link_usable(app, admin):
    path = link_in(invite(admin))
    person = app.test_client()
    for password, confirm, message in [("short", None, "Use at least 10 characters."),
                                       ("newacc-is-my-name", None, "must not contain the username"),
                                       ("password123", None, "most commonly used"),
                                       (NEW_PASSWORD, "something else 12", "The passwords do not match.")]:
        response = choose(person, path, password, confirm)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html
        # Never sent back (the lock screen's attribute name `data-too-short` holds the word "short" of its own).
        assert password not in html.replace("data-too-short", "")
    assert choose(person, path).status_code == 302


def test_forged_expired_and_replaced_links_get_a_clear_page_and_change_nothing(app, admin, monkeypatch):
    first = link_in(invite(admin))
    client = app.test_client()
    for path in ("/invitation?token=made-up", "/invitation", "/reset?token=" + first.split("token=")[1],
                 "/invitation?token=" + "x" * 500):
        response = client.get(path)
        assert response.status_code == 404 and "It is not a link this site made" in response.get_data(as_text=True)
    # A newer invitation replaces the older one.
    db = connect(app.config["DATABASE"])
    user_id = users_db.find_user(db, "newacc")["id"]
    db.conn.close()
    second = link_in(admin.post(f"/admin/users/{user_id}/invitation",
                                data={"csrf_token": csrf_from(admin, "/admin/users")}))
    assert client.get(first).status_code == 410
    assert "A newer link was made" in client.get(first).get_data(as_text=True)
    # 72 hours later the newest has expired too.
    later = links_module.utc_now() + timedelta(hours=72, seconds=1)
    monkeypatch.setattr(links_module, "utc_now", lambda: later)
    response = client.get(second)
    assert response.status_code == 410 and "It has expired" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert "Invited; the link" in admin.get("/admin/users").get_data(as_text=True)
    db = connect(app.config["DATABASE"])
    assert not users_db.has_password(users_db.find_user(db, "newacc"))
    db.conn.close()


def test_a_deactivated_persons_invitation_does_not_work(app, admin):
    path = link_in(invite(admin))
    db = connect(app.config["DATABASE"])
    user_id = users_db.find_user(db, "newacc")["id"]
    db.conn.close()
    admin.post(f"/admin/users/{user_id}", data={"csrf_token": csrf_from(admin, "/admin/users"), "role": "accompanier"})
    assert app.test_client().get(path).status_code == 410


def test_changing_the_password_ends_the_other_sign_ins(app, users):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "acc")
    login(laptop, "acc")
    token = csrf_from(laptop, "/account")
    wrong = laptop.post("/account/password", data={"csrf_token": token, "current": "not my password",
                                                   "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "That is not your current password." in wrong.get_data(as_text=True)
    weak = laptop.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                  "password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "Use at least 10 characters." in weak.get_data(as_text=True)
    assert PASSWORD not in weak.get_data(as_text=True)
    assert phone.get("/api/v1/session").status_code == 200  # nothing changed yet
    done = laptop.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                  "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert laptop.get("/api/v1/session").status_code == 200  # this sign-in goes on
    assert phone.get("/api/v1/session").status_code == 401  # every other one ended
    assert login(app.test_client(), "acc", PASSWORD).status_code == 401
    assert login(app.test_client(), "acc", NEW_PASSWORD).status_code == 302
    assert audit_actions(app, "acc") == [("acc", "password_changed", "acc")]


def test_guessing_the_current_password_is_throttled_like_signing_in(app, users, monkeypatch):
    from donoharm.accounts import auth

    monkeypatch.setattr(auth, "_clock", lambda: 1_800_000_000.0)
    client = app.test_client()
    login(client, "acc")
    token = csrf_from(client, "/account")
    for _attempt in range(app.config["LOGIN_PAIR_FAILURES"]):
        client.post("/account/password", data={"csrf_token": token, "current": "guess guess 1",
                                               "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = client.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                      "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422 and "Too many failed attempts." in response.get_data(as_text=True)
    assert login(app.test_client(), "acc", PASSWORD).status_code in (302, 429)  # the password is unchanged


def test_a_reset_link_works_once_and_only_once_and_signs_out_everywhere(app, admin, users):
    phone = app.test_client()
    login(phone, "acc")
    response = admin.post(f"/admin/users/{users['acc']}/reset-link",
                          data={"csrf_token": csrf_from(admin, "/admin/users")})
    assert response.status_code == 200 and "Password reset link for acc" in response.get_data(as_text=True)
    path = link_in(response)
    assert phone.get("/api/v1/session").status_code == 200  # making the link changes nothing yet
    assert login(app.test_client(), "acc", PASSWORD).status_code == 302  # nor does the old password stop working
    person = app.test_client()
    assert choose(person, path).status_code == 302
    assert phone.get("/api/v1/session").status_code == 401  # signed out everywhere
    assert login(app.test_client(), "acc", PASSWORD).status_code == 401
    assert login(app.test_client(), "acc", NEW_PASSWORD).status_code == 302
    # Once and only once: the same link again, and a replay of the form, change nothing.
    other = app.test_client()
    assert other.get(path).status_code == 410
    assert choose(other, path, "a third passphrase 77").status_code == 410
    assert login(app.test_client(), "acc", NEW_PASSWORD).status_code == 302
    assert [a[1] for a in audit_actions(app, "acc")] == ["reset_link_issued", "password_reset"]


def test_a_reset_link_expires_after_24_hours(app, admin, users, monkeypatch):
    path = link_in(admin.post(f"/admin/users/{users['acc']}/reset-link",
                              data={"csrf_token": csrf_from(admin, "/admin/users")}))
    later = links_module.utc_now() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(links_module, "utc_now", lambda: later)
    client = app.test_client()
    assert client.get(path).status_code == 410
    monkeypatch.undo()
    assert login(app.test_client(), "acc", PASSWORD).status_code == 302


def test_changing_the_password_voids_an_unused_reset_link(app, admin, users):
    path = link_in(admin.post(f"/admin/users/{users['acc']}/reset-link",
                              data={"csrf_token": csrf_from(admin, "/admin/users")}))
    client = app.test_client()
    login(client, "acc")
    client.post("/account/password", data={"csrf_token": csrf_from(client, "/account"), "current": PASSWORD,
                                           "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert app.test_client().get(path).status_code == 410


def test_reset_links_only_for_active_people_with_a_password(app, admin, users):
    path = link_in(invite(admin))
    db = connect(app.config["DATABASE"])
    invited = users_db.find_user(db, "newacc")["id"]
    db.conn.close()
    token = csrf_from(admin, "/admin/users")
    response = admin.post(f"/admin/users/{invited}/reset-link", data={"csrf_token": token})
    assert response.status_code == 302
    assert "has not accepted their invitation yet" in admin.get("/admin/users").get_data(as_text=True)
    assert app.test_client().get(path).status_code == 200  # the invitation still works
    response = admin.post(f"/admin/users/{users['acc']}/invitation", data={"csrf_token": token})
    assert response.status_code == 302 and "has chosen a password already" in admin.get("/admin/users").get_data(
        as_text=True)
    assert admin.post("/admin/users/9999/reset-link", data={"csrf_token": token}).status_code == 302


def test_the_account_log_shows_who_did_what_and_never_a_secret(app, admin, users):
    response = invite(admin, "newsup", "supervisor", "Sam Super")
    path = link_in(response)
    choose(app.test_client(), path)
    token = csrf_from(admin, "/admin/users")
    reset_path = link_in(admin.post(f"/admin/users/{users['acc']}/reset-link", data={"csrf_token": token}))
    admin.post(f"/admin/users/{users['acc2']}", data={"csrf_token": token, "role": "supervisor", "active": "y"})
    admin.post(f"/admin/users/{users['acc2']}", data={"csrf_token": token, "role": "supervisor"})
    page = admin.get("/admin/account-log")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("Invited", "Invitation accepted: password chosen", "Password reset link made", "Role changed",
                 "accompanier -&gt; supervisor", "Deactivated", "newsup", "acc2"):
        assert text in html, text
    for secret in (path.split("token=")[1], reset_path.split("token=")[1], NEW_PASSWORD):
        assert secret not in html
    db = connect(app.config["DATABASE"])
    dump = "\n".join(str(tuple(row)) for row in db.execute("SELECT * FROM account_audit"))
    db.conn.close()
    for secret in (path.split("token=")[1], reset_path.split("token=")[1], NEW_PASSWORD):
        assert secret not in dump
    for name in ("acc", "sup", "trainer"):
        other = app.test_client()
        login(other, name)
        assert other.get("/admin/account-log").status_code == 403
    assert admin.get("/admin/account-log?before=abc").status_code == 200


def test_users_invite_prints_a_link_at_the_base_url(app, runner):
    app.config["BASE_URL"] = "https://records.example.org"
    result = runner.invoke(args=["users", "invite", "field1", "--role", "accompanier", "--full-name", "Fay Field"])
    assert result.exit_code == 0, result.output
    match = re.search(r"https://records\.example\.org(/invitation\?token=\S+)", result.output)
    assert match and "It works once, until" in result.output
    client = app.test_client()
    assert choose(client, match.group(1)).status_code == 302
    db = connect(app.config["DATABASE"])
    assert users_db.find_user(db, "field1")["full_name"] == "Fay Field"
    db.conn.close()
    assert audit_actions(app, "field1")[0] == ("command line", "invited", "field1")
    # Bad input: refused, nothing stored.
    for args, message in [(["bad name", "--role", "trainer"], "Use letters, digits"),
                          (["nia", "--role", "trainer", "--full-name", "N" * 121], "at most 120"),
                          (["nia", "--role", "trainer", "--full-name", "Nia\x1b[31m"], "control characters"),
                          (["field1", "--role", "trainer"], "exists already")]:
        result = runner.invoke(args=["users", "invite", *args])
        assert result.exit_code != 0 and message in result.output, result.output
    db = connect(app.config["DATABASE"])
    assert users_db.find_user(db, "nia") is None
    db.conn.close()


def test_users_reset_link_and_create_still_work_from_the_command_line(app, runner):
    created = runner.invoke(args=["users", "create", "scripted", "--role", "trainer", "--password-stdin"],
                            input=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    result = runner.invoke(args=["users", "reset-link", "scripted"])
    assert result.exit_code == 0, result.output
    path = re.search(r"(/reset\?token=\S+)", result.output).group(1)
    assert choose(app.test_client(), path).status_code == 302
    assert login(app.test_client(), "scripted", NEW_PASSWORD).status_code == 302
    assert runner.invoke(args=["users", "reset-link", "nobody"]).exit_code != 0
    assert [a[1] for a in audit_actions(app, "scripted")] == ["user_created", "reset_link_issued", "password_reset"]


def test_an_invited_admin_does_not_count_as_the_last_administrator(app, admin, users):
    link_in(invite(admin, "admin2", "admin", "Second Admin"))
    token = csrf_from(admin, "/admin/users")
    admin.post(f"/admin/users/{users['admin']}", data={"csrf_token": token, "role": "trainer", "active": "y"})
    assert "Keep at least one active administrator." in admin.get("/admin/users").get_data(as_text=True)
