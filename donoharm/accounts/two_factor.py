"""Two-step sign-in: TOTP codes (RFC 6238, through pyotp), one-time recovery codes, throttling, and the rule
that sends people whose role needs a second factor to set one up before anything else.

A code is accepted for the current 30-second time step and one step either side (a phone clock a little off);
the step of each accepted code is stored, and no code of that step or an earlier one is accepted again, so a
code seen over someone's shoulder is useless once used. The secret is stored readable (the server must compute
the codes): it is as sensitive as the database. Recovery codes are stored as SHA-256 hashes of
"user id:code" (each holds 60 random bits) and work once each.

Throttling works as for passwords (auth.py), on a table of its own: failures of one (account, address) pair
beyond TWO_FACTOR_PAIR_FAILURES make that pair wait 2^k seconds from its latest failure; and, since whoever
reaches this step knows the password already, failures of the account from anywhere beyond
TWO_FACTOR_ACCOUNT_FAILURES make every address wait 2^k seconds from the account's latest failure (an
attacker with many addresses gets no more guesses than one). Waits are capped at LOGIN_MAX_DELAY_SECONDS.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyotp
from flask import Flask, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlite_utils import Database

from ..db import accounts as accounts_db
from ..db import transaction
from ..db import users as users_db
from ..runs import policy
from . import iso, utc_now

STEP_SECONDS = 30
VALID_WINDOW = 1  # steps either side of the current one
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 3, 4
SETTINGS = ("reviewers", "all", "none")
REVIEWER_ROLES = policy.REVIEWERS
ISSUER = "Do No Harm"


def _clock() -> float:
    """The time codes are checked at; tests replace it to move time on without sleeping."""
    return time.time()


# --- TOTP --------------------------------------------------------------------------------------------------

def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def looks_like_totp(code: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{6}", _digits(code)))


@dataclass(frozen=True)
class TotpMatch:
    step: int
    replayed: bool  # the code is right but its step (or a later one) was used already


def match_totp(secret: str, code: str, now: float, last_step: int | None = None) -> TotpMatch | None:
    """The time step whose code `code` is, within one step of `now`; None if it is none of them."""
    code = _digits(code)
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return TotpMatch(step, last_step is not None and step <= last_step)
    return None


def provisioning_uri(secret: str, username: str, host: str | None) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    name = f"{username}@{host}" if host else username
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=name, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data: URI (made here: the page loads nothing from elsewhere)."""
    import segno  # here, not at start: only these pages draw a QR code

    return segno.make(text, error="m").svg_data_uri(scale=5, border=4, dark="#0b0c0c", light="#ffffff")


def host_of(root: str | None) -> str | None:
    return urlsplit(root).hostname if root else None


# --- Recovery codes ------------------------------------------------------------------------------------------

def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    length = RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH
    codes = []
    for _i in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _j in range(length))
        codes.append("-".join(raw[i:i + RECOVERY_GROUP_LENGTH] for i in range(0, length, RECOVERY_GROUP_LENGTH)))
    return codes


def recovery_code_hash(user_id: int, code: str) -> str:
    normalised = re.sub(r"[\s-]", "", (code or "").lower())
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()


def store_recovery_codes(db: Database, user_id: int) -> list[str]:
    """Make a user's ten new recovery codes (their old ones stop working); return them to show once."""
    codes = new_recovery_codes()
    accounts_db.replace_recovery_codes(db, user_id, [recovery_code_hash(user_id, code) for code in codes])
    return codes


# --- Who needs a second factor ---------------------------------------------------------------------------------

def setting(app: Flask | None = None) -> str:
    app = app or current_app
    return app.config.get("REQUIRE_2FA") or "reviewers"


def required_for(role: str) -> bool:
    """Whether DONOHARM_REQUIRE_2FA makes this role set up a second factor."""
    value = setting()
    return value == "all" or (value == "reviewers" and role in REVIEWER_ROLES)


def enrolled(row: dict) -> bool:
    return bool(row.get("totp_secret"))


# --- Checking a code at sign-in, throttled ------------------------------------------------------------------------

def retry_after(db: Database, user_id: int, address: str, now: float) -> float:
    """Seconds this (account, address) pair must still wait before its next code is checked; 0 if none."""
    config = current_app.config
    window = config["LOGIN_WINDOW_SECONDS"]
    counts = accounts_db.second_factor_failure_counts(db, user_id, address, now - window)
    cap = min(config["LOGIN_MAX_DELAY_SECONDS"], window)
    until = 0.0
    for count, latest, allowed in ((counts["pair"], counts["pair_latest"], config["TWO_FACTOR_PAIR_FAILURES"]),
                                   (counts["account"], counts["account_latest"],
                                    config["TWO_FACTOR_ACCOUNT_FAILURES"])):
        steps = count - allowed
        if count and steps >= 0:
            until = max(until, latest + min(2.0 ** min(steps, 40), cap))
    return max(0.0, until - now)


@dataclass(frozen=True)
class CodeCheck:
    accepted: bool
    wait: int = 0  # seconds to wait: the code was not checked
    recovery_code: bool = False  # accepted as a recovery code
    replayed: bool = False  # a TOTP code of a step used already


def check_sign_in_code(db: Database, row: dict, code: str, address: str) -> CodeCheck:
    """Check the code typed at the second step of signing in: a TOTP code or a recovery code.

    As for passwords, an attempt that goes ahead counts as a failure from the start (so attempts sent all at once
    count each other) and is forgotten again if the code is right."""
    now = _clock()
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    with transaction(db):
        wait = retry_after(db, row["id"], address, now)
        if wait <= 0:
            accounts_db.record_second_factor_failure(db, row["id"], address, now, forget_before=now - window)
    if wait > 0:
        return CodeCheck(False, wait=max(1, math.ceil(wait)))
    accepted, recovery, replayed = False, False, False
    if looks_like_totp(code):
        found = match_totp(row["totp_secret"], code, now, row.get("totp_last_step"))
        if found is not None and not found.replayed:
            accepted = users_db.use_totp_step(db, row["id"], found.step)
            replayed = not accepted
        elif found is not None:
            replayed = True
    else:
        accepted = recovery = accounts_db.use_recovery_code(db, row["id"], recovery_code_hash(row["id"], code),
                                                            iso(utc_now()))
    if accepted:
        accounts_db.clear_second_factor_failures(db, row["id"], address)
    return CodeCheck(accepted, recovery_code=recovery, replayed=replayed)


# --- Sending people who must set it up to the set-up page ------------------------------------------------------

# Open to a signed-in person who must set up a second factor and has not: their own account (the set-up page,
# changing their password, the language), signing out, the sign-in and link pages, and what the browser fetches
# by itself. Everything else sends them to the set-up page (the API answers 403).
OPEN_BLUEPRINTS = frozenset({"auth", "account", "accounts"})
OPEN_ENDPOINTS = frozenset({"static", "pwa.service_worker", "pwa.manifest", "pwa.offline", "health.healthz"})
JSON_ENDPOINTS = frozenset({"pwa.precache"})


def needs_enrolment() -> bool:
    """The signed-in person's role needs a second factor and they have none yet."""
    return (getattr(current_user, "is_authenticated", False) and not current_user.two_factor
            and required_for(current_user.role))


def enforce_enrolment():
    """before_request: send a person who must set up a second factor to the set-up page first."""
    if request.endpoint is None or request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if not needs_enrolment():
        return None
    if request.path.startswith("/api/") or request.endpoint in JSON_ENDPOINTS:
        from ..api.errors import api_error

        return api_error(403, "two_factor_required",
                         _("Set up two-step sign-in on your account page first: your role needs it."))
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("account.two_factor_setup", next=target))


def init_app(app: Flask) -> None:
    app.config.setdefault("REQUIRE_2FA", "reviewers")
    app.config.setdefault("TWO_FACTOR_PAIR_FAILURES", 3)
    app.config.setdefault("TWO_FACTOR_ACCOUNT_FAILURES", 10)
    app.config.setdefault("TWO_FACTOR_PENDING_SECONDS", 10 * 60)  # to type the code after the password
    app.before_request(enforce_enrolment)
    from . import account_time

    app.add_template_filter(account_time)

    @app.context_processor
    def two_factor_context():
        warn = (getattr(current_user, "is_authenticated", False) and current_user.role == "admin"
                and setting(app) == "none")
        return {"two_factor_off_warning": warn}
