"""Durability: a server killed with SIGKILL mid-stream loses no acknowledged event."""
from __future__ import annotations

import http.client
import os
import threading
import time
import urllib.error
import uuid
from datetime import UTC, datetime

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.runs import verify_chain
from tests.live_client import LiveClient, flask, free_port, start_server

PASSWORD = "crash test password"


def note(i: int) -> dict:
    return {"id": str(uuid.uuid4()), "type": "note", "note": f"Note {i}", "at": datetime.now(UTC).isoformat()}


def test_sigkill_while_streaming_keeps_every_acknowledged_event(tmp_path):
    env = {**os.environ, "DONOHARM_INSTANCE": str(tmp_path / "instance"),
           "DONOHARM_SECRET_KEY": "crash-test-secret-key-" + "0" * 40}
    flask(env, "users", "create", "acc", "--role", "accompanier", "--password-stdin", stdin=PASSWORD + "\n")
    port = free_port()
    server = start_server(env, port)
    client = LiveClient(f"http://127.0.0.1:{port}")
    client.login("acc", PASSWORD)
    run_id = str(uuid.uuid4())
    status, _ = client.call("PUT", f"/api/v1/runs/{run_id}", {
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001"})
    assert status == 201

    acknowledged: list[str] = []
    streaming = threading.Event()

    def kill_mid_stream() -> None:
        # Once the stream is well under way (however slow a loaded machine makes it), and while batches are in
        # flight: SIGKILL, so no shutdown handler runs.
        if streaming.wait(timeout=60):
            time.sleep(0.2)
        server.kill()

    killer = threading.Thread(target=kill_mid_stream, daemon=True)
    killer.start()
    i = 0
    try:
        while i < 100_000:
            batch = [note(i + k) for k in range(5)]
            i += 5
            try:
                status, body = client.call("POST", f"/api/v1/runs/{run_id}/events", {"events": batch}, timeout=5)
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
                break  # no whole answer (cut off mid-body too): not acknowledged
            assert status == 200, body
            acknowledged.extend(body["accepted"])
            if len(acknowledged) > 25:
                streaming.set()
    finally:
        streaming.set()
        killer.join(timeout=5)
        server.kill()
        server.wait()
    assert len(acknowledged) > 20, "the client streamed for a while before the kill"

    server = start_server(env, port)  # restart on the same database
    try:
        db = connect(str(tmp_path / "instance" / "donoharm.db"))
        stored = runs_db.events_of(db, run_id)
        run = runs_db.get_run(db, run_id)
        db.conn.close()
        stored_ids = {e["id"] for e in stored}
        assert set(acknowledged) <= stored_ids
        assert verify_chain(run, stored) == []
        assert run["event_count"] == len(stored)
        assert run["head_hash"] == stored[-1]["hash"]
    finally:
        server.kill()
        server.wait()
