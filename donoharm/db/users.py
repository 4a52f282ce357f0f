"""Users, login throttling and setup tokens."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

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


def record_login_failure(db: Database, username: str, address: str, at: float) -> None:
    db.execute("INSERT INTO login_failures (username, address, at) VALUES (?, ?, ?)",
               [username.lower(), address, at])


def login_failures_since(db: Database, username: str, address: str, since: float) -> tuple[int, int]:
    """Failures since a time: (for this account, from this address)."""
    by_user = db.execute("SELECT count(*) FROM login_failures WHERE username = ? AND at > ?",
                         [username.lower(), since]).fetchone()[0]
    by_address = db.execute("SELECT count(*) FROM login_failures WHERE address = ? AND at > ?",
                            [address, since]).fetchone()[0]
    return by_user, by_address


def clear_login_failures(db: Database, username: str, before: float) -> None:
    db.execute("DELETE FROM login_failures WHERE username = ? OR at < ?", [username.lower(), before])


def add_setup_token(db: Database, token_hash: str) -> None:
    db.execute("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)", [token_hash, now()])


def use_setup_token(db: Database, token_hash: str) -> bool:
    """Mark an unused setup token used; False if it is unknown or used already."""
    cursor = db.execute("UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                        [now(), token_hash])
    return cursor.rowcount == 1


def setup_token_valid(db: Database, token_hash: str) -> bool:
    row = db.execute("SELECT 1 FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL",
                     [token_hash]).fetchone()
    return row is not None
