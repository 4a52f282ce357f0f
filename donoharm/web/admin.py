"""Administrators manage user accounts and see the signed checkpoints of the runs' history."""
import io
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm

from ..audit import checkpoints as audit_checkpoints
from ..auth import hash_password, roles_required
from ..db import get_db
from ..db import users as users_db
from ..forms import ROLE_NAMES, UserChangeForm, UserForm
from ..records.timestamps import TimestampError


class CheckpointForm(FlaskForm):
    """A button: nothing to fill in but the CSRF token."""

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users():
    """List users and add one."""
    db = get_db()
    form = UserForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        if users_db.find_user(db, username):
            form.username.errors.append(_("That username is taken."))
        else:
            users_db.create_user(db, username, hash_password(form.password.data), form.role.data)
            flash(_("Added %(role)s %(user)s.", role=ROLE_NAMES[form.role.data], user=username), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, users=users_db.list_users(db),
                           change_form=UserChangeForm()), status


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
        losing_admin = user["role"] == "admin" and user["active"] and not stays_admin
        if losing_admin and users_db.count_active_admins(db) <= 1:
            flash(_("Keep at least one active administrator."), "error")
        else:
            users_db.update_user(db, user_id, role=form.role.data, active=int(form.active.data))
            if not form.active.data:  # a lost phone or a person who left: signed out everywhere at once
                users_db.end_sign_ins_of(db, user_id)
            flash(_("Updated %(user)s.", user=user['username']), "success")
    return redirect(url_for("admin.users"))


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
