"""Sign-in, sign-out, the first-administrator setup page, throttling and role checks (the one-time setup link:
accounts/setup.py)."""
from __future__ import annotations

import hashlib
import math
import secrets
import sys
import time
import unicodedata
from datetime import timedelta
from functools import cache, wraps
from urllib.parse import unquote, urlsplit

import click
from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from .account_forms import SignInCodeForm
from .accounts import two_factor
from .accounts.audit import record as audit
from .db import get_db, transaction
from .db import settings as settings_db
from .db import users as users_db
from .forms import LoginForm, SetupForm
from .organisation import is_named, organisation_name, paper_size
from .passwords import password_problem
from .rate_limit import address_key
from .runs import Actor, policy

bp = Blueprint("auth", __name__)
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
        from .api.errors import api_error

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

def _clock() -> float:
    """The time for throttling; tests replace it to move time on without sleeping."""
    return time.time()


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; an (account, address) pair that keeps failing must wait longer and longer (429, Retry-After)."""
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        username = form.username.data.strip()
        address = address_key(request.remote_addr)
        db, now = get_db(), _clock()
        window = current_app.config["LOGIN_WINDOW_SECONDS"]
        wait = begin_password_attempt(db, username, address, now)
        if wait > 0:
            seconds = math.ceil(wait)
            form.password.errors.append(
                _("Too many failed attempts. Wait %(wait)s and try again.", wait=_wait_text(seconds)))
            status, headers = 429, {"Retry-After": str(seconds)}
        else:
            row = users_db.find_user(db, username)
            # An invited person who has not chosen a password yet is refused like an unknown name.
            known = row is not None and bool(row["active"]) and users_db.has_password(row)
            # The same hashing work for an unknown or inactive account as for an active one.
            stored = row["password_hash"] if known else _dummy_hash()
            if check_password_hash(stored, form.password.data) and known:
                users_db.clear_login_failures(db, username, now - window, address=address)
                if _hash_method(stored) != _hash_method(_dummy_hash()):  # made with older settings: renew
                    users_db.update_user(db, row["id"], password_hash=hash_password(form.password.data))
                    row = users_db.get_user(db, row["id"])
                if two_factor.enrolled(row):  # not signed in yet: the code comes first
                    start_second_step(row, request.args.get("next"))
                    return redirect(url_for("auth.login_code"))
                sign_in(row)
                return redirect(_safe_next(request.args.get("next")))
            form.password.errors.append(_("The username or password is not right."))
            status = 401
    return render_template("auth/login.html", form=form), status, headers


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


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in; throttled like passwords (429 with Retry-After)."""
    row, pending = pending_second_step()
    if row is None:
        if pending is not None:
            session.pop(PENDING, None)
            flash(_("Signing in took too long. Sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = SignInCodeForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        db = get_db()
        checked = two_factor.check_sign_in_code(db, row, form.code.data, address_key(request.remote_addr))
        if checked.accepted:
            next_target = pending.get("next")
            sign_in(users_db.get_user(db, row["id"]))
            if checked.recovery_code:
                from .db import accounts as accounts_db

                left = accounts_db.recovery_codes_left(db, row["id"])
                audit(db, "recovery_code_used", row, detail=f"{left} left")
                flash(ngettext("You signed in with a recovery code. %(num)d recovery code is left: make new ones "
                               "on your account page.",
                               "You signed in with a recovery code. %(num)d recovery codes are left: make new ones "
                               "on your account page.", left), "info")
            return redirect(_safe_next(next_target))
        if checked.wait:
            form.code.errors.append(
                _("Too many failed attempts. Wait %(wait)s and try again.", wait=_wait_text(checked.wait)))
            status, headers = 429, {"Retry-After": str(checked.wait)}
        elif checked.replayed:
            form.code.errors.append(_("That code was used already. Wait for the next code in your app."))
            status = 401
        else:
            form.code.errors.append(_("That code is not right. Check the app shows the account for this site, "
                                      "and that the phone's clock is right."))
            status = 401
    return render_template("auth/login_code.html", form=form), status, headers


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks for confirmation (unsent changes are checked on the phone); POST signs out."""
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf
        from wtforms import ValidationError

        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400)
        if current_user.is_authenticated:  # end it on the server too: any copy of the cookie is now void
            users_db.end_sign_in(get_db(), _token_hash(current_user.sign_in))
        logout_user()
        flash(_("You are signed out."), "success")
        response = redirect(url_for("auth.login"))
        if request.form.get("wipe"):  # a shared phone: the browser drops this site's caches, storage and worker
            response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response
    return render_template("auth/logout.html")


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first administrator with the one-time token printed on the console."""
    db = get_db()
    token = request.values.get("token", "")
    if users_db.count_active_admins(db) or not token or not users_db.setup_token_valid(db, _token_hash(token)):
        return render_template("auth/setup_closed.html"), 404
    form = SetupForm(token=token)
    if request.method == "GET":  # an environment-configured name is offered, never the placeholder
        form.organisation_name.data = organisation_name() if is_named() else ""
        form.page_size.data = paper_size()
    form.set_time_zone_choices()
    if form.validate_on_submit():
        with transaction(db):
            if not users_db.use_setup_token(db, _token_hash(token)) or users_db.count_active_admins(db):
                return render_template("auth/setup_closed.html"), 404
            if users_db.find_user(db, form.username.data.strip()):
                form.username.errors.append(_("That username is taken."))
            else:
                user_id = users_db.create_user(db, form.username.data.strip(),
                                               hash_password(form.password.data), "admin")
                # Saved before any record is signed: a signing key made from now on carries this name.
                settings_db.save_settings(db, form.organisation_name.data, form.time_zone.data,
                                          form.page_size.data, form.username.data.strip())
        if not form.username.errors:
            sign_in(users_db.get_user(db, user_id))
            flash(_("Your administrator account is ready. Add the other users next."), "success")
            return redirect(url_for("admin.users"))
    return render_template("auth/setup.html", form=form)


users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(users_db.ROLES), required=True, help="The user's role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--full-name", default=None, help="The person's full name (at most 120 characters).")
def create_user_command(username: str, role: str, password_stdin: bool, full_name: str | None) -> None:
    """Create a user with a role; the password is prompted for or read from stdin (for scripts: to let a person
    choose their own password, use `users invite`)."""
    from .account_forms import english, full_name_problem

    if full_name is not None and full_name_problem(full_name.strip(), english):
        raise click.ClickException(f"--full-name: {full_name_problem(full_name.strip(), english)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    db = get_db()
    if users_db.find_user(db, username):
        raise click.ClickException(f"user {username!r} exists already")
    with transaction(db):
        user_id = users_db.create_user(db, username, hash_password(password), role,
                                       full_name.strip() if full_name else None)
        audit(db, "user_created", users_db.get_user(db, user_id), detail=role)
    click.echo(f"Created {role} {username}.")


def init_app(app: Flask) -> None:
    from .accounts import commands, setup, views

    if setup.serving():
        _dummy_hash()  # made now, so that the first sign-in for an unknown name does not take longer
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(views.bp)
    two_factor.init_app(app)
    commands.add_to(users_cli)
    users_cli.add_command(setup.setup_link_command)
    app.cli.add_command(users_cli)
    setup.announce_setup(app)
