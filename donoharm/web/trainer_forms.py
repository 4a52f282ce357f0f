"""Forms of the trainers' screens (kept apart from forms.py, which other screens share)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, TextAreaField


class ProtocolUploadForm(FlaskForm):
    """Check a new protocol version: a YAML file, or the YAML pasted as text."""

    file = FileField(_l("YAML file"))
    text = TextAreaField(_l("Or paste the YAML"))


class PublishForm(FlaskForm):
    """Publish a checked version; the text travels back in a hidden field, base64 so that browsers'
    newline normalisation cannot change a byte of it."""

    payload = HiddenField()
    make_current = BooleanField(_l("Make this the current version (new runs start on it)"), default=True)


class LifecycleForm(FlaskForm):
    """A button that changes a version's lifecycle; only the CSRF token is sent."""
