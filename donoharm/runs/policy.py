"""Who may do what (pure): the one place pages, the API and the core ask.

Roles are the four of an account (accompanier, supervisor, trainer, admin) and `system`, the actor of the
retention job. A run is read by its creator and by reviewers; it is changed by its creator while in progress or
returned, and after approval only in its follow-up steps; reviewers decide on it and may remove a text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REVIEWERS = ("supervisor", "admin")  # review, oversight, every run readable, texts removable
SYSTEM = "system"  # the role (and username) of the retention job
REDACTORS = (*REVIEWERS, SYSTEM)  # who may remove a text (the system: retention)
TRAINERS = ("trainer", "admin")  # publish protocol versions, choose the current one, see practice
ADMINS = ("admin",)

EDITABLE_STATUSES = ("in_progress", "returned")
FOLLOW_UP_STATUS = "follow_up"  # approved; only the follow-up steps can still be answered


def may_review(role: str | None) -> bool:
    """Decide on submitted runs, see oversight and every run."""
    return role in REVIEWERS


def may_redact(role: str | None) -> bool:
    return role in REDACTORS


def may_publish_protocols(role: str | None) -> bool:
    return role in TRAINERS


def may_read_run(user_id: Any, role: str | None, run: Mapping[str, Any]) -> bool:
    """A run is read by its creator and by reviewers; to anyone else it does not exist."""
    return run.get("creator_id") == user_id or may_review(role)


def may_change_run(user_id: Any, run: Mapping[str, Any], status: str, faulty: bool, *,
                   follow_up_step: bool | None = None, whole_run: bool = False) -> bool:
    """Whether this user may change the run now.

    Its creator may change a run in progress or returned for correction. In follow-up only the follow-up
    steps can still be answered: `follow_up_step` says whether the step in question is one (None: any step),
    and `whole_run` asks about a deviation or note for the whole operation (never in follow-up). A run whose
    stored history was changed outside the app takes nothing."""
    if run.get("creator_id") != user_id or faulty:
        return False
    if status in EDITABLE_STATUSES:
        return True
    if status != FOLLOW_UP_STATUS or whole_run:
        return False
    return follow_up_step is None or follow_up_step
