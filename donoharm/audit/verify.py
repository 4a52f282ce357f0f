"""`db verify`: does the database still hold what was recorded, signed and checkpointed?

Three independent checks, each naming what it finds as `run <id> seq <n>: …`:
1. every run's chain, header to head, and its cached head and count;
2. every issued record: the file is there, unchanged (sha256), and the chain head it signed is still in the
   run's chain at the position the record says (a file deleted because a redaction superseded it: its head is
   still in the chain);
3. the newest checkpoint: genuine, and every run still reaches the head it held then;
4. every published transparency report: the runs it counted still hold the chain heads it counted.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from cryptography import x509
from sqlite_utils import Database

from ..db import integrity as integrity_db
from ..db import runs as runs_db
from ..runs.integrity import first_fault
from . import checkpoints


@dataclass
class Report:
    runs: int = 0
    events: int = 0
    records: int = 0
    reports: int = 0
    checkpoint: str | None = None
    problems: list[str] = field(default_factory=list)


def verify_chains(db: Database, report: Report, now: str | None) -> None:
    """Check every run's header, chain and cached head; with `now`, note each fault for administrators."""
    for run_id in integrity_db.run_ids(db):
        run, events = runs_db.run_with_events(db, run_id)
        if run is None:  # deleted since the list was read (practice-run retention)
            continue
        report.runs += 1
        report.events += len(events)
        fault = first_fault(run, events)
        if fault is not None:
            report.problems.append(f"run {run_id} seq {fault.seq}: {fault.problem}")
            if now is not None:
                integrity_db.record_fault(db, run_id, fault.seq, fault.problem, now)  # shown to administrators


def verify_records(db: Database, instance: Path, report: Report) -> None:
    for record in integrity_db.all_records(db):
        report.records += 1
        where = f"run {record['run_id']} record {record['id']}"
        path = instance / record["path"]
        try:
            data = path.read_bytes()
        except OSError:
            if not record["redacted"]:
                report.problems.append(f"{where}: the signed file is missing ({record['path']})")
            elif runs_db.position_of(db, record["run_id"], record["head_hash"]) is None:
                report.problems.append(f"{where}: the history this record signed was changed afterwards (its "
                                       "chain head is no longer in the run's chain)")
            # else deleted on purpose: it held a text a redaction removed (the administrator's list)
            continue
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            report.problems.append(f"{where}: the file differs from the one issued (sha256)")
            continue
        signed = _signed_position(data)
        if signed is None:
            report.problems.append(f"{where}: the file carries no readable audit-record.json")
            continue
        run_id, head, count = signed
        if run_id != record["run_id"] or head != record["head_hash"]:
            report.problems.append(f"{where}: the run or chain head in the database differs from the signed file")
            continue
        stored = integrity_db.head_at(db, run_id, count)
        if stored != head:
            report.problems.append(f"run {run_id} seq {count}: the history the record {record['id']} signed was "
                                   "changed afterwards (its chain head is no longer at that position)")


def _signed_position(data: bytes) -> tuple[str, str, int] | None:
    """(run id, head hash, event count) from a record's embedded audit-record.json."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from ..records.verify import decode_limits, embedded_record

    try:
        document = embedded_record(PdfFileReader(BytesIO(data), strict=False, decode_limits=decode_limits()))
        run = document["run"]
        position = (run["id"], run["head_hash"], run["event_count"])
    except Exception:  # a damaged file is a finding, not a crash
        return None
    return position if all(isinstance(v, t) for v, t in zip(position, (str, str, int), strict=True)) else None


def verify_last_checkpoint(db: Database, instance: Path, roots: list[x509.Certificate], report: Report,
                           check_timestamp: Callable | None = None) -> None:
    files = checkpoints.listing(instance)
    if not files:
        return
    report.checkpoint = files[0].name
    try:
        checkpoint = checkpoints.load(files[0])
    except checkpoints.CheckpointError as error:
        report.problems.append(f"checkpoint: {error}")
        return
    report.problems.extend(f"checkpoint {files[0].name}: {p}"
                           for p in checkpoints.problems_of(checkpoint, roots, check_timestamp))
    report.problems.extend(checkpoints.differences(db, checkpoint))


def verify_reports(db: Database, report: Report) -> None:
    """A published report's figures stand only while the runs behind them are unchanged (reports.check)."""
    from ..db import reports as reports_db
    from ..services import reports  # the service (it signs with the records package): imported when used

    for row in reports_db.published(db):
        report.reports += 1
        intact, lines = reports.check(db, row["id"])
        if not intact:
            report.problems.extend(f"report {row['id']}: {line}" for line in lines[1:])


def verify_instance(db: Database, instance: Path, roots: list[x509.Certificate], now: str,
                    check_timestamp: Callable | None = None) -> Report:
    report = Report()
    verify_chains(db, report, now)
    verify_records(db, instance, report)
    verify_last_checkpoint(db, instance, roots, report, check_timestamp)
    verify_reports(db, report)
    return report
