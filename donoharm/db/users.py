"""Users, login throttling and setup tokens."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from . import transaction

ROLES = ("accompanier", "supervisor", "trainer", "admin")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_user(db: Database, username: str, password_hash: str, role: str) -> int:
    """Insert a user and return its id."""
    cursor = db.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
        [username, password_hash, role, now()],
    )
    return cursor.lastrowid


def get_user(db: Database, user_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()
    return dict(row) if row else None


def find_user(db: Database, username: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
    return dict(row) if row else None


def list_users(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM users ORDER BY username")]


def update_user(db: Database, user_id: int, **fields: Any) -> None:
    """Change some of a user's fields (role, active, password_hash, language, protocols_seen_at)."""
    allowed = {"role", "active", "password_hash", "language", "protocols_seen_at"}
    assert set(fields) <= allowed, fields
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE users SET {assignments} WHERE id = ?", [*fields.values(), user_id])


def count_active_admins(db: Database) -> int:
    return db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1").fetchone()[0]


def record_login_failure(db: Database, username: str, address: str, at: float,
                         forget_before: float | None = None) -> None:
    """Note a failed sign-in (by the username as typed, known or not); forget failures older than `forget_before`."""
    if forget_before is not None:
        db.execute("DELETE FROM login_failures WHERE at < ?", [forget_before])
    db.execute("INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)",
               [username.lower(), address, at])


def login_failure_counts(db: Database, username: str, address: str, since: float) -> dict[str, Any]:
    """Failures after `since`: of this (account, address) pair with the time of its latest, of the account
    from any address, and of the address on any account."""
    row = db.execute(
        "SELECT count(*) AS pair, max(at) AS pair_latest,"
        " (SELECT count(*) FROM login_failures WHERE username = :username AND at > :since) AS account,"
        " (SELECT count(*) FROM login_failures WHERE address = :address AND at > :since) AS address"
        " FROM login_failures WHERE username = :username AND address = :address AND at > :since",
        {"username": username.lower(), "address": address, "since": since}).fetchone()
    return dict(row)


def clear_login_failures(db: Database, username: str, before: float, address: str | None = None) -> None:
    """Forget an account's failures (only those from `address` if given), and everyone's older than `before`."""
    if address is None:
        db.execute("DELETE FROM login_failures WHERE username = ? OR at < ?", [username.lower(), before])
    else:
        db.execute("DELETE FROM login_failures WHERE (username = ? AND address = ?) OR at < ?",
                   [username.lower(), address, before])


def add_setup_token(db: Database, token_hash: str) -> None:
    db.execute("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)", [token_hash, now()])


def add_setup_token_unless_recent(db: Database, token_hash: str, since: str) -> bool:
    """Store a token unless an unused one was made after `since` (another worker announced it); True if stored."""
    with transaction(db):
        recent = db.execute("SELECT 1 FROM setup_tokens WHERE used_at IS NULL AND created_at > ?", [since]).fetchone()
        if recent:
            return False
        add_setup_token(db, token_hash)
    return True


def use_setup_token(db: Database, token_hash: str) -> bool:
    """Mark an unused setup token used; False if it is unknown or used already."""
    cursor = db.execute("UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                        [now(), token_hash])
    return cursor.rowcount == 1


def setup_token_valid(db: Database, token_hash: str) -> bool:
    row = db.execute("SELECT 1 FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL",
                     [token_hash]).fetchone()
    return row is not None


# Sign-ins: the server's side of each session (the cookie holds only the token).

def start_sign_in(db: Database, user_id: int, token_hash: str, at: float, idle_seconds: float) -> None:
    """Record a new sign-in, and forget sign-ins that have been idle too long (of anyone)."""
    db.execute("DELETE FROM sign_ins WHERE last_seen < ?", [at - idle_seconds])
    db.execute("INSERT INTO sign_ins (token_hash, user_id, last_seen) VALUES (?, ?, ?)", [token_hash, user_id, at])


def signed_in_user(db: Database, token_hash: str, idle_since: float) -> dict[str, Any] | None:
    """The active user of a sign-in seen since `idle_since`, with the sign-in's `last_seen`; else None."""
    row = db.execute(
        "SELECT users.*, sign_ins.last_seen FROM sign_ins JOIN users ON users.id = sign_ins.user_id"
        " WHERE sign_ins.token_hash = ? AND sign_ins.last_seen >= ? AND users.active = 1",
        [token_hash, idle_since]).fetchone()
    return dict(row) if row else None


def touch_sign_in(db: Database, token_hash: str, at: float) -> None:
    db.execute("UPDATE sign_ins SET last_seen = ? WHERE token_hash = ?", [at, token_hash])


def end_sign_in(db: Database, token_hash: str) -> None:
    db.execute("DELETE FROM sign_ins WHERE token_hash = ?", [token_hash])


def end_sign_ins_of(db: Database, user_id: int) -> None:
    """Sign a user out everywhere (when the account is deactivated)."""
    db.execute("DELETE FROM sign_ins WHERE user_id = ?", [user_id])
