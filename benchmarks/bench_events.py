"""Benchmarks: events ingested per second through the API, and create_app() start time."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
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
ROOT = Path(__file__).resolve().parent.parent


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
        app = create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench", "PREPARE": True})
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
        create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench", "PREPARE": True})  # as `db migrate` leaves it
        started = time.perf_counter()
        create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench"})  # a start only wires
        return time.perf_counter() - started


def _wall(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - started


def command_start() -> tuple[float, float]:
    """(a cold `flask --app app protocols list` on a prepared instance, its floor: a cold `import flask` plus
    parsing the shipped protocols), in seconds: the issue's target is within 2x."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DONOHARM_INSTANCE": folder, "DONOHARM_SECRET_KEY": "bench-" + "0" * 40}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "migrate"], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=120)
        command = statistics.median(
            _wall([sys.executable, "-m", "flask", "--app", "app", "protocols", "list"], env) for _ in range(REPEATS))
        flask = statistics.median(_wall([sys.executable, "-c", "import flask"], env) for _ in range(REPEATS))
    parse = statistics.median(_parse_protocols() for _ in range(REPEATS))
    return command, flask + parse


def _parse_protocols() -> float:
    from donoharm.protocols import load_directory

    started = time.perf_counter()
    load_directory(ROOT / "protocols")
    return time.perf_counter() - started


def run() -> list[tuple[str, str]]:
    """Return (benchmark, median figure) rows."""
    batched = statistics.median(_events_per_second(50, 1000) for _ in range(REPEATS))
    single = statistics.median(_events_per_second(1, 200) for _ in range(REPEATS))
    start = statistics.median(_start_time() for _ in range(REPEATS))
    command, floor = command_start()
    return [
        ("events ingested, batches of 50 (API, one run of 1,000 events)", f"{batched:,.0f} events/s"),
        ("events ingested, one per request (API, 200 events)", f"{single:,.0f} events/s"),
        ("create_app() start time (a prepared instance: wiring only)", f"{start * 1000:,.0f} ms"),
        ("`flask protocols list`, cold (floor: import flask + parse protocols)",
         f"{command * 1000:,.0f} ms (floor {floor * 1000:,.0f} ms, {command / floor:.2f}x)"),
    ]


if __name__ == "__main__":
    for name, figure in run():
        print(f"{name:70} {figure}")
