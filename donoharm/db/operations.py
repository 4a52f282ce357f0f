"""Operations: runs of several protocols, by one or several staff, grouped under one label and UTC day."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

OPERATION_COLUMNS = "o.id, o.label, o.day, o.created_at, u.username AS created_by"


def get_operation(db: Database, operation_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {OPERATION_COLUMNS} FROM operations o JOIN users u ON u.id = o.created_by "
                     "WHERE o.id = ?", [operation_id]).fetchone()
    return dict(row) if row else None


def insert_operation(db: Database, operation: dict[str, Any], creator_id: int) -> None:
    db.execute("INSERT INTO operations (id, label, day, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
               [operation["id"], operation["label"], operation["day"], creator_id, operation["created_at"]])


def operations_of_day(db: Database, day: str) -> list[dict[str, Any]]:
    """The operations started on a UTC day (YYYY-MM-DD), the latest first, each with how many runs it has."""
    rows = db.execute(
        f"""SELECT {OPERATION_COLUMNS}, (SELECT count(*) FROM runs r WHERE r.operation_id = o.id) AS run_count
            FROM operations o JOIN users u ON u.id = o.created_by
            WHERE o.day = ? ORDER BY o.created_at DESC, o.id""", [day])
    return [dict(r) for r in rows]


def runs_of_operation(db: Database, operation_id: str) -> list[dict[str, Any]]:
    """An operation's runs in the order they were started, each with its red flag count from its summary."""
    rows = db.execute(
        """SELECT r.id, r.label, r.protocol_id, r.protocol_version, r.mode, r.status, r.language, r.created_at,
                  u.username AS created_by, r.created_by AS creator_id, COALESCE(f.flag_count, 0) AS flag_count
           FROM runs r JOIN users u ON u.id = r.created_by LEFT JOIN run_facts f ON f.run_id = r.id
           WHERE r.operation_id = ? ORDER BY r.created_at, r.id""", [operation_id])
    return [dict(r) for r in rows]
