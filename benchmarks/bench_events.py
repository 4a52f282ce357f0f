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
from donoharm.accounts.auth import hash_password
from donoharm.db import connect
from donoharm.db import users as users_db

PASSWORD = "benchmark passphrase 2026"
REPEATS = 5
ROOT = Path(__file__).resolve().parent.parent


def _notes(count: int, numbered: bool = True) -> list[dict]:
    """Notes as a phone sends them; `numbered` ones hold a digit, so the personal-data guard reads each one."""
    now = datetime.now(UTC).isoformat()
    return [{"id": str(uuid.uuid4()), "type": "note", "at": now,
             "note": f"Benchmark note {i}" if numbered else "Benchmark note, team briefed on arrival"}
            for i in range(count)]


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


def _sealed_notes(run: dict, count: int, head: str, seq: int) -> tuple[list[dict], str]:
    """Events sealed as an append stores them, for the SQLite floor (no validation, no fold)."""
    from donoharm.runs import seal
    from donoharm.runs.chain import commit_texts

    sealed = []
    for raw in _notes(count):
        seq += 1
        event = seal(commit_texts({**raw, "step": None, "value": None, "run": run["id"], "seq": seq,
                                   "received_at": raw["at"], "actor": "bench", "text_confirmed": False},
                                  False), head)
        head = event["hash"]
        sealed.append(event)
    return sealed, head


def appends_at_depth(total: int = 5000, batch: int = 50, numbered: bool = True) -> dict[str, float]:
    """Milliseconds per batch of `batch` notes through the one append path (run_service.append_events, no
    HTTP), at the start of a run and once it holds `total` events; and the floor: the same rows inserted into
    SQLite in one transaction per batch, with the app's connection settings (durable commits)."""
    from donoharm.db import runs as runs_db
    from donoharm.db import transaction
    from donoharm.runs import Actor
    from donoharm.services import run_service
    from donoharm.services.library import get_registry

    actor = Actor("bench", "accompanier")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench", "PREPARE": True})
        db = connect(app.config["DATABASE"])
        user = users_db.create_user(db, "bench", "x", "accompanier")
        with app.test_request_context():
            registry = get_registry()
            runs = []
            for label in ("OP-BENCH-001", "OP-BENCH-002"):
                run_id = str(uuid.uuid4())
                run_service.start_run(db, registry, run_id, {"protocol_id": "immigration-separation",
                                                             "protocol_version": "1.0.0", "label": label},
                                      actor, user)
                runs.append(run_id)
            times = []
            for _ in range(total // batch):
                events = _notes(batch, numbered)
                started = time.perf_counter()
                run_service.append_events(db, registry, runs[0], events, actor)
                times.append(time.perf_counter() - started)
            floor_times = []
            run = runs_db.get_run(db, runs[1])
            head, seq = run["head_hash"], 0
            for _ in range(20):
                sealed, head = _sealed_notes(run, batch, head, seq)
                seq += batch
                started = time.perf_counter()
                with transaction(db):
                    runs_db.insert_events(db, sealed)
                floor_times.append(time.perf_counter() - started)
        db.conn.close()
    first, last = statistics.median(times[:10]), statistics.median(times[-10:])
    return {"first_ms": first * 1000, "last_ms": last * 1000, "floor_ms": statistics.median(floor_times) * 1000,
            "events_per_s": batch / last}


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
        # As a server starts: with the bytecode Python writes on the first run (a PYTHONDONTWRITEBYTECODE in the
        # environment would compile every module of the app from source at each start, but not Flask's, which pip
        # compiled at install). The migrate below is that first run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "migrate"], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=120)
        _wall([sys.executable, "-m", "flask", "--app", "app", "protocols", "list"], env)  # and every command module
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
    depth = appends_at_depth(numbered=False)
    guarded = appends_at_depth(numbered=True)
    return [
        ("append a batch of 50 notes (run_service, no HTTP): first batches", f"{depth['first_ms']:.2f} ms"),
        ("  the same at 5,000 events (target: flat, within 3x of the floor)",
         f"{depth['last_ms']:.2f} ms ({depth['last_ms'] / depth['first_ms']:.2f}x the first; "
         f"{depth['events_per_s']:,.0f} events/s)"),
        ("  floor: the same 50 rows inserted into SQLite, one transaction",
         f"{depth['floor_ms']:.2f} ms (append at 5,000 events: {depth['last_ms'] / depth['floor_ms']:.1f}x)"),
        ("  notes holding a number (the personal-data guard reads each)",
         f"{guarded['last_ms']:.2f} ms at 5,000 events ({guarded['events_per_s']:,.0f} events/s)"),
        ("events ingested, batches of 50 (API, one run of 1,000 events)", f"{batched:,.0f} events/s"),
        ("events ingested, one per request (API, 200 events)", f"{single:,.0f} events/s"),
        ("create_app() start time (a prepared instance: wiring only)", f"{start * 1000:,.0f} ms"),
        ("`flask protocols list`, cold (floor: import flask + parse protocols)",
         f"{command * 1000:,.0f} ms (floor {floor * 1000:,.0f} ms, {command / floor:.2f}x)"),
    ]


if __name__ == "__main__":
    for name, figure in run():
        print(f"{name:70} {figure}")
