"""One FlaskForm per screen that takes input (accounts and runs)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from .db.users import ROLES
from .passwords import password_problem


def strong_password(form, field) -> None:
    """Refuse short, common or username-containing passwords."""
    username = (form.username.data or "") if hasattr(form, "username") else ""
    problem = password_problem(field.data or "", username)
    if problem:
        raise ValidationError(problem)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired("Enter your username."), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class UserForm(FlaskForm):
    username = StringField("Username", validators=[
        DataRequired("Enter a username."), Length(min=2, max=64, message="Use 2 to 64 characters.")])
    role = SelectField("Role", choices=[(r, r.capitalize()) for r in ROLES], default="accompanier")
    password = PasswordField("Password", validators=[DataRequired("Enter a password."), strong_password])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired("Repeat the password."), EqualTo("password", "The passwords do not match.")])

    def validate_username(self, field) -> None:
        value = field.data.strip()
        if not all(c.isalnum() or c in "._-" for c in value):
            raise ValidationError("Use letters, digits, dots, hyphens and underscores only.")


class SetupForm(UserForm):
    token = HiddenField()
    role = None


class UserChangeForm(FlaskForm):
    role = SelectField("Role", choices=[(r, r.capitalize()) for r in ROLES])
    active = BooleanField("Active")


class StartRunForm(FlaskForm):
    protocol = SelectField("Protocol", validators=[DataRequired("Choose a protocol.")])
    version = SelectField("Version", validators=[DataRequired("Choose a version.")], validate_choice=False)
    label = StringField("Operation label", validators=[
        DataRequired("Give the operation a label."), Length(max=80, message="Use at most 80 characters.")])
    mode = RadioField("Mode", choices=[("live", "Live operation"), ("practice", "Practice (training only)")],
                      default="live", validators=[InputRequired("Choose live or practice.")])


class NoteForm(FlaskForm):
    note = TextAreaField("Note", validators=[DataRequired("Write something first."), Length(max=2000)])


class SubmitForm(FlaskForm):
    name = StringField("Your full name", validators=[
        DataRequired("Type your full name to attest the record."), Length(max=200)])
    confirmed = BooleanField("I confirm this record is true and complete to the best of my knowledge.",
                             validators=[DataRequired("Confirm the statement to submit.")])
