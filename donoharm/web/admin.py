"""Administrators manage user accounts, see the signed checkpoints of the runs' history and the records to destroy."""
import io
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from ..accounts import iso, two_factor
from ..accounts import links as account_links
from ..accounts.audit import ACTIONS as AUDIT_ACTIONS
from ..accounts.audit import record as audit
from ..accounts.auth import roles_required
from ..accounts.commands import reset_second_factor
from ..accounts.forms import ButtonForm, InviteForm
from ..audit import checkpoints as audit_checkpoints
from ..db import accounts as accounts_db
from ..db import get_db, transaction
from ..db import records as records_db
from ..db import users as users_db
from ..records.timestamps import TimestampError
from .forms import ROLE_NAMES, UserChangeForm


class CheckpointForm(FlaskForm):
    """A button: nothing to fill in but the CSRF token."""

bp = Blueprint("admin", __name__, url_prefix="/admin")


# --- Accounts (issue 19): an administrator invites a person (username, full name, role) and gets a one-time
# link to hand over, never a password; makes a reset link for someone who forgot theirs; resets a lost second
# factor; and reads the account audit log. A link is shown once, on the page answering the POST that made it.

def _users_page(form: InviteForm, status: int = 200):
    db = get_db()
    return render_template("admin/users.html", form=form, users=users_db.list_users(db),
                           change_form=UserChangeForm(),
                           invitations=accounts_db.latest_invitations(db), now=iso(account_links.utc_now()),
                           has_password=users_db.has_password, two_factor_required=two_factor.required_for), status


def _link_page(link: account_links.NewLink, user: dict):
    """The one time a link is shown: as text to copy and as a QR code to scan from this screen."""
    from .protocol_share import public_root

    url = (public_root() or request.host_url.rstrip("/")) + link.path
    return render_template("admin/link.html", link=link, url=url, qr=two_factor.qr_data_uri(url), user=user,
                           role_name=ROLE_NAMES.get(user["role"], user["role"]))


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users():
    """List users and invite one: the answer shows the one-time invitation link (72 hours) once."""
    db = get_db()
    form = InviteForm()
    if form.validate_on_submit():
        username, role = form.username.data, form.role.data
        with transaction(db):
            if users_db.find_user(db, username):
                form.username.errors.append(_("That username is taken."))
            else:
                user_id = users_db.create_user(db, username, users_db.NO_PASSWORD, role, form.full_name.data)
                link = account_links.make_link(db, "invitation", user_id, current_user.id)
                user = users_db.get_user(db, user_id)
                audit(db, "invited", user, detail=f"{role}; until {iso(link.expires_at)}")
        if not form.username.errors:
            return _link_page(link, user)
    return _users_page(form, 422 if request.method == "POST" else 200)


def _user_or_back(user_id: int) -> dict | None:
    user = users_db.get_user(get_db(), user_id)
    if user is None:
        flash(_("No such user."), "error")
    elif not ButtonForm().validate_on_submit():
        abort(400)
    return user


@bp.post("/users/<int:user_id>/invitation")
@roles_required("admin")
def new_invitation(user_id: int):
    """A new invitation link for someone who has not accepted theirs yet (the old link stops working)."""
    user = _user_or_back(user_id)
    if user is None:
        return redirect(url_for("admin.users"))
    if users_db.has_password(user):
        flash(_("%(user)s has chosen a password already: make a reset link if they forgot it.",
                user=user["username"]), "error")
        return redirect(url_for("admin.users"))
    db = get_db()
    with transaction(db):
        users_db.update_user(db, user_id, active=1)
        link = account_links.make_link(db, "invitation", user_id, current_user.id)
        audit(db, "invitation_renewed", user, detail=f"{user['role']}; until {iso(link.expires_at)}")
    return _link_page(link, user)


@bp.post("/users/<int:user_id>/reset-link")
@roles_required("admin")
def reset_link(user_id: int):
    """A one-time link (24 hours) where someone who forgot their password chooses a new one."""
    user = _user_or_back(user_id)
    if user is None:
        return redirect(url_for("admin.users"))
    if not users_db.has_password(user):
        flash(_("%(user)s has not accepted their invitation yet: make a new invitation link instead.",
                user=user["username"]), "error")
        return redirect(url_for("admin.users"))
    if not user["active"]:
        flash(_("%(user)s is deactivated: reactivate them first.", user=user["username"]), "error")
        return redirect(url_for("admin.users"))
    db = get_db()
    with transaction(db):
        link = account_links.make_link(db, "reset", user_id, current_user.id)
        audit(db, "reset_link_issued", user, detail=f"until {iso(link.expires_at)}")
    return _link_page(link, user)


@bp.post("/users/<int:user_id>/two-factor/reset")
@roles_required("admin")
def reset_two_factor(user_id: int):
    """Remove someone's second factor (a lost phone): they are signed out and set up a new one at next sign-in."""
    user = _user_or_back(user_id)
    if user is None:
        return redirect(url_for("admin.users"))
    if not user["totp_secret"]:
        flash(_("%(user)s has no second factor to reset.", user=user["username"]), "error")
        return redirect(url_for("admin.users"))
    db = get_db()
    with transaction(db):
        reset_second_factor(db, user)
    flash(_("The second factor of %(user)s is removed and they are signed out. They set up a new one when they "
            "next sign in.", user=user["username"]), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@roles_required("admin")
def change_user(user_id: int):
    """Change a user's role or deactivate them; the last active administrator stays."""
    db = get_db()
    user = users_db.get_user(db, user_id)
    form = UserChangeForm()
    if user is None:
        flash(_("No such user."), "error")
    elif not form.validate_on_submit():
        flash(_("Choose a valid role."), "error")
    else:
        stays_admin = form.role.data == "admin" and form.active.data
        losing_admin = (user["role"] == "admin" and user["active"] and users_db.has_password(user)
                        and not stays_admin)
        if losing_admin and users_db.count_active_admins(db) <= 1:
            flash(_("Keep at least one active administrator."), "error")
        else:
            with transaction(db):
                users_db.update_user(db, user_id, role=form.role.data, active=int(form.active.data))
                if not form.active.data:  # a lost phone or a person who left: signed out everywhere at once
                    users_db.end_sign_ins_of(db, user_id)
                if form.role.data != user["role"]:
                    audit(db, "role_changed", user, detail=f"{user['role']} -> {form.role.data}")
                if bool(form.active.data) != bool(user["active"]):
                    audit(db, "reactivated" if form.active.data else "deactivated", user)
            flash(_("Updated %(user)s.", user=user['username']), "success")
    return redirect(url_for("admin.users"))


@bp.get("/account-log")
@roles_required("admin")
def account_log():
    """The account audit log, newest first, 100 entries a page (?before=<id> for older ones)."""
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    entries = accounts_db.audit_entries(get_db(), before_id=before_id, limit=100)
    older = entries[-1]["id"] if len(entries) == 100 else None
    return render_template("admin/account_log.html", entries=entries, actions=AUDIT_ACTIONS, older=older,
                           paged=before_id is not None)


@bp.get("/checkpoints")
@roles_required("admin")
def checkpoints():
    """Signed checkpoints of every run's chain head, newest first, each downloadable as JSON."""
    files = audit_checkpoints.listing(Path(current_app.instance_path))
    newest = None
    if files:
        try:
            newest = audit_checkpoints.load(files[0])
        except audit_checkpoints.CheckpointError as error:
            flash(str(error), "error")
    return render_template("admin/checkpoints.html", files=files, newest=newest)


@bp.post("/checkpoints")
@roles_required("admin")
def make_checkpoint():
    """Make a checkpoint now (the maintenance timer makes one every night)."""
    from ..audit import make_checkpoint as make

    if not CheckpointForm().validate_on_submit():
        abort(400)
    try:
        _path, signed, left_out = make(current_app._get_current_object())
    except TimestampError as error:  # DONOHARM_TSA_URL is set: no checkpoint without its timestamp
        current_app.logger.warning("checkpoint not made: %s", error)
        flash(_("No checkpoint was made: the timestamp authority did not answer. Try again later."), "error")
        return redirect(url_for("admin.checkpoints"))
    flash(ngettext("Checkpoint made of %(num)d run.", "Checkpoint made of %(num)d runs.", signed["runs"]), "success")
    if left_out:
        flash(ngettext("%(num)d run was left out because its history does not verify: see the home page.",
                       "%(num)d runs were left out because their history does not verify: see the home page.",
                       len(left_out)), "error")
    return redirect(url_for("admin.checkpoints"))


@bp.get("/checkpoints/<name>")
@roles_required("admin")
def checkpoint_file(name: str):
    """One checkpoint as the JSON file it is kept in."""
    files = {path.name: path for path in audit_checkpoints.listing(Path(current_app.instance_path))}
    if name not in files:
        abort(404)
    return send_file(io.BytesIO(files[name].read_bytes()), mimetype="application/json", as_attachment=True,
                     download_name=name, max_age=0)


@bp.get("/redacted-records")
@roles_required("admin")
def redacted_records():
    """Every signed record superseded by a redaction: its copies hold a text that was removed, to destroy."""
    return render_template("admin/redacted_records.html", records=records_db.redacted_records(get_db()))
