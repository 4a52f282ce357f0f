"""Who may do what is decided in one place, donoharm/runs/policy.py: its rules as a table, and a check that no
other module spells out a list of roles of its own (a new page copying an old tuple could drift from it)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from donoharm.runs import policy

PACKAGE = Path(__file__).resolve().parent.parent / "donoharm"
RUN = {"creator_id": 7}


@pytest.mark.parametrize(("role", "review", "redact", "publish"), [
    ("accompanier", False, False, False),
    ("supervisor", True, True, False),
    ("trainer", False, False, True),
    ("admin", True, True, True),
    ("system", False, True, False),
    (None, False, False, False),
])
def test_what_each_role_may_do(role, review, redact, publish):
    assert policy.may_review(role) is review
    assert policy.may_redact(role) is redact
    assert policy.may_publish_protocols(role) is publish


@pytest.mark.parametrize(("user", "role", "readable"), [
    (7, "accompanier", True), (8, "accompanier", False), (8, "trainer", False),
    (8, "supervisor", True), (8, "admin", True),
])
def test_a_run_is_read_by_its_creator_and_reviewers_only(user, role, readable):
    assert policy.may_read_run(user, role, RUN) is readable


@pytest.mark.parametrize(("user", "status", "faulty", "step", "whole", "allowed"), [
    (7, "in_progress", False, None, False, True),
    (7, "returned", False, None, False, True),
    (8, "in_progress", False, None, False, False),  # only its creator
    (7, "in_progress", True, None, False, False),  # history changed outside the app
    (7, "submitted", False, None, False, False),
    (7, "approved", False, None, False, False),
    (7, "closed", False, None, False, False),
    (7, "follow_up", False, True, False, True),  # a follow-up step
    (7, "follow_up", False, False, False, False),  # any other step
    (7, "follow_up", False, None, True, False),  # a note for the whole operation
])
def test_a_run_is_changed_by_its_creator_while_open_and_in_follow_up_only_its_follow_up_steps(
        user, status, faulty, step, whole, allowed):
    assert policy.may_change_run(user, RUN, status, faulty, follow_up_step=step, whole_run=whole) is allowed


ROLE = r"""["'](?:accompanier|supervisor|trainer|admin|system)["']"""
ROLES_LISTED = re.compile(rf"[(\[{{]\s*{ROLE}\s*,\s*{ROLE}")  # a list of two or more roles: a rule of its own


def test_no_module_but_the_policy_lists_roles_of_its_own():
    # The rules; the column's values; the schema's CHECK (migrations are frozen).
    allowed = {PACKAGE / "runs" / "policy.py", PACKAGE / "db" / "users.py", PACKAGE / "db" / "schema_initial.py"}
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py")) if path not in allowed
             for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if ROLES_LISTED.search(line)]
    assert found == []


def test_every_refusal_has_a_kind_and_the_api_maps_each_kind_to_one_status():
    """Services and the core say what sort of refusal (not an HTTP status); api/errors.py alone maps kinds."""
    from donoharm.api.errors import HTTP_STATUS
    from donoharm.runs.events import ERROR_KINDS, EventError
    from donoharm.services.run_service import RunError

    assert set(HTTP_STATUS) == set(ERROR_KINDS)
    assert EventError("four_eyes", "x").kind == "forbidden"
    assert EventError("follow_up_only", "x").kind == "conflict"
    assert EventError("invalid_value", "x").kind == "invalid"
    assert RunError("not_found", "not_found", "x").kind == "not_found"
    with pytest.raises(AssertionError):
        RunError(404, "not_found", "x")  # a status is not a kind
    services = [*(PACKAGE / "services").glob("*.py"), *(PACKAGE / "runs").glob("*.py")]
    assert len(services) > 15
    assert not [path.name for path in services if re.search(r"RunError\(\s*\d", path.read_text("utf-8"))]
