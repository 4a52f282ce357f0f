"""A cached benchmark database: 100,000 runs and 5 million hash-chained events, built once under bench-out/.

Usage: python -m benchmarks.seed [--runs 100000] [--events-per-run 50]
"""
from __future__ import annotations

import argparse
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from donoharm import create_app
from donoharm.accounts.auth import hash_password
from donoharm.db import bulk, connect, transaction
from donoharm.runs import fold, genesis_hash, seal
from donoharm.services.library import get_registry

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
PASSWORD = "benchmark passphrase 2026"
SUPERVISOR = "benchsup"
SEED_VERSION = 1
SAMPLES = {"check": True, "yesno": "yes", "count": 3, "time": "21:30", "text": "Done as agreed."}
CHUNK = 1000


def instance_for(runs: int, per_run: int) -> Path:
    return OUT / f"bench-{runs}-{per_run}"


def _ids(prefix: int):
    """Sequential UUIDs: the same shape as a phone's, in insertion order so the load stays fast."""
    counter = 0
    while True:
        counter += 1
        yield str(uuid.UUID(int=(prefix << 96) | counter, version=4))


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plan(i: int) -> tuple[str, str]:
    """(mode, status) for the i-th run: a tenth practice; live ones mostly approved, some waiting or returned."""
    if i % 10 == 0:
        return "practice", ("submitted" if i % 20 == 0 else "in_progress")
    slot = i % 20
    status = ("in_progress" if slot < 3 else "submitted" if slot < 6 else "returned" if slot == 6 else "approved")
    return "live", status


def _events(run: dict, protocol, status: str, per_run: int, event_ids, supervisor: str) -> list[dict]:
    start = datetime.fromisoformat(run["created_at"].replace("Z", "+00:00"))
    raw: list[tuple] = []
    for n, step in enumerate(protocol.steps):
        if n == 1:
            raw.append(("step.na", step.id, None, "Not applicable at this site."))
        else:
            value = step.option_ids()[0] if step.kind == "choice" else SAMPLES[step.kind]
            raw.append(("step.set", step.id, value, None))
    raw.append(("deviation", protocol.steps[0].id, None, "Staff arrived after the entry."))
    closing = {"in_progress": [], "submitted": [("run.submitted", None, {"name": "Bench", "confirmed": True}, None)]}
    closing["returned"] = closing["submitted"] + [("review.returned", None, None, "Add the time of handover.")]
    closing["approved"] = closing["submitted"] + [("review.approved", None, None, None)]
    while len(raw) + len(closing[status]) < per_run:
        raw.append(("note", None, None, f"Bench note {len(raw)}"))
    raw = raw[:per_run - len(closing[status])] + closing[status]
    events, head, deviations = [], run["genesis_hash"], []
    for seq, (type_, step, value, note) in enumerate(raw, start=1):
        at = _stamp(start + timedelta(seconds=30 * seq))
        actor = supervisor if type_.startswith("review.") else run["created_by"]
        if type_ == "review.approved":
            value = {"acknowledged": deviations}  # an approval acknowledges every deviation
        event_id = next(event_ids)
        if type_ == "deviation":
            deviations.append(event_id)
        event = seal({"id": event_id, "run": run["id"], "type": type_, "step": step, "value": value,
                      "note": note, "at": at, "received_at": at, "actor": actor, "seq": seq}, head)
        head = event["hash"]
        events.append(event)
    return events


def build(runs: int, per_run: int, out: Path) -> None:
    """Fill a fresh instance folder's database with `runs` runs of `per_run` events each."""
    if out.exists():
        shutil.rmtree(out)
    app = create_app({"INSTANCE": out, "SECRET_KEY": "bench", "PREPARE": True})
    with app.app_context():
        protocols = [p for p in get_registry().all()]
    try:
        from donoharm.db.summaries import write_summary  # summary rows the review pages read
    except ImportError:
        write_summary = None
    db = connect(app.config["DATABASE"])
    password = hash_password(PASSWORD)
    created = _stamp(datetime.now(UTC))
    accompaniers = [f"acc{n:03d}" for n in range(200)]
    with bulk.bulk_mode(db), transaction(db):
        bulk.insert_users(db, [(name, password, "accompanier", created) for name in accompaniers] +
                          [(SUPERVISOR, password, "supervisor", created), ("benchadmin", password, "admin", created)])
    ids = bulk.user_ids(db)
    run_ids, event_ids = _ids(1), _ids(2)
    first = datetime.now(UTC) - timedelta(days=365)
    started = time.monotonic()
    with bulk.bulk_mode(db):
        for chunk in range(0, runs, CHUNK):
            batch_runs, batch_events, summaries = [], [], []
            for i in range(chunk, min(runs, chunk + CHUNK)):
                protocol = protocols[i % len(protocols)]
                mode, status = _plan(i)
                creator = accompaniers[i % len(accompaniers)]
                run = {"id": next(run_ids), "protocol_id": protocol.id, "protocol_version": protocol.version,
                       "protocol_sha256": protocol.sha256, "label": f"OP-BENCH-{i:06d}", "mode": mode,
                       "language": protocol.language, "created_by": creator, "creator_id": ids[creator],
                       "created_at": _stamp(first + timedelta(seconds=i * 365 * 86400 / runs))}
                run["received_at"] = run["created_at"]
                run["genesis_hash"] = genesis_hash(run)
                events = _events(run, protocol, status, per_run, event_ids, SUPERVISOR)
                state = fold(protocol, creator, mode, events)
                submitted = [e["received_at"] for e in events if e["type"] == "run.submitted"]
                run.update(status=state.status, head_hash=events[-1]["hash"], event_count=len(events),
                           submitted_at=submitted[-1] if submitted else None, updated_at=events[-1]["received_at"])
                batch_runs.append(run)
                batch_events.extend(events)
                summaries.append((run, state))
            with transaction(db):
                bulk.insert_runs(db, batch_runs)
                bulk.insert_events(db, batch_events)
                if write_summary:
                    for run, state in summaries:
                        write_summary(db, run, state)
            if chunk and chunk % (CHUNK * 10) == 0:
                print(f"  seeded {chunk:,} runs in {time.monotonic() - started:.0f} s", flush=True)
    db.conn.close()
    (out / "SEEDED").write_text(f"{SEED_VERSION} {runs} {per_run}\n")


def refresh(out: Path) -> None:
    """Bring a cached database up to date: migrations, totals derived from the summary rows, and no planner
    statistics (as on a server)."""
    app = create_app({"INSTANCE": out, "SECRET_KEY": "bench", "PREPARE": True})  # migrations added since the build
    db = connect(app.config["DATABASE"])
    try:
        from donoharm.db import summaries as review
    except ImportError:
        review = None
    with bulk.bulk_mode(db):
        if review is not None and hasattr(review, "rebuild_day_totals"):
            with transaction(db):
                review.rebuild_day_totals(db)
        bulk.forget_planner_statistics(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()


def ensure(runs: int = 100_000, per_run: int = 50) -> Path:
    """The instance folder of a seeded benchmark database, built on first use and then reused."""
    out = instance_for(runs, per_run)
    marker = out / "SEEDED"
    if not marker.exists() or marker.read_text().split() != [str(SEED_VERSION), str(runs), str(per_run)]:
        print(f"Building the benchmark database ({runs:,} runs x {per_run} events) in {out} once...", flush=True)
        started = time.monotonic()
        build(runs, per_run, out)
        print(f"  built in {time.monotonic() - started:.0f} s", flush=True)
    refresh(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--events-per-run", type=int, default=50)
    args = parser.parse_args()
    out = ensure(args.runs, args.events_per_run)
    db = connect(str(out / "donoharm.db"))
    print("runs, events:", bulk.counts(db))
    db.conn.close()


if __name__ == "__main__":
    main()
