"""The rules of signing in that are not pages: throttling password guesses, where to go after signing in, and
the state of a sign-in waiting for its second step (the pages are in auth.py)."""
from __future__ import annotations

import hashlib
import math
import time
import unicodedata
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from flask import current_app, session, url_for
from flask_babel import format_timedelta

from ..db import get_db, transaction
from ..db import users as users_db
from . import two_factor
from .sign_ins import _fresh_session

# --- Throttling guesses without locking anyone out -------------------------------------------------------
#
# Failed sign-ins are counted in the last LOGIN_WINDOW_SECONDS per (account, address) pair, per address and
# per account. Only a pair that has failed in the window is ever made to wait, and it waits from its own
# latest failure for 2 ** k seconds (at most LOGIN_MAX_DELAY_SECONDS, and never longer than the window),
# where k is the largest of
#   pair failures - LOGIN_PAIR_FAILURES,
#   failures from the address (any account) - LOGIN_ADDRESS_FAILURES,
#   failures on the account (any address) - LOGIN_ACCOUNT_FAILURES,
# and no wait at all while all three are negative. So an address with no recent failure on an account signs
# in to it at once, however hard the account is attacked from elsewhere and however often that address has
# failed on other accounts. An attempt made while waiting is answered 429 with Retry-After, is not checked
# and is not counted. The counts are kept by the username as typed, so they are the same for an account
# that does not exist; an address is an IPv4 address or an IPv6 /64 network. Signing in forgets the
# failures of that account from that address only.


def _retry_after(username: str, address: str, now: float) -> float:
    """Seconds this (account, address) pair must still wait before its next attempt is checked; 0 if none."""
    config = current_app.config
    window = config["LOGIN_WINDOW_SECONDS"]
    counts = users_db.login_failure_counts(get_db(), username, address, now - window)
    if not counts["pair"]:
        return 0.0
    steps = max(counts["pair"] - config["LOGIN_PAIR_FAILURES"],
                counts["address"] - config["LOGIN_ADDRESS_FAILURES"],
                counts["account"] - config["LOGIN_ACCOUNT_FAILURES"])
    if steps < 0:
        return 0.0
    delay = min(2.0 ** min(steps, 40), config["LOGIN_MAX_DELAY_SECONDS"], window)
    return max(0.0, counts["pair_latest"] + delay - now)


def begin_password_attempt(db, username: str, address: str, now: float) -> float:
    """Seconds this (username, address) must still wait, or 0 when it may try a password now.

    Decided before the account is looked up, on counts kept by the username as typed, so the answer is the same
    whether the account exists or not. An attempt that goes ahead counts as a failure from the start, in the same
    transaction, so that attempts sent all at once are counted by each other; the caller forgets it again when
    the password is right."""
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    with transaction(db):
        wait = _retry_after(username, address, now)
        if wait <= 0:
            users_db.record_login_failure(db, username, address, now, forget_before=now - window)
    return wait


def _wait_text(seconds: int) -> str:
    """'45 seconds', '2 minutes' in the reader's language; rounded up so nobody comes back too early."""
    if seconds >= 60:
        seconds = math.ceil(seconds / 60) * 60
    return format_timedelta(timedelta(seconds=seconds), threshold=1)


# --- Where to go after signing in --------------------------------------------------------------------------


def _unsafe_character(char: str) -> bool:
    # Browsers drop tab, CR and LF anywhere in a URL and read "\" as "/"; refuse every control character.
    return char == "\\" or unicodedata.category(char) == "Cc"


def _safe_next(target: str | None) -> str:
    """The path to go to after signing in: `target` if it is a path on this site, else the home page.

    Refused: anything but "/" then something other than "/" or "\\" (so "//host" and "/\\host"), any
    control character (C0 with tab, CR and LF, DEL, C1) or backslash, in the value or in what it decodes to
    (once or more), and anything urlsplit reads a scheme or a host in.
    """
    home = url_for("home.index")
    if not target or len(target) > 2048:
        return home
    forms, value = [target], target
    for _round in range(3):  # %2509 -> %09 -> tab
        decoded = unquote(value)
        if decoded == value:
            break
        forms.append(decoded)
        value = decoded
    for form in forms:
        if any(_unsafe_character(char) for char in form):
            return home
        if not form.startswith("/") or form.startswith("//"):
            return home
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return home
    return target


# --- The second step: the code from the authenticator app, or a recovery code -----------------------------------
#
# After the right password, a person with a second factor is not signed in: the session holds only which
# account is waiting for its code (PENDING), since when, and a fingerprint of the password hash it was
# checked against. No page that needs a sign-in opens with it; it lapses after TWO_FACTOR_PENDING_SECONDS,
# when the password changes, or when the account is deactivated.

PENDING = "pending_sign_in"


def _password_fingerprint(row: dict) -> str:
    return hashlib.sha256(row["password_hash"].encode()).hexdigest()[:16]


def start_second_step(row: dict, next_target: str | None) -> None:
    """Remember, in a fresh session, that `row` gave the right password and must now give a code."""
    _fresh_session()
    session[PENDING] = {"user": row["id"], "at": time.time(), "pw": _password_fingerprint(row),
                        "next": next_target if next_target and len(next_target) <= 2048 else None}


def pending_second_step() -> tuple[dict | None, dict | None]:
    """The account waiting for its code and the pending state, or (None, None) if there is none still valid."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    row = users_db.get_user(get_db(), pending.get("user", -1))
    age = time.time() - float(pending.get("at", 0))
    if (row is None or not row["active"] or not two_factor.enrolled(row) or not 0 <= age
            <= current_app.config["TWO_FACTOR_PENDING_SECONDS"] or pending.get("pw") != _password_fingerprint(row)):
        return None, pending
    return row, pending
