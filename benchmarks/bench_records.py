"""Benchmark: render and sign the record of a 60-step run with 200 events (target: under 1 s median)."""
from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from donoharm import create_app
from donoharm.protocols.model import build_protocol
from donoharm.records.render import page_size, record_html, record_pdf, stamp_box
from donoharm.records.signing import sign_pdf, signing_key
from donoharm.runs import fold

REPEATS = 5
STEPS, EVENTS = 60, 200


def _protocol():
    kinds = ["check", "yesno", "count", "time", "text", "choice"]
    phases = []
    for p in range(4):
        steps = []
        for s in range(STEPS // 4):
            kind = kinds[(p * 15 + s) % len(kinds)]
            step = {"id": f"step-{p}-{s}", "text": f"Benchmark step {p}.{s}: was the agreed action taken as the "
                    "protocol describes, and was it recorded by role?", "kind": kind, "critical": s % 3 == 0,
                    "sources": ["S1"]}
            if kind == "choice":
                step["options"] = [{"id": "a", "label": "On site"}, {"id": "b", "label": "At a staging area"}]
            steps.append(step)
        phases.append({"id": f"phase-{p}", "title": f"Phase {p + 1}", "steps": steps})
    return build_protocol({"id": "bench-protocol", "version": "1.0.0", "title": "Benchmark protocol",
                           "summary": "Sixty steps.", "language": "en", "sources": {"S1": "Benchmark"},
                           "phases": phases})


def _events(protocol) -> list[dict]:
    samples = {"check": True, "yesno": "yes", "count": 3, "time": "21:30", "text": "Done as agreed.", "choice": "a"}
    start = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)
    events, head = [], "0" * 64
    steps = protocol.steps
    for i in range(EVENTS):
        step = steps[i % len(steps)]
        kind, value, note = ("step.set", samples[step.kind], None) if i < 180 else ("note", None, "Benchmark note")
        if i == EVENTS - 1:
            kind, value, note, step = "run.submitted", {"name": "Bench Accompanier", "confirmed": True}, None, None
        at = (start + timedelta(seconds=30 * i)).isoformat()
        digest = hashlib.sha256(f"{head}{i}".encode()).hexdigest()
        events.append({"id": str(uuid.uuid4()), "seq": i + 1, "type": kind, "step": step.id if step else None,
                       "value": value, "note": note, "at": at, "received_at": at, "actor": "bench",
                       "prev_hash": head, "hash": digest})
        head = digest
    return events


def bench_record(repeats: int = REPEATS, size: str = "A4", output: Path | None = None) -> dict:
    """Render and sign a 60-step/200-event record `repeats` times; return median seconds and size in bytes.

    `output` keeps the last PDF there, to look at it.
    """
    protocol = _protocol()
    events = _events(protocol)
    state = fold(protocol, "bench", "live", events)
    run = {"id": str(uuid.uuid4()), "protocol_id": protocol.id, "protocol_version": protocol.version,
           "protocol_sha256": protocol.sha256, "label": "OP-BENCH-001", "mode": "live", "language": "en",
           "created_by": "bench", "created_at": events[0]["at"], "received_at": events[0]["at"],
           "status": "submitted", "head_hash": events[-1]["hash"], "event_count": len(events),
           "submitted_at": events[-1]["at"], "updated_at": events[-1]["at"]}
    document = {"run": run, "state": state.to_json(), "events": events}
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "INSTANCE": Path(folder), "SECRET_KEY": "bench",
                          "RECORD_PAGE_SIZE": size})
        with app.test_request_context():
            key = signing_key()
            times, pdf = [], b""
            for _ in range(repeats + 1):  # the first run warms up fonts and templates
                started = time.perf_counter()
                html = record_html(str(uuid.uuid4()), datetime.now(UTC).isoformat(), "run.submitted", run,
                                   protocol, state, events, None)
                pdf = sign_pdf(record_pdf(html, document), key, "Signed by %(signer)s\n%(ts)s",
                               stamp_box(page_size()))
                times.append(time.perf_counter() - started)
    times = times[1:]
    if output:
        Path(output).write_bytes(pdf)
    return {"name": f"record render+sign ({STEPS} steps, {EVENTS} events, {size})",
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "size_bytes": len(pdf), "repeats": repeats}


if __name__ == "__main__":
    print(bench_record())
