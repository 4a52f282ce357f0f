"""The account audit log: who did what to whose account, and when. Never a password, token, code or secret.

Each entry names the actor and the subject by username as they were at the time (and by id); `detail` holds
plain facts such as a role or an expiry time. Administrators read it on /admin/account-log.
"""
from __future__ import annotations

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlite_utils import Database

from ..db import accounts as accounts_db
from . import iso, utc_now

# The actions, with their names for the administrators' page.
ACTIONS = {
    "user_created": _l("Account created with a password (command line)"),
    "invited": _l("Invited"),
    "invitation_renewed": _l("New invitation link"),
    "invitation_accepted": _l("Invitation accepted: password chosen"),
    "password_changed": _l("Password changed"),
    "reset_link_issued": _l("Password reset link made"),
    "password_reset": _l("Password reset through a link"),
    "two_factor_enrolled": _l("Two-step sign-in set up"),
    "two_factor_replaced": _l("Authenticator app replaced"),
    "two_factor_turned_off": _l("Two-step sign-in turned off"),
    "two_factor_reset": _l("Second factor reset by an administrator"),
    "recovery_codes_renewed": _l("New recovery codes made"),
    "recovery_code_used": _l("Signed in with a recovery code"),
    "role_changed": _l("Role changed"),
    "deactivated": _l("Deactivated"),
    "reactivated": _l("Reactivated"),
    "full_name_changed": _l("Full name changed"),
}
COMMAND_LINE = "command line"


def record(db: Database, action: str, subject: dict, detail: str = "", actor: dict | None = None) -> None:
    """Add an entry about `subject` (a user row). The actor is `actor`, else the signed-in person, else (outside
    a request) the command line."""
    assert action in ACTIONS, action
    if actor is not None:
        actor_id, actor_name = actor["id"], actor["username"]
    elif has_request_context() and current_user.is_authenticated:
        actor_id, actor_name = current_user.id, current_user.username
    elif has_request_context():  # a link used by someone not signed in: the subject acts on their own account
        actor_id, actor_name = subject["id"], subject["username"]
    else:
        actor_id, actor_name = None, COMMAND_LINE
    accounts_db.add_audit(db, iso(utc_now()), actor_id, actor_name, action, subject["id"], subject["username"],
                          detail)


def action_name(action: str) -> str:
    return str(ACTIONS.get(action, action))
