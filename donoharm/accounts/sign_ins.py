"""Who is signed in: the user loaded on each request from their sign-in's token, starting a sign-in in a fresh
session, the role check for views, and password hashes (the pages that sign in are in auth.py)."""
from __future__ import annotations

import hashlib
import secrets
import time
from functools import cache, wraps

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from werkzeug.security import generate_password_hash

from ..db import get_db
from ..db import users as users_db
from ..runs import Actor, policy

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."


class User(UserMixin):
    """The signed-in user, loaded from the database on each request through their sign-in's token."""

    def __init__(self, row: dict, sign_in: str):
        self.sign_in = sign_in  # the token the session cookie carries instead of the user id
        self.id = row["id"]
        self.username = row["username"]
        self.role = row["role"]
        self.active = bool(row["active"])
        self.language = row.get("language")
        self.protocols_seen_at = row.get("protocols_seen_at")
        self.full_name = row.get("full_name")
        self.two_factor = bool(row.get("totp_secret"))  # signs in with a second factor

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return self.sign_in

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)

    def can_read_all_runs(self) -> bool:
        return policy.may_review(self.role)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _idle_seconds() -> float:
    return current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The user of a sign-in that has not ended: not signed out, not idle too long, user still active."""
    db, now = get_db(), time.time()
    row = users_db.signed_in_user(db, _token_hash(token), now - _idle_seconds())
    if row is None:
        return None
    # Note activity now and then, not on every request: at most one write per tenth of the idle time.
    if now - row["last_seen"] > min(3600.0, _idle_seconds() / 10):
        users_db.touch_sign_in(db, _token_hash(token), now)
    return User(row, token)


# What a sign-in keeps of the session it replaces: only the person's language choice, if one is kept there.
SESSION_KEPT_AT_SIGN_IN = ("language",)


def _fresh_session() -> None:
    """Start the signed-in session afresh: above all a new CSRF token, so one seen before sign-in is void."""
    kept = {key: session[key] for key in SESSION_KEPT_AT_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    session.permanent = True  # clear() dropped it; PERMANENT_SESSION_LIFETIME is the idle timeout
    # Flask-WTF keeps the raw token in the session and the signed one for this request in g, both under this name.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def sign_in(row: dict) -> None:
    """Start a sign-in for a user row and put its token in a fresh session."""
    _fresh_session()
    token = secrets.token_urlsafe(32)
    users_db.start_sign_in(get_db(), row["id"], _token_hash(token), time.time(), _idle_seconds())
    login_user(User(row, token))


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        from ..api.errors import api_error

        return api_error(401, "unauthorized", "sign in first")
    flash(_("Sign in to continue."), "info")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def roles_required(*roles: str):
    """Allow a view only to signed-in users with one of the roles."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of a random password, made once per process the way hash_password makes them.

    Checking a password against it for an unknown or inactive user costs what checking a real user's does,
    so the time sign-in takes does not tell whether a username exists.
    """
    return hash_password(secrets.token_urlsafe(32))


def _hash_method(password_hash: str) -> str:
    return password_hash.split("$", 1)[0]  # e.g. "scrypt:32768:8:1"
