"""Sign-in, sign-out and the first-administrator setup pages, and the `users` commands (the one-time setup link:
accounts/setup.py). Who is signed in and the role check are in accounts/sign_ins.py, throttling, the page after
signing in and the pending second step in accounts/sign_in_checks.py; their names stay importable from here."""
from __future__ import annotations

import math
import sys
import time

import click
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user
from werkzeug.security import check_password_hash

from ..db import get_db, transaction
from ..db import settings as settings_db
from ..db import users as users_db
from ..services.organisation import is_named, organisation_name, paper_size
from ..web.forms import LoginForm, SetupForm
from ..web.rate_limit import address_key
from . import two_factor
from .audit import record as audit
from .forms import SignInCodeForm
from .passwords import password_problem
from .sign_in_checks import (  # noqa: F401  (importable from auth, as before)
    PENDING,
    _password_fingerprint,
    _retry_after,
    _safe_next,
    _unsafe_character,
    _wait_text,
    begin_password_attempt,
    pending_second_step,
    start_second_step,
)
from .sign_ins import (  # noqa: F401  (importable from auth, as before)
    SESSION_KEPT_AT_SIGN_IN,
    User,
    _dummy_hash,
    _fresh_session,
    _hash_method,
    _idle_seconds,
    _token_hash,
    hash_password,
    load_user,
    login_manager,
    roles_required,
    sign_in,
    unauthorized,
)

bp = Blueprint("auth", __name__)


def _clock() -> float:
    """The time for throttling; tests replace it to move time on without sleeping."""
    return time.time()


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
                from ..db import accounts as accounts_db

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
    from .forms import english, full_name_problem

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
    from . import commands, setup, views

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
