"""Concurrent writers to one run: every batch lands once, in one unbroken chain."""
from __future__ import annotations

import threading

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.runs import Actor, verify_chain
from donoharm.services import run_service
from tests.conftest import event


def test_parallel_batches_to_one_run_form_one_chain(app, api):
    run_id = api("acc").start_run()
    registry = app.extensions["donoharm.registry"]
    actor = Actor("acc", "accompanier")
    batches = [[event("note", note=f"Batch {b} note {i}") for i in range(5)] for b in range(12)]
    errors: list[BaseException] = []

    def send(batch):
        db = connect(app.config["DATABASE"])
        try:
            run_service.append_events(db, registry, run_id, batch, actor)
            run_service.append_events(db, registry, run_id, batch, actor)  # a replay changes nothing
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            db.conn.close()

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db = connect(app.config["DATABASE"])
    stored = runs_db.events_of(db, run_id)
    run = runs_db.get_run(db, run_id)
    db.conn.close()
    assert sorted(e["id"] for e in stored) == sorted(e["id"] for b in batches for e in b)
    assert [e["seq"] for e in stored] == list(range(1, 61))
    assert verify_chain(run, stored) == []
    assert run["event_count"] == 60 and run["head_hash"] == stored[-1]["hash"]
