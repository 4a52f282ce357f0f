"""Users, login throttling and setup tokens."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from . import transaction

ROLES = ("accompanier", "supervisor", "trainer", "admin")
# The password_hash of an invited person who has not chosen a password yet: no password matches it.
NO_PASSWORD = "!"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_user(db: Database, username: str, password_hash: str, role: str, full_name: str | None = None) -> int:
    """Insert a user and return its id (password_hash NO_PASSWORD: invited, no password yet)."""
    cursor = db.execute(
        "INSERT INTO users (username, password_hash, role, created_at, full_name) VALUES (?, ?, ?, ?, ?)",
        [username, password_hash, role, now(), full_name or None],
    )
    return cursor.lastrowid


def has_password(row: dict[str, Any]) -> bool:
    """False for an invited person who has not chosen a password yet."""
    return bool(row["password_hash"]) and not row["password_hash"].startswith(NO_PASSWORD)


def get_user(db: Database, user_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()
    return dict(row) if row else None


def find_user(db: Database, username: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
    return dict(row) if row else None


def list_users(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM users ORDER BY username")]


def full_names(db: Database, usernames: list[str] | None = None) -> dict[str, str]:
    """username -> full name of these users (all users when None) who have one: pages and internal records name
    staff by it, falling back to the username."""
    if usernames is None:
        rows = db.execute("SELECT username, full_name FROM users WHERE full_name IS NOT NULL AND full_name != ''")
    else:
        names = sorted(set(usernames))
        if not names:
            return {}
        rows = db.execute("SELECT username, full_name FROM users WHERE full_name IS NOT NULL AND full_name != '' "
                          f"AND username IN ({', '.join('?' * len(names))})", names)
    return {row["username"]: row["full_name"] for row in rows}


def update_user(db: Database, user_id: int, **fields: Any) -> None:
    """Change some of a user's fields (role, active, password_hash, language, protocols_seen_at, full_name and
    the second factor's: totp_secret, totp_pending_secret, totp_last_step, totp_enrolled_at)."""
    allowed = {"role", "active", "password_hash", "language", "protocols_seen_at", "full_name", "totp_secret",
               "totp_pending_secret", "totp_last_step", "totp_enrolled_at"}
    assert set(fields) <= allowed, fields
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(f"UPDATE users SET {assignments} WHERE id = ?", [*fields.values(), user_id])


def count_active_admins(db: Database) -> int:
    """Active administrators who can sign in (an invitation not yet accepted does not count)."""
    return db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND password_hash NOT LIKE ?",
                      [NO_PASSWORD + "%"]).fetchone()[0]


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


def end_sign_ins_of(db: Database, user_id: int, except_token_hash: str | None = None) -> int:
    """Sign a user out everywhere (deactivated, password reset), or everywhere but one sign-in (password
    changed there); return how many sign-ins ended."""
    cursor = db.execute("DELETE FROM sign_ins WHERE user_id = ? AND token_hash IS NOT ?", [user_id, except_token_hash])
    return cursor.rowcount


def use_totp_step(db: Database, user_id: int, step: int) -> bool:
    """Note that the code of a time step was used; False if that step or a later one was used already (a replay,
    or the same code sent twice at once)."""
    cursor = db.execute("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL"
                        " AND (totp_last_step IS NULL OR totp_last_step < ?)", [step, user_id, step])
    return cursor.rowcount == 1
