"""Benchmark: the review queue and oversight pages over many runs (summary rows made directly in SQL)."""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from donoharm import create_app
from donoharm.accounts.auth import hash_password
from donoharm.db import connect
from donoharm.db import summaries as summaries_db
from donoharm.db import users as users_db

PASSWORD = "benchmark passphrase 2026"


def _fill(app, runs: int) -> None:
    """Insert `runs` submitted-or-later live runs of one protocol with their summary rows (no events)."""
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    steps = [s.id for s in protocol.steps]
    db = connect(app.config["DATABASE"])
    acc = users_db.create_user(db, "acc", hash_password(PASSWORD), "accompanier")
    users_db.create_user(db, "sup", hash_password(PASSWORD), "supervisor")
    rng = random.Random(1)
    start = datetime.now(UTC) - timedelta(days=360)
    db.execute("BEGIN")
    for i in range(runs):
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = start + timedelta(minutes=5 * i * 360 * 24 * 12 // max(runs, 1) // 12)
        at = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = rng.choice(("submitted", "returned", "approved", "approved"))
        db.execute("INSERT INTO runs (id, protocol_id, protocol_version, protocol_sha256, label, mode, created_by, "
                   "created_at, received_at, genesis_hash, status, head_hash, event_count, submitted_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, 'live', ?, ?, ?, 'g', ?, 'h', 40, ?, ?)",
                   [run_id, protocol.id, protocol.version, protocol.sha256, f"OP-BENCH-{i}", acc, at, at, status,
                    at, at])
        rows = [(run_id, s, rng.choice(("done", "done", "done", "na")), int(rng.random() < 0.05)) for s in steps]
        db.conn.executemany("INSERT INTO run_steps (run_id, step_id, status, deviated) VALUES (?, ?, ?, ?)", rows)
        db.execute("INSERT INTO run_facts (run_id, live, protocol_id, protocol_version, start_day, submitted, "
                   "returned, approved, seconds_to_submit, done_count, na_count, deviation_count) "
                   "VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                   [run_id, protocol.id, protocol.version, created.date().isoformat(), int(status == "returned"),
                    int(status == "approved"), rng.uniform(600, 20000), sum(r[2] == "done" for r in rows),
                    sum(r[2] == "na" for r in rows), sum(r[3] for r in rows)])
    db.execute("COMMIT")
    summaries_db.rebuild_day_totals(db)
    db.conn.close()


def _timed(client, path: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, path
    return statistics.median(times) * 1000


def run(runs: int = 100_000) -> list[tuple[str, str]]:
    """Return (benchmark, median figure) rows."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench", "PREPARE": True})
        _fill(app, runs)
        client = app.test_client()
        import re

        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
        client.post("/login", data={"username": "sup", "password": PASSWORD, "csrf_token": token.group(1)})
        return [(f"/review, {runs:,} runs", f"{_timed(client, '/review'):,.0f} ms"),
                (f"/review?status=approved&accompanier=acc, {runs:,} runs",
                 f"{_timed(client, '/review?status=approved&accompanier=acc'):,.0f} ms"),
                (f"/oversight (365 days), {runs:,} runs", f"{_timed(client, '/oversight'):,.0f} ms"),
                (f"/oversight.csv (365 days), {runs:,} runs", f"{_timed(client, '/oversight.csv'):,.0f} ms")]


if __name__ == "__main__":
    for name, figure in run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000):
        print(f"{name:70} {figure}")
