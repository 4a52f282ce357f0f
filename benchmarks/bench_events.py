"""Benchmarks: events ingested per second through the API, and create_app() start time."""
from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from donoharm import create_app
from donoharm.auth import hash_password
from donoharm.db import connect
from donoharm.db import users as users_db

PASSWORD = "benchmark passphrase 2026"
REPEATS = 5


def _notes(count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [{"id": str(uuid.uuid4()), "type": "note", "note": f"Benchmark note {i}", "at": now} for i in range(count)]


def _signed_in_client(app):
    db = connect(app.config["DATABASE"])
    users_db.create_user(db, "bench", hash_password(PASSWORD), "accompanier")
    db.conn.close()
    client = app.test_client()
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    return client, {"X-CSRFToken": csrf}


def _events_per_second(batch: int, total: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench"})
        client, headers = _signed_in_client(app)
        run_id = str(uuid.uuid4())
        client.put(f"/api/v1/runs/{run_id}", headers=headers, json={
            "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-BENCH-001"})
        started = time.perf_counter()
        for _ in range(total // batch):
            response = client.post(f"/api/v1/runs/{run_id}/events", headers=headers, json={"events": _notes(batch)})
            assert response.status_code == 200, response.get_json()
        return total / (time.perf_counter() - started)


def _start_time() -> float:
    with tempfile.TemporaryDirectory() as folder:
        create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench"})  # first start creates the database
        started = time.perf_counter()
        create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench"})
        return time.perf_counter() - started


def run() -> list[tuple[str, str]]:
    """Return (benchmark, median figure) rows."""
    batched = statistics.median(_events_per_second(50, 1000) for _ in range(REPEATS))
    single = statistics.median(_events_per_second(1, 200) for _ in range(REPEATS))
    start = statistics.median(_start_time() for _ in range(REPEATS))
    return [
        ("events ingested, batches of 50 (API, one run of 1,000 events)", f"{batched:,.0f} events/s"),
        ("events ingested, one per request (API, 200 events)", f"{single:,.0f} events/s"),
        ("create_app() start time", f"{start * 1000:,.0f} ms"),
    ]


if __name__ == "__main__":
    for name, figure in run():
        print(f"{name:70} {figure}")
