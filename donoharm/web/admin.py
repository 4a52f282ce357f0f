"""Administrators manage user accounts: add, deactivate, change roles."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..auth import hash_password, roles_required
from ..db import get_db
from ..db import users as users_db
from ..forms import UserChangeForm, UserForm

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
            form.username.errors.append("That username is taken.")
        else:
            users_db.create_user(db, username, hash_password(form.password.data), form.role.data)
            flash(f"Added {form.role.data} {username}.", "success")
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
        flash("No such user.", "error")
    elif not form.validate_on_submit():
        flash("Choose a valid role.", "error")
    else:
        stays_admin = form.role.data == "admin" and form.active.data
        losing_admin = user["role"] == "admin" and user["active"] and not stays_admin
        if losing_admin and users_db.count_active_admins(db) <= 1:
            flash("Keep at least one active administrator.", "error")
        else:
            users_db.update_user(db, user_id, role=form.role.data, active=int(form.active.data))
            flash(f"Updated {user['username']}.", "success")
    return redirect(url_for("admin.users"))
