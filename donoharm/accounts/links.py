"""One-time links: an invitation (72 hours) lets a new person choose their password; a reset link (24 hours)
lets someone who forgot theirs choose a new one. Only the SHA-256 of a link's token is stored; the link is
shown once, to the administrator who made it (or printed by the command line)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from ..db import accounts as accounts_db
from ..db import users as users_db
from . import iso, token_hash, utc_now

HOURS = {"invitation": 72, "reset": 24}
PATHS = {"invitation": "/invitation", "reset": "/reset"}


@dataclass(frozen=True)
class NewLink:
    kind: str
    token: str
    expires_at: datetime

    @property
    def path(self) -> str:
        return f"{PATHS[self.kind]}?token={self.token}"


def make_link(db: Database, kind: str, user_id: int, created_by: int | None, now: datetime | None = None) -> NewLink:
    """Store a new one-time link of `kind` for a user (their earlier unused ones stop working) and return it."""
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=HOURS[kind])
    accounts_db.add_link(db, kind, user_id, token_hash(token), created_by, iso(now), iso(expires))
    return NewLink(kind, token, expires)


def link_problem(link: dict[str, Any] | None, kind: str, now: datetime | None = None) -> str | None:
    """Why a link cannot be used: 'unknown' (forged, mistyped or of another kind), 'used', 'replaced' (a newer
    link was made), 'expired', 'inactive' (the account was deactivated), 'accepted' (an invitation whose person
    has a password already); None when it can be."""
    now = now or utc_now()
    if link is None or link["kind"] != kind:
        return "unknown"
    if link["used_at"]:
        return "used"
    if link["voided_at"]:
        return "replaced"
    if link["expires_at"] <= iso(now):
        return "expired"
    if not link["active"]:
        return "inactive"
    if kind == "invitation" and users_db.has_password(link):
        return "accepted"
    if kind == "reset" and not users_db.has_password(link):
        return "unknown"  # made for an invited person, who needs their invitation instead
    return None


def find(db: Database, token: str | None) -> dict[str, Any] | None:
    if not token or len(token) > 200:
        return None
    return accounts_db.find_link(db, token_hash(token))
