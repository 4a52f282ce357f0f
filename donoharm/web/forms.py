"""One FlaskForm per screen that takes input (accounts and runs)."""
from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from ..accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from ..db.users import ROLES
from ..labels import current_rule
from ..text import text_problem
from .organisation_forms import OrganisationFields

ROLE_NAMES = {"accompanier": _l("Accompanier"), "supervisor": _l("Supervisor"), "trainer": _l("Trainer"),
              "admin": _l("Administrator")}


def strong_password(form, field) -> None:
    """Refuse short, common or username-containing passwords."""
    username = (form.username.data or "") if hasattr(form, "username") else ""
    problem = password_problem(field.data or "", username)
    if problem:
        raise ValidationError(password_problem_text(problem))


def password_problem_text(problem: str) -> str:
    """The password rule's message in the reader's language (the rules themselves stay free of Flask)."""
    texts = {
        f"Use at least {MIN_LENGTH} characters.": gettext("Use at least %(n)s characters.", n=MIN_LENGTH),
        f"Use at most {MAX_LENGTH} characters.": gettext("Use at most %(n)s characters.", n=MAX_LENGTH),
        "The password must not contain the username.": gettext("The password must not contain the username."),
        "This password is one of the most commonly used; choose another.":
            gettext("This password is one of the most commonly used; choose another."),
        "Use more different characters.": gettext("Use more different characters."),
    }
    return texts.get(problem, problem)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))],
                             render_kw={"autocomplete": "current-password"})


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username.")), Length(min=2, max=64, message=_l("Use 2 to 64 characters."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none"})
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES], default="accompanier")
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter a password.")), strong_password],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password"})

    def validate_username(self, field) -> None:
        value = field.data.strip()
        if not all(c.isalnum() or c in "._-" for c in value):
            raise ValidationError(_l("Use letters, digits, dots, hyphens and underscores only."))


class SetupForm(OrganisationFields, UserForm):
    """The first administrator and the organisation's settings (issue 19), on one page."""
    token = HiddenField()
    role = None


class UserChangeForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_NAMES[r]) for r in ROLES])
    active = BooleanField(_l("Active"))


class StartRunForm(FlaskForm):
    protocol = SelectField(_l("Protocol and version"), validators=[DataRequired(_l("Choose a protocol."))])
    label = StringField(_l("Operation label"), validators=[Length(max=80, message=_l("Use at most 80 characters."))])
    # A live run opens a new operation or joins one started today (its choices are set by the view).
    operation = RadioField(_l("Operation"), default="new",
                           choices=[SelectChoice("new", _l("New operation, with the label above")),
                                    SelectChoice("join", _l("Join an operation started today"))])
    operation_id = SelectField(_l("Operation to join"), validate_choice=False, default="")
    mode = RadioField(_l("Mode"), default="live",
                      choices=[SelectChoice("live", _l("Live operation")),
                               SelectChoice("practice", _l("Practice (training only)"))],
                      validators=[InputRequired(_l("Choose live or practice."))])
    language = SelectField(_l("Language of the checklist"), validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The organisation's label rule: checked below, shown under the field, and given to the phone (the
        # `pattern` attribute and the form's data-label-pattern, read by static/js/local.js offline).
        self.label_rule = current_rule()
        self.label.render_kw = {"pattern": self.label_rule.pattern, "autocomplete": "off", "spellcheck": "false"}

    def joining(self) -> bool:
        return self.operation.data == "join"

    def validate_label(self, field) -> None:
        # Joining, a blank label takes the operation's label (the view fills it in).
        label = (field.data or "").strip()
        if not label and not (self.joining() and self.mode.data == "live"):
            raise ValidationError(_l("Give the operation a label."))
        # A label too long or holding a control character is refused by the server in its own words first.
        if label and len(label) <= 80 and text_problem(label) is None and not self.label_rule.allows(label):
            raise ValidationError(self.label_rule.hint())

    def validate_operation(self, field) -> None:
        if self.joining() and self.mode.data == "practice":
            raise ValidationError(_l("Practice runs are not part of an operation: choose New operation, or a "
                                     "live run."))

    def validate_operation_id(self, field) -> None:
        if self.joining() and self.mode.data == "live" and not field.data:
            raise ValidationError(_l("Choose the operation to join."))


class SubmitForm(FlaskForm):
    name = StringField(_l("Your full name"), validators=[
        DataRequired(_l("Type your full name to attest the record.")), Length(max=200)],
        render_kw={"autocomplete": "name"})
    confirmed = BooleanField(_l("I confirm this record is true and complete to the best of my knowledge."),
                             validators=[DataRequired(_l("Confirm the statement to submit."))])


class LanguageForm(FlaskForm):
    # Any posted code is accepted: the view maps an unknown one to English rather than showing an error.
    language = RadioField(_l("Language of the app"), validate_choice=False)
