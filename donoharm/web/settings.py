"""Administrators change the organisation's settings (name, time zone, paper size) and people's full names
(issue 19). The rules: organisation.py and account_forms.full_name_problem."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError

from ..accounts.audit import record as audit
from ..accounts.auth import roles_required
from ..accounts.forms import full_name_problem
from ..db import get_db, transaction
from ..db import settings as settings_db
from ..db import users as users_db
from ..services.organisation import is_named, organisation_name, paper_size, time_zone
from .organisation_forms import SettingsForm

bp = Blueprint("settings", __name__, url_prefix="/admin")


def _certificate_name() -> str | None:
    """The name the signing certificate was made with, or None before it exists (it is made on first use)."""
    from ..records.signing import SIGN_CERT, signing_key

    if not current_app.config.get("SIGNING_P12") and not (Path(current_app.instance_path) / SIGN_CERT).exists():
        return None
    return signing_key().subject


@bp.route("/settings", methods=["GET", "POST"])
@roles_required("admin")
def organisation():
    """The organisation's name, time zone and record paper size; records issued from now on follow them."""
    db = get_db()
    form = SettingsForm()
    if request.method == "GET":
        form.organisation_name.data = organisation_name() if is_named() else ""
        form.time_zone.data, form.page_size.data = time_zone(), paper_size()
    form.set_time_zone_choices()
    if form.validate_on_submit():
        with transaction(db):
            settings_db.save_settings(db, form.organisation_name.data, form.time_zone.data, form.page_size.data,
                                      current_user.username)
        flash(_("Settings saved. Records issued from now on follow them."), "success")
        return redirect(url_for("settings.organisation"))
    return render_template("admin/settings.html", form=form, stored=settings_db.get_settings(db),
                           named=is_named(), certificate=_certificate_name()), 422 if request.method == "POST" else 200


class FullNameForm(FlaskForm):
    full_name = StringField(render_kw={"autocomplete": "off"})

    def validate_full_name(self, field) -> None:
        field.data = (field.data or "").strip()
        problem = _("Enter the person's full name.") if not field.data else full_name_problem(field.data)
        if problem:
            raise ValidationError(problem)


@bp.route("/users/<int:user_id>/full-name", methods=["GET", "POST"])
@roles_required("admin")
def full_name(user_id: int):
    """Change the full name pages and records name someone by; records already issued keep the old one."""
    db = get_db()
    user = users_db.get_user(db, user_id)
    if user is None:
        abort(404)
    form = FullNameForm()
    form.full_name.label.text = _("Full name of %(user)s", user=user["username"])
    if request.method == "GET":
        form.full_name.data = user["full_name"] or ""
    if form.validate_on_submit():
        if form.full_name.data != (user["full_name"] or ""):
            with transaction(db):
                users_db.update_user(db, user_id, full_name=form.full_name.data)
                audit(db, "full_name_changed", user, detail=f"{user['full_name'] or '-'} -> {form.full_name.data}")
        flash(_("Updated %(user)s.", user=user["username"]), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/full_name.html", form=form, user=user), 422 if request.method == "POST" else 200
