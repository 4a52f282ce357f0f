"""`flask --app app users invite | reset-link | reset-two-factor`: the administrators' account actions from the
command line (added to the `users` group of auth.py). Each prints a one-time link at DONOHARM_BASE_URL (as
`users setup-link` does) and is written to the account audit log as done by "command line"."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..db import accounts as accounts_db
from ..db import get_db, transaction
from ..db import users as users_db
from . import iso
from .audit import record as audit
from .links import make_link


def _link_text(path: str, expires) -> str:
    from .setup import public_base

    return f"{public_base(current_app)}{path}\nIt works once, until {expires.strftime('%Y-%m-%d %H:%M')} UTC."


@click.command("invite")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(users_db.ROLES), required=True, help="The person's role.")
@click.option("--full-name", default=None, help="The person's full name (at most 120 characters).")
def invite_command(username: str, role: str, full_name: str | None) -> None:
    """Add a person and print a one-time invitation link (72 hours) where they choose their own password.

    For a person invited before who has not chosen a password yet, a new link replaces the old one."""
    from .forms import english, full_name_problem, username_problem

    username = username.strip()
    problem = username_problem(username, english)
    if problem:
        raise click.ClickException(f"USERNAME: {problem}")
    full_name = full_name.strip() if full_name is not None else None
    if full_name is not None and full_name_problem(full_name, english):
        raise click.ClickException(f"--full-name: {full_name_problem(full_name, english)}")
    db = get_db()
    with transaction(db):
        row = users_db.find_user(db, username)
        if row is not None and users_db.has_password(row):
            raise click.ClickException(f"user {row['username']!r} exists already and has a password; "
                                       "use `users reset-link` if they forgot it")
        if row is None:
            user_id = users_db.create_user(db, username, users_db.NO_PASSWORD, role, full_name)
            action = "invited"
        else:
            user_id = row["id"]
            users_db.update_user(db, user_id, role=role, active=1,
                                 **({"full_name": full_name} if full_name is not None else {}))
            action = "invitation_renewed"
        link = make_link(db, "invitation", user_id, None)
        audit(db, action, users_db.get_user(db, user_id), detail=f"{role}; until {iso(link.expires_at)}")
    click.echo(f"Invitation for {role} {username}. Give this link to them only:")
    click.echo(_link_text(link.path, link.expires_at))


@click.command("reset-link")
@with_appcontext
@click.argument("username")
def reset_link_command(username: str) -> None:
    """Print a one-time link (24 hours) where a person who forgot their password chooses a new one; using it
    signs them out everywhere."""
    db = get_db()
    with transaction(db):
        row = users_db.find_user(db, username.strip())
        if row is None:
            raise click.ClickException(f"no user {username!r}")
        if not row["active"]:
            raise click.ClickException(f"user {row['username']!r} is deactivated; reactivate them first")
        if not users_db.has_password(row):
            raise click.ClickException(f"user {row['username']!r} has not accepted their invitation yet; "
                                       "use `users invite` for a new invitation link")
        link = make_link(db, "reset", row["id"], None)
        audit(db, "reset_link_issued", row, detail=f"until {iso(link.expires_at)}")
    click.echo(f"Password reset link for {row['username']}. Give this link to them only:")
    click.echo(_link_text(link.path, link.expires_at))


@click.command("reset-two-factor")
@with_appcontext
@click.argument("username")
def reset_two_factor_command(username: str) -> None:
    """Remove a person's second factor (lost phone and recovery codes) and sign them out everywhere; they set
    up a new one at their next sign-in."""
    db = get_db()
    with transaction(db):
        row = users_db.find_user(db, username.strip())
        if row is None:
            raise click.ClickException(f"no user {username!r}")
        if not row["totp_secret"]:
            raise click.ClickException(f"user {row['username']!r} has no second factor")
        reset_second_factor(db, row)
    click.echo(f"Removed the second factor of {row['username']} and signed them out everywhere.")


def reset_second_factor(db, row: dict) -> None:
    """Forget a user's authenticator and recovery codes, end their sign-ins, and log it (inside a transaction)."""
    users_db.update_user(db, row["id"], totp_secret=None, totp_pending_secret=None, totp_last_step=None,
                         totp_enrolled_at=None)
    accounts_db.forget_recovery_codes(db, row["id"])
    accounts_db.clear_second_factor_failures(db, row["id"])
    users_db.end_sign_ins_of(db, row["id"])
    audit(db, "two_factor_reset", row)


def add_to(group: AppGroup) -> None:
    for command in (invite_command, reset_link_command, reset_two_factor_command):
        if command.name not in group.commands:
            group.add_command(command)
