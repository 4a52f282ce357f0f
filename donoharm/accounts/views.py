"""The one-time link pages: /invitation?token=… (a new person chooses a password) and /reset?token=… (someone
who forgot theirs chooses a new one). The token travels in the query string, which the access log leaves out.

An unknown, used, replaced or expired link, or one whose account was deactivated, gets a page saying so and
changes nothing. A password that breaks the rules is refused on the page (422), and the link stays usable.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..db import accounts as accounts_db
from ..db import get_db, transaction
from ..db import users as users_db
from . import iso, token_hash, two_factor, utc_now
from . import links as links_module
from .audit import record as audit
from .forms import NewPasswordForm

bp = Blueprint("accounts", __name__)


def _invalid(kind: str, problem: str):
    status = 404 if problem == "unknown" else 410
    return render_template("auth/link_invalid.html", kind=kind, problem=problem), status


def _choose_password(kind: str):
    from .auth import _token_hash, hash_password, sign_in, start_second_step

    db = get_db()
    token = request.values.get("token", "")
    link = links_module.find(db, token)
    problem = links_module.link_problem(link, kind)
    if problem:
        return _invalid(kind, problem)
    form = NewPasswordForm(token=token)
    form.rules_username = link["username"]
    if form.validate_on_submit():
        new_hash = hash_password(form.password.data)  # slow on purpose: before the write transaction
        now = utc_now()
        with transaction(db):
            link = links_module.find(db, token)
            problem = links_module.link_problem(link, kind, now)
            if problem is None and not accounts_db.use_link(db, token_hash(token), kind, iso(now)):
                problem = "used"  # the same link sent twice at once: one of them wins
            if problem is None:
                user_id = link["user_id"]
                users_db.update_user(db, user_id, password_hash=new_hash)
                accounts_db.void_links(db, user_id, iso(now))  # any other link of theirs stops working too
                if kind == "reset":  # whoever may have had the old password is signed out everywhere
                    users_db.end_sign_ins_of(db, user_id)
                row = users_db.get_user(db, user_id)
                audit(db, "invitation_accepted" if kind == "invitation" else "password_reset", row,
                      actor=row)
        if problem:
            return _invalid(kind, problem)
        if current_user.is_authenticated:  # a browser signed in as someone else: that sign-in ends
            users_db.end_sign_in(db, _token_hash(current_user.sign_in))
            logout_user()
        if two_factor.enrolled(row):  # a reset link replaces the password only: the code is still asked for
            start_second_step(row, None)
            flash(_("Your new password is saved. Enter the code from your authenticator app to sign in."),
                  "success")
            return redirect(url_for("auth.login_code"))
        sign_in(row)
        if kind == "invitation":
            flash(_("Your password is saved and you are signed in."), "success")
        else:
            flash(_("Your new password is saved. You were signed out everywhere else."), "success")
        if two_factor.required_for(row["role"]):
            return redirect(url_for("account.two_factor_setup"))
        return redirect(url_for("home.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/choose_password.html", form=form, kind=kind, link=link), status


@bp.route("/invitation", methods=["GET", "POST"])
def invitation():
    """Accept an invitation: choose a password (twice); then signed in."""
    return _choose_password("invitation")


@bp.route("/reset", methods=["GET", "POST"])
def reset():
    """Use a reset link: choose a new password (twice); every sign-in of the account ends."""
    return _choose_password("reset")
