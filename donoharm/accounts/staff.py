"""How pages name staff (issue 19): by full name, falling back to the username of an account without one."""
from __future__ import annotations

from flask import Flask, g


def staff_name(username: str | None) -> str:
    """The full name of this account, else its username; the names are read once per request."""
    if not username:
        return ""
    if "staff_names" not in g:
        from ..db import get_db
        from ..db.users import full_names

        g.staff_names = full_names(get_db())
    return g.staff_names.get(username, username)


def init_app(app: Flask) -> None:
    app.add_template_filter(staff_name)
