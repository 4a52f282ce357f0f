"""The account page: each user chooses the language of the app and of their new runs."""
from __future__ import annotations

import pytest

from donoharm.db import connect
from donoharm.db import users as users_db
from tests.conftest import csrf_from, login


def saved_language(app, username):
    db = connect(app.config["DATABASE"])
    try:
        return users_db.find_user(db, username)["language"]
    finally:
        db.conn.close()


def choose(client, language):
    return client.post("/account", data={"language": language, "csrf_token": csrf_from(client, "/account")})


def test_account_page_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["acc", "sup", "trainer", "admin"])
def test_every_role_can_choose_a_language(app, client, users, username):
    login(client, username)
    html = client.get("/account").get_data(as_text=True)
    for tag in ("en", "es", "fr", "km", "th"):
        assert f'id="language-{tag}"' in html
    assert 'lang="km">ខ្មែរ</label>' in html  # each language is named in its own script
    assert 'value="en" aria-describedby="language-hint" checked' in html
    response = choose(client, "km")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert saved_language(app, username) == "km"
    html = client.get("/account").get_data(as_text=True)
    assert '<html lang="km"' in html
    assert 'value="km" aria-describedby="language-hint" checked' in html


def test_the_saved_language_beats_the_browser_and_follows_the_user(app, client, users):
    login(client, "acc")
    choose(client, "es")
    assert '<html lang="es"' in client.get("/", headers={"Accept-Language": "th"}).get_data(as_text=True)
    other = app.test_client()
    login(other, "acc")
    assert '<html lang="es"' in other.get("/").get_data(as_text=True)


@pytest.mark.parametrize("code", ["xx", "", "km-KH-extra-<script>", "../en"])
def test_an_unknown_language_code_falls_back_to_english(app, client, users, code):
    login(client, "acc")
    choose(client, "km")
    response = choose(client, code)
    assert response.status_code == 302
    assert saved_language(app, "acc") == ("km" if code == "km-KH-extra-<script>" else "en")
    assert client.get("/account").status_code == 200


def test_a_stored_unknown_code_shows_english_without_error(app, client, users):
    db = connect(app.config["DATABASE"])
    users_db.update_user(db, users["acc"], language="xx")
    db.conn.close()
    login(client, "acc")
    response = client.get("/account", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    # No usable saved choice: the browser's language applies and is the one shown as chosen.
    html = response.get_data(as_text=True)
    assert '<html lang="fr"' in html and 'value="fr" aria-describedby="language-hint" checked' in html
    assert '<html lang="en"' in client.get("/account", headers={"Accept-Language": "xx"}).get_data(as_text=True)


def test_browser_language_applies_before_sign_in(client):
    assert '<html lang="th"' in client.get("/login", headers={"Accept-Language": "th-TH,th;q=0.9"}).get_data(
        as_text=True)
    assert '<html lang="en"' in client.get("/login", headers={"Accept-Language": "de, xx"}).get_data(as_text=True)


def test_the_chosen_language_is_the_default_for_new_runs(client, users):
    login(client, "acc")
    choose(client, "km")
    html = client.get("/runs/new").get_data(as_text=True)
    assert '<option selected value="km">' in html or '<option value="km" selected>' in html


def test_navigation_links_to_the_account_page(client, users):
    login(client, "acc")
    assert 'href="/account"' in client.get("/").get_data(as_text=True)


def test_password_rules_are_explained_in_the_admins_language(app, client, users):
    login(client, "admin")
    choose(client, "es")
    response = client.post("/account/password", data={"current": "correct horse battery", "password": "short",
                                                      "confirm": "short", "csrf_token": csrf_from(client, "/account")})
    assert response.status_code == 422
    assert "Use al menos 10 caracteres." in response.get_data(as_text=True)
