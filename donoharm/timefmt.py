"""Times as text, in one place: the server's "now", the ISO form times are stored and sent in, and the forms people
read. Pure (no Flask at import; the localised form imports Flask-Babel when used). Records, which name the
organisation's time zone, format theirs in records/render.py on top of these."""
from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The server's time now, in UTC."""
    return datetime.now(UTC)


def iso_z(moment: datetime, timespec: str = "seconds") -> str:
    """A moment as stored and sent: ISO 8601 in UTC ending in Z (`timespec` "seconds" or "milliseconds")."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def now_z(timespec: str = "seconds") -> str:
    """The server's time now as stored: an event's received time to the millisecond, other stamps to the second."""
    return iso_z(now(), timespec)


def parse(text: str) -> datetime:
    """A stored or sent ISO time (ending in Z or with an offset; one without is taken as UTC); ValueError if not."""
    moment = parse_as_written(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_as_written(text: str) -> datetime:
    """An ISO time exactly as written: with its own offset, or without a zone when it names none (a record shows
    such a time as it is rather than guess its zone; a receipt's time without one is refused); ValueError if not."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def clock(iso: str | None, in_utc: bool = False) -> str:
    """HH:MM of a time: as the device recorded it (its own offset), or in UTC; empty when there is none."""
    if not iso:
        return ""
    try:
        moment = parse(iso)
    except ValueError:
        return ""
    return (moment.astimezone(UTC) if in_utc else moment).strftime("%H:%M")


def medium(iso: str | None) -> str:
    """A stored time as a date and time in the reader's language and time zone (Flask-Babel's medium format);
    the text itself when it is not a time."""
    from flask_babel import format_datetime

    if not iso:
        return ""
    try:
        return format_datetime(parse(iso), "medium")
    except (TypeError, ValueError):
        return iso
