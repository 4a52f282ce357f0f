"""Invitation and reset links, recovery codes, second-factor failures and the account audit log (issue 19).

Only hashes of link tokens and recovery codes are stored. Times are ISO 8601 UTC text, except the failure
times (seconds since the epoch, like login_failures).
"""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

LINK_KINDS = ("invitation", "reset")


# --- One-time links -------------------------------------------------------------------------------------------

def add_link(db: Database, kind: str, user_id: int, token_hash: str, created_by: int | None, created_at: str,
             expires_at: str) -> None:
    """Store a new link of `kind` for a user; that user's earlier unused links of the same kind stop working."""
    assert kind in LINK_KINDS, kind
    void_links(db, user_id, created_at, kind)
    db.execute("INSERT INTO account_links (token_hash, kind, user_id, created_by, created_at, expires_at)"
               " VALUES (?, ?, ?, ?, ?, ?)", [token_hash, kind, user_id, created_by, created_at, expires_at])


def void_links(db: Database, user_id: int, at: str, kind: str | None = None) -> int:
    """Make a user's unused links (of one kind, or all) unusable; return how many."""
    sql = "UPDATE account_links SET voided_at = ? WHERE user_id = ? AND used_at IS NULL AND voided_at IS NULL"
    params: list[Any] = [at, user_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return db.execute(sql, params).rowcount


def find_link(db: Database, token_hash: str) -> dict[str, Any] | None:
    """A link by its token's hash, with its user's username, role, active flag and password_hash."""
    row = db.execute(
        "SELECT account_links.*, users.username, users.role, users.active, users.password_hash, users.full_name,"
        " users.totp_secret FROM account_links JOIN users ON users.id = account_links.user_id"
        " WHERE account_links.token_hash = ?", [token_hash]).fetchone()
    return dict(row) if row else None


def use_link(db: Database, token_hash: str, kind: str, at: str) -> bool:
    """Mark a link used if it is of `kind`, unused, not voided and not expired at `at`; True if this call did."""
    cursor = db.execute("UPDATE account_links SET used_at = ? WHERE token_hash = ? AND kind = ? AND used_at IS NULL"
                        " AND voided_at IS NULL AND expires_at > ?", [at, token_hash, kind, at])
    return cursor.rowcount == 1


def latest_invitations(db: Database) -> dict[int, dict[str, Any]]:
    """The newest invitation link of each user, by user id (for the administrators' list)."""
    rows = db.execute(
        "SELECT * FROM account_links AS l WHERE kind = 'invitation' AND created_at = "
        "(SELECT max(created_at) FROM account_links WHERE kind = 'invitation' AND user_id = l.user_id)").fetchall()
    return {row["user_id"]: dict(row) for row in rows}


# --- Recovery codes -------------------------------------------------------------------------------------------

def replace_recovery_codes(db: Database, user_id: int, code_hashes: list[str]) -> None:
    """A user's recovery codes are these from now on (the old ones, used or not, are forgotten)."""
    db.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])
    db.conn.executemany("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
                        [(user_id, code_hash) for code_hash in code_hashes])


def use_recovery_code(db: Database, user_id: int, code_hash: str, at: str) -> bool:
    """Mark an unused recovery code of a user used; False if it is not theirs or was used already."""
    cursor = db.execute("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
                        [at, user_id, code_hash])
    return cursor.rowcount == 1


def recovery_codes_left(db: Database, user_id: int) -> int:
    return db.execute("SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
                      [user_id]).fetchone()[0]


def forget_recovery_codes(db: Database, user_id: int) -> None:
    db.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])


# --- Failed second-factor attempts (throttling) ------------------------------------------------------------------

def record_second_factor_failure(db: Database, user_id: int, address: str, at: float, forget_before: float) -> None:
    """Note a failed (or not yet checked) code; forget everyone's failures older than `forget_before`."""
    db.execute("DELETE FROM second_factor_failures WHERE at < ?", [forget_before])
    db.execute("INSERT INTO second_factor_failures (user_id, address, at) VALUES (?, ?, ?)", [user_id, address, at])


def second_factor_failure_counts(db: Database, user_id: int, address: str, since: float) -> dict[str, Any]:
    """Failures after `since` of this (account, address) pair and of the account from anywhere, each with its
    latest time."""
    row = db.execute(
        "SELECT count(*) AS account, max(at) AS account_latest,"
        " sum(address = :address) AS pair, max(CASE WHEN address = :address THEN at END) AS pair_latest"
        " FROM second_factor_failures WHERE user_id = :user_id AND at > :since",
        {"user_id": user_id, "address": address, "since": since}).fetchone()
    return {"account": row["account"], "account_latest": row["account_latest"], "pair": row["pair"] or 0,
            "pair_latest": row["pair_latest"]}


def clear_second_factor_failures(db: Database, user_id: int, address: str | None = None) -> None:
    """Forget a user's failures: from one address (a code accepted there), or all (their second factor reset)."""
    if address is None:
        db.execute("DELETE FROM second_factor_failures WHERE user_id = ?", [user_id])
    else:
        db.execute("DELETE FROM second_factor_failures WHERE user_id = ? AND address = ?", [user_id, address])


# --- The account audit log ----------------------------------------------------------------------------------------

def add_audit(db: Database, at: str, actor_id: int | None, actor: str, action: str, subject_id: int | None,
              subject: str, detail: str = "") -> None:
    db.execute("INSERT INTO account_audit (at, actor_id, actor, action, subject_id, subject, detail)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)", [at, actor_id, actor, action, subject_id, subject, detail])


def audit_entries(db: Database, before_id: int | None = None, limit: int = 100,
                  subject_id: int | None = None) -> list[dict[str, Any]]:
    """The newest entries first (older than `before_id` if given; only about one user if `subject_id`)."""
    sql, params = "SELECT * FROM account_audit WHERE 1 = 1", []
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    if subject_id is not None:
        sql += " AND subject_id = ?"
        params.append(subject_id)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [dict(row) for row in db.execute(sql, params)]
