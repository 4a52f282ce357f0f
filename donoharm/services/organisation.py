"""The organisation's name, time zone and record paper size (issue 19), read in one place.

Precedence: the settings chosen at /setup or on /admin/settings (db/settings.py) when there are any, else the
environment (DONOHARM_ORGANISATION as app.config["ORGANISATION_NAME"], DONOHARM_PAGE_SIZE), so deployments
configured by environment keep working; the time zone is UTC until one is chosen.
"""
from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as babel_gettext

from ..config import DEFAULT_ORGANISATION
from ..text import text_problem

NAME_MAX = 120
PAPER_SIZES = ("A4", "Letter")
DEFAULT_TIME_ZONE = "UTC"


def _stored(app: Flask | None = None) -> dict | None:
    """The settings row; outside a request (app start, the record queue's thread) on a short connection."""
    from ..db import connect, get_db
    from ..db.settings import get_settings

    if app is None or (has_app_context() and current_app._get_current_object() is app):
        return get_settings(get_db())
    db = connect(app.config["DATABASE"])
    try:
        return get_settings(db)
    finally:
        db.conn.close()


def _app(app: Flask | None) -> Flask:
    return app or current_app._get_current_object()


def organisation_name(app: Flask | None = None) -> str:
    """The name records and pages show, and a new signing certificate is made for."""
    stored = _stored(app)
    return stored["name"] if stored else _app(app).config.get("ORGANISATION_NAME") or DEFAULT_ORGANISATION


def is_named(app: Flask | None = None) -> bool:
    """Whether the organisation has a name of its own (not the placeholder of an unconfigured one)."""
    return organisation_name(app).strip() not in ("", DEFAULT_ORGANISATION)


def time_zone(app: Flask | None = None) -> str:
    """The IANA name of the time zone records show server times in (default UTC)."""
    stored = _stored(app)
    return stored["time_zone"] if stored else DEFAULT_TIME_ZONE


def paper_size(app: Flask | None = None) -> str:
    """The record paper size, 'A4' or 'Letter'."""
    stored = _stored(app)
    if stored:
        return stored["page_size"]
    wanted = (_app(app).config.get("RECORD_PAGE_SIZE") or os.environ.get("DONOHARM_PAGE_SIZE") or "A4").strip()
    return "Letter" if wanted.upper() == "LETTER" else "A4"


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, sorted (the choices of the setup and settings pages)."""
    return tuple(sorted(available_timezones()))


def in_zone(moment: datetime, zone: str) -> datetime:
    """A moment in the named zone (UTC if the name is not known, e.g. tzdata removed since it was chosen)."""
    try:
        return moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(ZoneInfo(DEFAULT_TIME_ZONE))


# --- the rules of the setup and settings forms (messages in the reader's language)

def name_problem(value: str, gettext=babel_gettext) -> str | None:
    """Why an organisation name cannot be stored: empty, over 120 characters, or not one line of printable text."""
    if not value.strip():
        return gettext("Enter the organisation's name.")
    if len(value) > NAME_MAX:
        return gettext("Use at most %(n)s characters.", n=NAME_MAX)
    if text_problem(value):
        return gettext("Use one line of printable characters, without control characters.")
    if value.strip() == DEFAULT_ORGANISATION:
        return gettext("Enter your organisation's own name.")
    return None


def time_zone_problem(value: str, gettext=babel_gettext) -> str | None:
    """Why a time zone cannot be used: only IANA names this machine knows (such as Europe/Paris)."""
    if value not in time_zone_names():
        return gettext("Choose a time zone from the list, such as Europe/Paris or UTC.")
    return None
