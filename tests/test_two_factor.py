"""Two-step sign-in (issue 19, part 3): TOTP codes with a window of one step and no replay, recovery codes that
work once each, throttling, the second step that signs nobody in before the code, and the rule that sends
supervisors and administrators to set it up first. Time is moved by hand (two_factor._clock): no sleeping."""
from __future__ import annotations

import re

import pyotp
import pytest

from donoharm.accounts import two_factor
from donoharm.db import connect
from donoharm.db import users as users_db

from .conftest import PASSWORD, csrf_from, login
from .test_accounts_invitations import NEW_PASSWORD, choose, invite, link_in
from .test_authorization_table import TABLE

T0 = 1_800_000_015.0  # mid-step: 15 s into a 30-second step
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(two_factor, "_clock", clock)
    from donoharm.accounts import auth

    monkeypatch.setattr(auth, "_clock", clock)
    return clock


@pytest.fixture
def required(app):
    app.config["REQUIRE_2FA"] = "reviewers"
    return app


def code_at(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def user_row(app, username):
    db = connect(app.config["DATABASE"])
    row = users_db.find_user(db, username)
    db.conn.close()
    return row


def enrol(app, client, username, clock) -> tuple[str, list[str]]:
    """Set up two-step sign-in through the pages; return the secret and the recovery codes shown."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200, page.headers.get("Location")
    secret = re.search(r'<code id="totp-key"[^>]*>([^<]+)</code>', page.get_data(as_text=True)).group(1)
    secret = secret.replace(" ", "")
    assert secret == user_row(app, username)["totp_pending_secret"]
    done = client.post("/account/two-factor", data={"csrf_token": csrf_from(client, "/account/two-factor"),
                                                    "code": code_at(secret, clock.now)})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Your recovery codes" in html, html[:3000]
    codes = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def password_step(client, username, password=PASSWORD):
    response = login(client, username, password)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code", response.headers
    return response


def code_step(client, code):
    return client.post("/login/code", data={"csrf_token": csrf_from(client, "/login/code"), "code": code})


# --- The TOTP window and replay, on their own ------------------------------------------------------------------

def test_the_previous_and_next_step_are_accepted_and_two_steps_off_refused():
    step = int(T0 // 30)
    codes = {offset: code_at(SECRET, T0 + offset * 30) for offset in (-2, -1, 0, 1, 2)}
    assert len(set(codes.values())) == 5  # this secret and time give five different codes
    for offset in (-1, 0, 1):
        found = two_factor.match_totp(SECRET, codes[offset], T0)
        assert found is not None and found.step == step + offset and not found.replayed
    for offset in (-2, 2):
        assert two_factor.match_totp(SECRET, codes[offset], T0) is None
    assert two_factor.match_totp(SECRET, "12345", T0) is None  # not six digits
    assert two_factor.match_totp(SECRET, "abcdef", T0) is None
    assert two_factor.match_totp(SECRET, f"{codes[0][:3]} {codes[0][3:]}", T0).step == step  # spaces are fine


def test_a_code_of_a_step_used_already_is_a_replay():
    step = int(T0 // 30)
    assert two_factor.match_totp(SECRET, code_at(SECRET, T0), T0, last_step=step).replayed
    assert two_factor.match_totp(SECRET, code_at(SECRET, T0 - 30), T0, last_step=step).replayed
    assert not two_factor.match_totp(SECRET, code_at(SECRET, T0 + 30), T0, last_step=step).replayed


# --- The whole journey --------------------------------------------------------------------------------------------

def test_invitation_password_enrolment_sign_in_with_a_code_and_password_change(app, users, clock):
    admin = app.test_client()
    login(admin, "admin")
    path = link_in(invite(admin, "newsup", "supervisor", "Sam Super"))
    app.config["REQUIRE_2FA"] = "reviewers"  # from here on (the admin above signed in before)

    # The invited supervisor chooses a password and is sent straight on to set up two-step sign-in.
    phone = app.test_client()
    assert choose(phone, path).headers["Location"] == "/account/two-factor"
    assert phone.get("/review").headers["Location"] == "/account/two-factor?next=/review"
    secret, recovery = enrol(app, phone, "newsup", clock)
    assert phone.get("/review").status_code == 200  # enrolled: review opens
    assert user_row(app, "newsup")["totp_secret"] == secret

    # Signing in again: the password alone signs nobody in.
    laptop = app.test_client()
    password_step(laptop, "newsup", NEW_PASSWORD)
    assert laptop.get("/api/v1/session").status_code == 401
    assert laptop.get("/review").headers["Location"].startswith("/login")
    assert laptop.get("/account").headers["Location"].startswith("/login")
    wrong = code_step(laptop, "000000" if code_at(secret, clock.now) != "000000" else "111111")
    assert wrong.status_code == 401 and "That code is not right." in wrong.get_data(as_text=True)
    assert laptop.get("/api/v1/session").status_code == 401
    clock.now += 30  # the code of the enrolment step was used; the next one is new
    done = code_step(laptop, code_at(secret, clock.now))
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert laptop.get("/api/v1/session").get_json()["user"] == "newsup"
    assert laptop.get("/review").status_code == 200

    # The same code again, on another browser: refused.
    thief = app.test_client()
    password_step(thief, "newsup", NEW_PASSWORD)
    replay = code_step(thief, code_at(secret, clock.now))
    assert replay.status_code == 401 and "used already" in replay.get_data(as_text=True)
    assert thief.get("/api/v1/session").status_code == 401

    # Changing the password on the laptop ends every other sign-in (the phone).
    assert phone.get("/api/v1/session").status_code == 200
    changed = laptop.post("/account/password", data={"csrf_token": csrf_from(laptop, "/account"),
                                                     "current": NEW_PASSWORD, "password": "fresh meadow kite 31",
                                                     "confirm": "fresh meadow kite 31"})
    assert changed.status_code == 302
    assert phone.get("/api/v1/session").status_code == 401
    assert laptop.get("/api/v1/session").status_code == 200
    # The thief's half-finished sign-in checked the old password: it has lapsed.
    assert thief.get("/login/code").headers["Location"] == "/login"
    assert thief.get("/api/v1/session").status_code == 401
    assert recovery  # kept for the recovery-code test below


def test_recovery_codes_work_once_each(app, users, clock):
    client = app.test_client()
    login(client, "acc")
    _secret, codes = enrol(app, client, "acc", clock)
    for code in codes[:2]:
        other = app.test_client()
        password_step(other, "acc")
        done = code_step(other, code.upper().replace("-", " "))  # typed loosely: still the same code
        assert done.status_code == 302, done.get_data(as_text=True)[:500]
        assert other.get("/api/v1/session").status_code == 200
        assert "recovery code" in other.get("/").get_data(as_text=True)
    again = app.test_client()
    password_step(again, "acc")
    used = code_step(again, codes[0])
    assert used.status_code == 401 and again.get("/api/v1/session").status_code == 401
    # New codes replace the old ones, which stop working; the account page counts what is left.
    assert "8 recovery codes are left." in client.get("/account").get_data(as_text=True)
    response = client.post("/account/two-factor/recovery-codes",
                           data={"codes-csrf_token": csrf_from(client, "/account"), "codes-current": PASSWORD})
    fresh = re.findall(r"<li><code>([a-z2-9-]{14})</code></li>", response.get_data(as_text=True))
    assert response.status_code == 200 and len(fresh) == 10
    old = app.test_client()
    password_step(old, "acc")
    assert code_step(old, codes[5]).status_code == 401
    assert code_step(old, fresh[0]).status_code == 302


def test_wrong_codes_are_throttled_per_address_and_per_account(app, users, clock):
    client = app.test_client()
    login(client, "acc")
    secret, _codes = enrol(app, client, "acc", clock)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    password_step(attacker, "acc")
    pair, account = app.config["TWO_FACTOR_PAIR_FAILURES"], app.config["TWO_FACTOR_ACCOUNT_FAILURES"]
    for _attempt in range(pair):
        assert code_step(attacker, "999999").status_code == 401
    next_code = code_at(secret, clock.now + 30)  # the enrolment used this step's code: the next one is fresh
    waiting = code_step(attacker, next_code)  # even the right code waits now, unchecked
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    assert "Too many failed attempts." in waiting.get_data(as_text=True)
    assert attacker.get("/api/v1/session").status_code == 401
    # The owner, elsewhere, is not held up by a few failures.
    owner = app.test_client()
    password_step(owner, "acc")
    assert code_step(owner, next_code).status_code == 302
    # Failures on the account from many addresses slow down every address, a fresh one too: whoever reaches
    # this step knows the password, and more addresses must not mean more guesses.
    for number in range(account - pair):
        bot = app.test_client()
        bot.environ_base["REMOTE_ADDR"] = f"198.51.100.{number + 1}"
        password_step(bot, "acc")
        assert code_step(bot, "999999").status_code == 401
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "192.0.2.200"
    password_step(fresh, "acc")
    refused = code_step(fresh, code_at(secret, clock.now + 60))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.now += 60  # the wait is over: the right code signs in
    assert code_step(fresh, code_at(secret, clock.now)).status_code == 302


def test_the_second_step_lapses_after_ten_minutes(app, users, clock, monkeypatch):
    client = app.test_client()
    login(client, "acc")
    secret, _codes = enrol(app, client, "acc", clock)
    late = app.test_client()
    password_step(late, "acc")
    import time as time_module

    real = time_module.time()
    monkeypatch.setattr("donoharm.accounts.auth.time.time", lambda: real + 10 * 60 + 1)
    clock.now += 30
    response = late.get("/login/code")
    assert response.headers["Location"] == "/login"
    assert "Signing in took too long" in late.get("/login").get_data(as_text=True)


# --- Who must set it up --------------------------------------------------------------------------------------------

def test_a_supervisor_without_two_step_sign_in_cannot_open_review(app, users, required):
    client = app.test_client()
    assert login(client, "sup").status_code == 302
    for path in ("/review", "/oversight", "/", "/runs/new"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/account/two-factor")
    api = client.get("/api/v1/session")
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "two_factor_required"
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "Your role needs two-step sign-in" in page.get_data(as_text=True)
    # Changing the password and signing out still work.
    assert client.get("/account").status_code == 200
    changed = client.post("/account/password", data={"csrf_token": csrf_from(client, "/account"),
                                                     "current": PASSWORD, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert client.post("/logout", data={"csrf_token": csrf_from(client, "/logout")}).status_code == 302
    # Accompanier and trainer are not asked (reviewers); with "all" everyone is.
    acc = app.test_client()
    login(acc, "acc")
    assert acc.get("/").status_code == 200
    app.config["REQUIRE_2FA"] = "all"
    assert acc.get("/").headers["Location"].startswith("/account/two-factor")


def test_every_page_that_needs_a_sign_in_waits_for_the_set_up(app, users, required):
    """Walk every route of the authorization table that needs a sign-in, as an administrator who must set up
    two-step sign-in and has not: only their own account, the set-up and signing out answer."""
    open_to_them = {"GET /account", "POST /account", "POST /account/password", "GET /account/two-factor",
                    "POST /account/two-factor", "POST /account/two-factor/recovery-codes",
                    "POST /account/two-factor/off", "POST /logout", "GET /login/code", "POST /login/code"}
    client = app.test_client()
    login(client, "admin")
    token = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token).group(1)
    values = {"run_id": "00000000-0000-4000-8000-000000000000", "protocol_id": "immigration-separation",
              "version": "1.0.0", "user_id": "1", "record_id": "x", "filename": "css/app.css", "name": "x",
              "file_id": "x", "operation_id": "x", "event_id": "x"}
    checked = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            key = f"{method} {rule.rule}"
            if key not in TABLE or TABLE[key].split()[0] != "in" or key in open_to_them:
                continue
            # The set-up is asked for before the view runs: any value of an argument will do.
            path = rule.build({name: values.get(name, "x") for name in rule.arguments}, append_unknown=False)[1]
            response = client.open(path, method=method, data={"csrf_token": token},
                                   headers={"X-CSRFToken": token})
            if path.startswith("/api/") or path == "/offline/precache.json":
                assert response.status_code == 403, key
                assert response.get_json()["error"]["code"] == "two_factor_required", key
            else:
                assert response.status_code == 302, (key, response.status_code)
                assert response.headers["Location"].startswith("/account/two-factor"), key
            checked.append(key)
    assert "GET /review" in checked and "GET /admin/users" in checked and "GET /admin/account-log" in checked
    assert len(checked) > 30


def test_administrators_are_warned_when_nobody_needs_a_second_factor(app, users):
    admin, sup = app.test_client(), app.test_client()
    login(admin, "admin")
    login(sup, "sup")
    assert 'id="two-factor-off"' in admin.get("/").get_data(as_text=True)
    assert 'id="two-factor-off"' in admin.get("/protocols").get_data(as_text=True)
    assert 'id="two-factor-off"' not in sup.get("/").get_data(as_text=True)
    app.config["REQUIRE_2FA"] = "reviewers"
    assert 'id="two-factor-off"' not in admin.get("/account").get_data(as_text=True)


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from donoharm.config import ConfigError, load_config

    monkeypatch.setenv("DONOHARM_REQUIRE_2FA", "all")
    assert load_config(tmp_path)["REQUIRE_2FA"] == "all"
    monkeypatch.delenv("DONOHARM_REQUIRE_2FA")
    assert load_config(tmp_path)["REQUIRE_2FA"] == "reviewers"
    monkeypatch.setenv("DONOHARM_REQUIRE_2FA", "sometimes")
    with pytest.raises(ConfigError, match="DONOHARM_REQUIRE_2FA"):
        load_config(tmp_path)


# --- Setting it up, replacing it, turning it off, resetting it ---------------------------------------------------

def test_a_wrong_code_at_set_up_changes_nothing(app, users, clock):
    client = app.test_client()
    login(client, "acc")
    client.get("/account/two-factor")
    secret = user_row(app, "acc")["totp_pending_secret"]
    for code in ("", "12", code_at(secret, clock.now + 90), "x" * 41):
        response = client.post("/account/two-factor", data={"csrf_token": csrf_from(client, "/account/two-factor"),
                                                             "code": code})
        assert response.status_code == 422 and 'id="code-error"' in response.get_data(as_text=True)
    row = user_row(app, "acc")
    assert row["totp_secret"] is None and row["totp_pending_secret"] == secret  # the QR code still fits
    assert login(app.test_client(), "acc").headers["Location"] == "/"  # no code asked for


def test_replacing_the_app_needs_the_password_and_the_old_app_stops(app, users, clock):
    client = app.test_client()
    login(client, "acc")
    old_secret, _codes = enrol(app, client, "acc", clock)
    client.get("/account/two-factor")
    new_secret = user_row(app, "acc")["totp_pending_secret"]
    assert new_secret != old_secret
    clock.now += 60
    token = csrf_from(client, "/account/two-factor")
    no_password = client.post("/account/two-factor", data={"csrf_token": token,
                                                           "code": code_at(new_secret, clock.now)})
    assert no_password.status_code == 422 and "Enter your current password." in no_password.get_data(as_text=True)
    done = client.post("/account/two-factor", data={"csrf_token": token, "code": code_at(new_secret, clock.now),
                                                    "current": PASSWORD})
    assert done.status_code == 200 and user_row(app, "acc")["totp_secret"] == new_secret
    clock.now += 30
    other = app.test_client()
    password_step(other, "acc")
    assert code_step(other, code_at(old_secret, clock.now)).status_code == 401
    assert code_step(other, code_at(new_secret, clock.now)).status_code == 302


def test_turning_it_off_only_where_the_role_does_not_need_it(app, users, clock):
    acc, sup = app.test_client(), app.test_client()
    login(acc, "acc")
    login(sup, "sup")
    enrol(app, acc, "acc", clock)
    enrol(app, sup, "sup", clock)
    app.config["REQUIRE_2FA"] = "reviewers"
    refused = sup.post("/account/two-factor/off", data={"off-csrf_token": csrf_from(sup, "/account"),
                                                        "off-current": PASSWORD})
    assert refused.status_code == 422 and "Your role needs two-step sign-in" in refused.get_data(as_text=True)
    assert user_row(app, "sup")["totp_secret"]
    wrong = acc.post("/account/two-factor/off", data={"off-csrf_token": csrf_from(acc, "/account"),
                                                      "off-current": "not my password"})
    assert wrong.status_code == 422 and user_row(app, "acc")["totp_secret"]
    done = acc.post("/account/two-factor/off", data={"off-csrf_token": csrf_from(acc, "/account"),
                                                     "off-current": PASSWORD})
    assert done.status_code == 302 and user_row(app, "acc")["totp_secret"] is None
    assert login(app.test_client(), "acc").headers["Location"] == "/"


def test_an_administrator_resets_a_lost_second_factor(app, users, clock):
    sup = app.test_client()
    login(sup, "sup")
    enrol(app, sup, "sup", clock)
    admin = app.test_client()
    login(admin, "admin")
    response = admin.post(f"/admin/users/{users['sup']}/two-factor/reset",
                          data={"csrf_token": csrf_from(admin, "/admin/users")})
    assert response.status_code == 302
    assert "The second factor of sup is removed" in admin.get("/admin/users").get_data(as_text=True)
    assert sup.get("/api/v1/session").status_code == 401  # signed out
    row = user_row(app, "sup")
    assert row["totp_secret"] is None and row["totp_last_step"] is None
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM recovery_codes WHERE user_id = ?", [users["sup"]]).fetchone()[0] == 0
    log = db.execute("SELECT actor, action, subject FROM account_audit").fetchall()
    db.conn.close()
    assert [tuple(r) for r in log] == [("sup", "two_factor_enrolled", "sup"), ("admin", "two_factor_reset", "sup")]
    app.config["REQUIRE_2FA"] = "reviewers"
    again = app.test_client()
    assert login(again, "sup").headers["Location"] == "/"  # the password alone...
    assert again.get("/").headers["Location"].startswith("/account/two-factor")  # ...then straight to set-up
    # Nothing to reset: said so, nothing logged.
    admin2 = app.test_client()
    app.config["REQUIRE_2FA"] = "none"
    login(admin2, "admin")
    admin2.post(f"/admin/users/{users['acc']}/two-factor/reset", data={"csrf_token": csrf_from(admin2, "/admin/users")})
    assert "acc has no second factor to reset." in admin2.get("/admin/users").get_data(as_text=True)


def test_users_reset_two_factor_from_the_command_line(app, users, runner, clock):
    sup = app.test_client()
    login(sup, "sup")
    enrol(app, sup, "sup", clock)
    result = runner.invoke(args=["users", "reset-two-factor", "sup"])
    assert result.exit_code == 0 and "Removed the second factor of sup" in result.output
    assert user_row(app, "sup")["totp_secret"] is None
    assert runner.invoke(args=["users", "reset-two-factor", "sup"]).exit_code != 0


def test_a_reset_link_does_not_skip_the_second_factor(app, users, clock):
    sup = app.test_client()
    login(sup, "sup")
    secret, _codes = enrol(app, sup, "sup", clock)
    admin = app.test_client()
    login(admin, "admin")
    path = link_in(admin.post(f"/admin/users/{users['sup']}/reset-link",
                              data={"csrf_token": csrf_from(admin, "/admin/users")}))
    person = app.test_client()
    done = choose(person, path)
    assert done.status_code == 302 and done.headers["Location"] == "/login/code"
    assert person.get("/api/v1/session").status_code == 401
    clock.now += 30
    assert code_step(person, code_at(secret, clock.now)).status_code == 302
    assert person.get("/api/v1/session").get_json()["user"] == "sup"


def test_a_password_hash_renewed_at_sign_in_does_not_lose_the_second_step(app, users, clock):
    from werkzeug.security import generate_password_hash

    client = app.test_client()
    login(client, "acc")
    secret, _codes = enrol(app, client, "acc", clock)
    db = connect(app.config["DATABASE"])
    users_db.update_user(db, users["acc"], password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    db.conn.close()
    other = app.test_client()
    password_step(other, "acc")
    assert code_step(other, code_at(secret, clock.now + 30)).status_code == 302
