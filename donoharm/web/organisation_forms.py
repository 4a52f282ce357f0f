"""The organisation's settings as a form (issue 19): on /setup beside the first administrator, and on
/admin/settings. The rules are organisation.py's, in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice

from ..services.organisation import (
    DEFAULT_TIME_ZONE,
    PAPER_SIZES,
    name_problem,
    time_zone_names,
    time_zone_problem,
)
from ..text import text_problem

PAPER_WORDS = {"A4": _l("A4 (210 × 297 mm)"), "Letter": _l("Letter (8.5 × 11 inches)")}


class OrganisationFields:
    """Name, time zone and paper size; mixed into a FlaskForm (the setup form also holds the administrator)."""

    organisation_name = StringField(_l("Organisation's name"), render_kw={"autocomplete": "organization"})
    time_zone = SelectField(_l("Time zone"), default=DEFAULT_TIME_ZONE, validate_choice=False)
    page_size = RadioField(_l("Paper size of records"), default="A4",
                           choices=[SelectChoice(size, PAPER_WORDS[size]) for size in PAPER_SIZES])

    def set_time_zone_choices(self) -> None:
        """Every zone this machine knows; a value sent that is not one of them stays shown beside its error."""
        names = list(time_zone_names())
        sent = self.time_zone.data or ""
        if sent and sent not in names and len(sent) <= 64 and not text_problem(sent):
            names.insert(0, sent)
        self.time_zone.choices = names

    def validate_organisation_name(self, field) -> None:
        field.data = (field.data or "").strip()
        problem = name_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_time_zone(self, field) -> None:
        problem = time_zone_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class SettingsForm(OrganisationFields, FlaskForm):
    pass
