"""Accounts an organisation can run (issue 19): invitations, password reset links, two-factor sign-in and the
account audit log. The pages are in web/account.py (a person's own account), web/admin.py (administrators),
accounts/views.py (the links) and auth.py (the sign-in's second step)."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from .. import timefmt


def token_hash(token: str) -> str:
    """What is stored of a one-time token: its SHA-256 (the tokens are random, 192 bits or more)."""
    return hashlib.sha256(token.encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def utc_now() -> datetime:
    return datetime.now(UTC)


def account_time(value: str | datetime | None) -> str:
    """A stored UTC time as the reader's date and time, marked UTC (template filter `account_time`)."""
    from flask_babel import format_datetime

    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else timefmt.parse(str(value))
    except ValueError:
        return str(value)
    return f"{format_datetime(moment.astimezone(UTC), 'medium', rebase=False)} UTC"
