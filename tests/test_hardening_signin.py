"""Sign-in hardening (issue 13, items 4, 6, 7 and 13): where sign-in may send you, the same hashing work for
unknown accounts, throttling that slows guessing without locking the owner out, and a new CSRF token."""
from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest
from werkzeug.security import generate_password_hash

from donoharm.accounts import auth
from donoharm.db import connect
from donoharm.db import users as users_db
from donoharm.web.rate_limit import address_key

from .conftest import PASSWORD, csrf_from

WRONG = "not the password at all"
ATTACKER, OWNER, THIRD = "192.0.2.66", "198.51.100.7", "203.0.113.9"  # documentation addresses


class Clock:
    """The throttling clock, moved on by hand instead of sleeping."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(auth, "_clock", clock)
    return clock


def attempt(app, username, password=PASSWORD, address=OWNER, path="/login"):
    """One sign-in from an address, in a new browser: the form fetched, then posted."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post(path, data={"username": username, "password": password,
                                       "csrf_token": csrf_from(client, "/login")})
    response.client = client
    return response


def retry_after(response) -> int:
    assert response.status_code == 429, response.status_code
    return int(response.headers["Retry-After"])


def record_failures(app, username, address, count, at):
    """Failures noted as the sign-in view notes them, for attacks too long to run through HTTP in a test."""
    db = connect(app.config["DATABASE"])
    for _ in range(count):
        users_db.record_login_failure(db, username, address, at)
    db.conn.close()


def counts(app, username, address, now):
    db = connect(app.config["DATABASE"])
    try:
        return users_db.login_failure_counts(db, username, address, now - app.config["LOGIN_WINDOW_SECONDS"])
    finally:
        db.conn.close()


# --- 4. Where sign-in sends you ----------------------------------------------------------------------------

HOSTILE_NEXT = [  # as they appear in the query string of /login?next=…
    "/%09/evil.example/phish",  # the reported one: browsers drop the tab and read //evil.example
    "//evil.example/phish",
    "///evil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",  # browsers read \ as /
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "/%0D/evil.example",
    "/%0A/evil.example",
    "/%0d%0a/evil.example",
    "/%00/evil.example",
    "/%7F/evil.example",  # DEL
    "/%C2%85/evil.example",  # C1 (NEL)
    "/%2509/evil.example",  # encoded twice: decodes to a tab
    "/%252F/evil.example",  # encoded twice: decodes to //
    "/%255C/evil.example",
    "%20/%20/evil.example",  # leading whitespace
    "%09//evil.example",
    "https://evil.example/phish",
    "http:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt%3Aalert(1)",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)",
    "data:text/html,phish",
    "evil.example/phish",
    "//user@evil.example",
    "",
]


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_a_hostile_next_sends_you_home_after_signing_in(app, users, value):
    response = attempt(app, "acc", path=f"/login?next={value}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert response.client.get("/").status_code == 200  # signed in all the same


@pytest.mark.parametrize("value", ["/runs/abc?x=1", "/runs/abc?x=1&y=%2F%2Fnot-a-host", "/protocols",
                                   "/runs/new?protocol=a:b", "/account"])
def test_a_path_on_this_site_is_kept(app, users, value):
    response = attempt(app, "acc", path=f"/login?next={quote(value, safe='')}")
    assert response.status_code == 302 and response.headers["Location"] == value


def test_the_next_made_when_sign_in_is_needed_comes_back_after_signing_in(app, users):
    run_id = str(uuid.uuid4())
    anonymous = app.test_client()
    response = anonymous.get(f"/runs/{run_id}?x=1&y=two")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = anonymous.post(login_url, data={"username": "acc", "password": PASSWORD,
                                               "csrf_token": csrf_from(anonymous, login_url)})
    assert response.status_code == 302 and response.headers["Location"] == f"/runs/{run_id}?x=1&y=two"
    # Without a query string too.
    fresh = app.test_client()
    login_url = fresh.get("/account").headers["Location"]
    response = fresh.post(login_url, data={"username": "acc", "password": PASSWORD,
                                           "csrf_token": csrf_from(fresh, login_url)})
    assert response.headers["Location"] == "/account"


# --- 6. The same hashing work whether the account exists or not ----------------------------------------------

@pytest.fixture
def hash_checks(monkeypatch):
    calls = []
    real = auth.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    return calls


def test_unknown_and_inactive_accounts_cost_one_hash_check_like_a_known_one(app, users, hash_checks, clock):
    db = connect(app.config["DATABASE"])
    users_db.update_user(db, users["acc2"], active=0)
    db.conn.close()
    made = {}
    for name, address in [("acc", "192.0.2.1"), ("nobody", "192.0.2.2"), ("acc2", "192.0.2.3")]:
        before = len(hash_checks)
        response = attempt(app, name, WRONG, address=address)
        made[name] = len(hash_checks) - before
        assert response.status_code == 401
        assert "The username or password is not right." in response.get_data(as_text=True)
    assert made == {"acc": 1, "nobody": 1, "acc2": 1}
    # The right password of a deactivated account is checked once too, and refused in the same words.
    before = len(hash_checks)
    response = attempt(app, "acc2", PASSWORD, address="192.0.2.4")
    assert response.status_code == 401 and len(hash_checks) - before == 1
    # The unknown and inactive accounts were checked against a hash made as hash_password makes them.
    dummy = hash_checks[1]
    assert hash_checks[2] == dummy != hash_checks[0]
    assert auth._hash_method(dummy) == auth._hash_method(auth.hash_password("x")) == auth._hash_method(
        generate_password_hash("x"))


def test_a_throttled_answer_does_not_tell_whether_the_account_exists(app, users, hash_checks, clock):
    for name in ("acc", "nobody"):
        for _ in range(app.config["LOGIN_PAIR_FAILURES"]):
            assert attempt(app, name, WRONG, address=ATTACKER).status_code == 401
    before = len(hash_checks)
    known, unknown = attempt(app, "acc", WRONG, address=ATTACKER), attempt(app, "nobody", WRONG, address=ATTACKER)
    assert len(hash_checks) == before  # not checked at all while waiting
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"] == "1"
    assert "Wait 1 second and try again." in known.get_data(as_text=True)
    values = re.compile(r'value="[^"]*"')  # the username typed and each form's own CSRF token
    assert values.sub("", known.get_data(as_text=True)) == values.sub("", unknown.get_data(as_text=True))


def test_a_password_hashed_with_older_settings_is_renewed_at_sign_in(app, clock):
    db = connect(app.config["DATABASE"])
    users_db.create_user(db, "old", generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"), "accompanier")
    assert attempt(app, "old").status_code == 302
    renewed = users_db.find_user(db, "old")["password_hash"]
    db.conn.close()
    assert auth._hash_method(renewed) == auth._hash_method(auth._dummy_hash())
    assert attempt(app, "old").status_code == 302


# --- 7. Throttling without a lockout -------------------------------------------------------------------------

def test_fifty_guesses_from_one_address_do_not_keep_the_owner_out(app, users, clock):
    record_failures(app, "acc", ATTACKER, 50, clock.now)
    assert counts(app, "acc", ATTACKER, clock.now)["pair"] == 50
    # The owner, from an address that has not been guessing, signs in at once.
    assert attempt(app, "acc", address=OWNER).status_code == 302
    # From the attacker's address even the right password waits, and the answer says how long.
    response = attempt(app, "acc", PASSWORD, address=ATTACKER)
    assert retry_after(response) == app.config["LOGIN_MAX_DELAY_SECONDS"] == 900
    assert "Too many failed attempts. Wait 15 minutes and try again." in response.get_data(as_text=True)
    # Waiting while being told to wait does not make the wait longer.
    clock.now += 600
    assert retry_after(attempt(app, "acc", WRONG, address=ATTACKER)) == 300
    assert "Wait 5 minutes" in attempt(app, "acc", PASSWORD, address=ATTACKER).get_data(as_text=True)
    # Once the wait is over the guesser may guess once more, and then waits the longest wait again: the
    # failures are remembered for longer than the longest wait, so waiting does not earn fresh free guesses.
    clock.now += 300
    assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    assert retry_after(attempt(app, "acc", PASSWORD, address=ATTACKER)) == 900
    # And the right password works from there too once the wait is over.
    clock.now += 900
    assert attempt(app, "acc", PASSWORD, address=ATTACKER).status_code == 302


def test_the_wait_of_a_guessing_pair_doubles_up_to_the_cap_and_then_ends(app, users, clock):
    app.config["LOGIN_MAX_DELAY_SECONDS"] = 30
    for _ in range(app.config["LOGIN_PAIR_FAILURES"] - 1):
        assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    assert attempt(app, "acc", PASSWORD, address=ATTACKER).status_code == 302  # two typos cost nothing
    for _ in range(app.config["LOGIN_PAIR_FAILURES"]):  # the success forgot them: three more
        assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    waits = []
    for _ in range(7):
        wait = retry_after(attempt(app, "acc", WRONG, address=ATTACKER))
        waits.append(wait)
        clock.now += wait - 0.5
        assert retry_after(attempt(app, "acc", WRONG, address=ATTACKER)) == 1  # half a second early: still no
        clock.now += 0.5
        assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    response = attempt(app, "acc", PASSWORD, address=ATTACKER)
    assert retry_after(response) == 30 and "Wait 30 seconds" in response.get_data(as_text=True)
    clock.now += 30
    assert attempt(app, "acc", PASSWORD, address=ATTACKER).status_code == 302
    assert counts(app, "acc", ATTACKER, clock.now)["pair"] == 0  # signing in forgets that pair's failures


def test_a_success_forgets_only_its_own_addresss_failures(app, users, clock):
    for _ in range(3):
        assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    assert attempt(app, "acc", WRONG, address=OWNER).status_code == 401
    assert attempt(app, "acc", PASSWORD, address=OWNER).status_code == 302
    assert counts(app, "acc", OWNER, clock.now)["pair"] == 0
    assert counts(app, "acc", ATTACKER, clock.now)["pair"] == 3
    assert retry_after(attempt(app, "acc", WRONG, address=ATTACKER)) == 1  # no fresh guesses for the attacker


def test_many_failures_from_one_address_slow_it_down_only_on_accounts_it_failed_on(app, users, clock):
    """A carrier address shared by a field team: a guesser behind it does not keep the others out."""
    app.config.update(LOGIN_ADDRESS_FAILURES=6, LOGIN_PAIR_FAILURES=100)
    for name in ("ghost1", "ghost2", "ghost3", "acc2"):
        assert attempt(app, name, WRONG, address=ATTACKER).status_code == 401
    assert attempt(app, "ghost1", WRONG, address=ATTACKER).status_code == 401  # 5 from the address: no wait yet
    assert attempt(app, "sup", WRONG, address=ATTACKER).status_code == 401  # 6: the ceiling
    clock.now += 0.5
    for name in ("ghost2", "acc2", "sup"):
        assert retry_after(attempt(app, name, PASSWORD, address=ATTACKER)) == 1
    # Colleagues behind the same address who have not failed sign in at once, even above the ceiling.
    assert attempt(app, "acc", address=ATTACKER).status_code == 302
    assert attempt(app, "trainer", address=ATTACKER).status_code == 302
    # Elsewhere the accounts it failed on are not slowed by it.
    assert attempt(app, "acc2", address=OWNER).status_code == 302
    # Its next failures double its wait.
    clock.now += 1
    assert attempt(app, "ghost2", WRONG, address=ATTACKER).status_code == 401
    assert retry_after(attempt(app, "ghost2", WRONG, address=ATTACKER)) == 2
    assert retry_after(attempt(app, "sup", PASSWORD, address=ATTACKER)) == 1  # counted from its own last failure
    clock.now += 2
    assert attempt(app, "sup", PASSWORD, address=ATTACKER).status_code == 302


def test_many_failures_on_one_account_slow_only_the_addresses_that_failed_on_it(app, users, clock):
    """Guesses spread over many addresses: each that failed waits; one that did not signs in at once."""
    app.config.update(LOGIN_ACCOUNT_FAILURES=4, LOGIN_PAIR_FAILURES=100)
    addresses = [f"192.0.2.{n}" for n in range(10, 14)]
    for address in addresses:
        assert attempt(app, "acc", WRONG, address=address).status_code == 401
    for address in addresses:
        assert retry_after(attempt(app, "acc", PASSWORD, address=address)) == 1
    assert attempt(app, "acc", address=OWNER).status_code == 302  # no failure from here: at once
    assert attempt(app, "acc2", address=addresses[0]).status_code == 302  # other accounts are not slowed
    clock.now += 1
    assert attempt(app, "acc", PASSWORD, address=addresses[0]).status_code == 302


def test_a_few_failures_from_an_address_do_not_slow_it_on_another_account(app, users, clock):
    for _ in range(app.config["LOGIN_PAIR_FAILURES"]):
        assert attempt(app, "acc2", WRONG, address=OWNER).status_code == 401
    assert attempt(app, "acc", address=OWNER).status_code == 302
    assert retry_after(attempt(app, "acc2", PASSWORD, address=OWNER)) == 1


def test_failures_older_than_the_window_are_forgotten(app, users, clock):
    record_failures(app, "acc", ATTACKER, 30, clock.now)
    clock.now += app.config["LOGIN_WINDOW_SECONDS"] + 1
    assert attempt(app, "acc", WRONG, address=THIRD).status_code == 401  # noting a failure forgets old ones
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 1
    db.conn.close()
    assert attempt(app, "acc", PASSWORD, address=ATTACKER).status_code == 302


# --- 13. A new CSRF token at sign-in -------------------------------------------------------------------------

def put_run(client, token):
    return client.put(f"/api/v1/runs/{uuid.uuid4()}", headers={"X-CSRFToken": token},
                      json={"protocol_id": "immigration-separation", "protocol_version": "1.0.0",
                            "label": "OP-TEST-001", "mode": "practice"})


def test_the_csrf_token_from_before_sign_in_is_refused_after_it(app, users):
    client = app.test_client()
    old = csrf_from(client, "/login")
    response = client.post("/login", data={"username": "acc", "password": PASSWORD, "csrf_token": old})
    assert response.status_code == 302
    set_cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert set_cookie and "Expires=" in set_cookie[0]  # still a lasting cookie: the idle timeout applies
    refused = put_run(client, old)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"
    assert client.post("/logout", data={"csrf_token": old}).status_code == 400
    new = client.get("/api/v1/session").get_json()["csrf_token"]
    assert new != old
    assert put_run(client, new).status_code == 201
    assert csrf_from(client, "/account") != old
    assert client.post("/logout", data={"csrf_token": new}).status_code == 302


def test_the_csrf_token_from_the_setup_page_is_refused_after_setup_signs_in(app):
    client = app.test_client()
    token = app.extensions["donoharm.setup_token"]
    path = f"/setup?token={token}"
    old = csrf_from(client, path)
    response = client.post(path, data={"csrf_token": old, "token": token, "username": "boss",
                                       "password": "field lantern basement 7", "confirm": "field lantern basement 7",
                                       "organisation_name": "Example Organisation (test)"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    # The message flashed after signing in is kept by the fresh session.
    assert "Your administrator account is ready" in client.get("/admin/users").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": old}).status_code == 400
    new = client.get("/api/v1/session").get_json()["csrf_token"]
    assert new != old
    assert client.post("/logout", data={"csrf_token": new}).status_code == 302


def test_an_ipv6_host_cannot_get_fresh_addresses_from_its_own_network(app, users, clock):
    for n in range(app.config["LOGIN_PAIR_FAILURES"]):
        assert attempt(app, "acc", WRONG, address=f"2001:db8:1:2::{n + 1}").status_code == 401
    assert retry_after(attempt(app, "acc", PASSWORD, address="2001:db8:1:2:ffff::9")) == 1  # same /64
    assert attempt(app, "acc", address="2001:db8:1:3::1").status_code == 302  # another network
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("fe80::1%eth0") == "fe80::/64" and address_key(None) == "unknown"


def test_an_attempt_counts_as_a_failure_while_it_is_being_checked(app, users, clock, monkeypatch):
    """Guesses sent all at once cannot all slip through before the first of them is counted."""
    seen = []
    real = auth.check_password_hash

    def checking(stored, password):
        seen.append(counts(app, "acc", ATTACKER, clock.now)["pair"])
        return real(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", checking)
    assert attempt(app, "acc", WRONG, address=ATTACKER).status_code == 401
    assert attempt(app, "acc", PASSWORD, address=ATTACKER).status_code == 302
    assert seen == [1, 2]  # each attempt was counted before its password was checked
    assert counts(app, "acc", ATTACKER, clock.now)["pair"] == 0  # and the right one forgot them all
