"""The forms of accounts (issue 19): inviting, choosing and changing a password, and two-step sign-in.

Kept apart from forms.py; the password rules are passwords.py's, in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as babel_gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..db.users import ROLES
from ..text import text_problem
from ..web.forms import ROLE_NAMES, password_problem_text
from .passwords import MAX_LENGTH, password_problem

FULL_NAME_MAX = 120
USERNAME_CHARACTERS = "._-"


def english(text: str, **values) -> str:
    """The English text, for the command line (no request to choose a language by). The rules below call their
    `gettext` argument by that name so that `make messages` finds their texts."""
    return text % values if values else text


def username_problem(value: str, gettext=babel_gettext) -> str | None:
    """Why a username cannot be used (the rule of the users page, shared with `users invite`), or None."""
    if not 2 <= len(value) <= 64:
        return gettext("Use 2 to 64 characters.")
    if not all(c.isalnum() or c in USERNAME_CHARACTERS for c in value):
        return gettext("Use letters, digits, dots, hyphens and underscores only.")
    return None


def full_name_problem(value: str, gettext=babel_gettext) -> str | None:
    """Why a full name cannot be stored: over 120 characters, or not one line of printable characters."""
    if len(value) > FULL_NAME_MAX:
        return gettext("Use at most %(n)s characters.", n=FULL_NAME_MAX)
    if text_problem(value):
        return gettext("Use one line of printable characters, without control characters.")
    return None


class InviteForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter a username."))],
                           render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the person's full name."))],
                            render_kw={"autocomplete": "off"})
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES], default="accompanier")

    def validate_username(self, field) -> None:
        field.data = (field.data or "").strip()
        problem = username_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_full_name(self, field) -> None:
        field.data = (field.data or "").strip()
        problem = full_name_problem(field.data)
        if problem:
            raise ValidationError(problem)


def _new_password_rules(form, field) -> None:
    problem = password_problem(field.data or "", getattr(form, "rules_username", "") or "")
    if problem:
        raise ValidationError(password_problem_text(problem))


class NewPasswordForm(FlaskForm):
    """Choosing a password through an invitation or reset link; the view sets rules_username."""
    token = HiddenField()
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password.")),
                                                             _new_password_rules],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"})
    rules_username = ""


class ChangePasswordForm(FlaskForm):
    """Changing one's own password on the account page; the view sets rules_username."""
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password.")),
                                                             _new_password_rules],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")), EqualTo("password", _l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"})
    rules_username = ""

    def validate_password(self, field) -> None:
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("Choose a password different from the current one."))


class SignInCodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the code.")), Length(max=40, message=_l("Enter the 6-digit code or a recovery code."))],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"})


class EnrolForm(FlaskForm):
    """Setting up (or replacing) the authenticator app; the current password only when replacing one."""
    code = StringField(_l("Code from the app"), validators=[DataRequired(_l("Enter the 6-digit code from the app.")),
                                                           Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    current = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"})


class CurrentPasswordForm(FlaskForm):
    """A change to one's second factor that needs the current password (new recovery codes, turning it off)."""
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"})


class ButtonForm(FlaskForm):
    """A button: nothing to fill in but the CSRF token."""
