"""`db restore`: check a backup completely beside the live instance, and swap it in only if every check passes.

It takes a full archive from `db backup --full` (database, records, keys, checkpoints) or a database from
`db backup` (then the instance's own records and keys are checked against it). Before anything changes it
checks the archive (every member's sha256 against the manifest, no member outside the folder), the database
(SQLite integrity, Do No Harm tables, pending migrations applied), every run's hash chain, every record file
against its sha256 and the chain head it signed, and every key against its certificate. On any problem it
names each one, removes what it unpacked and leaves the live instance exactly as it was (exit 1).
The server must be stopped: a restore replaces the files it holds open.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from ..backup import archive, checks, swap
from . import connect, create_private, migrate, release_kept_connection
from . import integrity as integrity_db

SQLITE_HEADER = b"SQLite format 3\x00"
DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


def check_backup(source: Path, shown_as: str | None = None) -> None:
    """Raise ClickException unless `source` (named `shown_as` in messages) is an intact Do No Harm database."""
    try:
        _check_database(source)
    except click.ClickException as error:
        if shown_as:
            error.message = error.message.replace(str(source), shown_as)
        raise


def _check_database(source: Path) -> None:
    if not source.is_file():
        raise click.ClickException(f"{source} is not a file")
    try:
        with open(source, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except PermissionError:
        raise click.ClickException(f"cannot read {source}: permission denied") from None
    if header != SQLITE_HEADER:
        raise click.ClickException(f"{source} is not a SQLite database (nor a full backup archive)")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{source} is not a readable SQLite database ({error})") from None
    if ok != "ok":
        raise click.ClickException(f"{source} is damaged: {ok}")
    if not {"runs", "events", "users"} <= tables:
        raise click.ClickException(f"{source} is not a Do No Harm database (no runs, events or users table)")


def holds_data(db: Database) -> bool:
    """True when the database has any user or run (a restore would overwrite them)."""
    return bool(db.execute("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM runs)").fetchone()[0])


def chain_problems(db: Database) -> tuple[int, int, list[str]]:
    """Verify every run's header, chain and cached head, as `db verify` does; return (runs, events, problems)."""
    from ..audit.verify import Report, verify_chains  # audit imports this package

    report = Report()
    verify_chains(db, report, now=None)  # a candidate, not yet this instance: nothing to tell administrators
    return report.runs, report.events, report.problems


@dataclass
class Candidate:
    """A restore made ready in the staging folder: `swap` goes into the instance (all of it, or `only` the
    database files), `files` is where its records and keys are (the instance itself for a database backup)."""

    database: Path
    files: Path
    swap: Path
    only: set[str] | None
    shown_as: str
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def stage_database(source: Path, staging: Path, instance: Path, database: Path) -> Candidate:
    """Copy a database backup into the staging folder (readable there whatever the backup's folder allows)."""
    folder = staging / "database"
    folder.mkdir(mode=0o700)
    copy = folder / database.name
    create_private(copy)
    shutil.copyfile(source, copy)
    return Candidate(copy, instance, folder, {database.name + suffix for suffix in DB_SUFFIXES}, str(source))


def stage_archive(source: Path, staging: Path, database: Path, problems: list[str]) -> Candidate | None:
    """Unpack and check a full archive; None (with `problems`) when its content cannot be trusted."""
    into = staging / "unpacked"
    into.mkdir(mode=0o700)
    manifest, found = archive.unpack(source, into)
    problems.extend(found)
    if manifest is None or found:
        return None
    files = into / "instance"
    listed = manifest["files"]  # names checked against the archive's members: none leads outside `into`
    member = PurePosixPath(str(manifest.get("database", "")))
    if member.parent != PurePosixPath("instance") or str(member) not in listed:
        problems.append(f"{source}: the database named in the manifest ({member}) is not in the archive")
        return None
    (into / member).rename(files / database.name)
    candidate = Candidate(files / database.name, files, files, None, f"{source}: {member}")
    if not manifest.get("root_key_included"):
        candidate.notes.append("The archive holds no records root key (signing-root.key): keep yours offline; "
                               "it is needed only to issue a new signing certificate.")
    p12 = manifest.get("signing_p12")
    if isinstance(p12, dict) and p12.get("member") in listed:
        checked, p12_found = checks.p12_problems(into / p12["member"], current_app.config.get("SIGNING_P12_PASSWORD"))
        problems.extend(p12_found)
        kept = files / "restored-settings" / f"signing-{swap.stamp()}.p12"
        kept.parent.mkdir(mode=0o700, exist_ok=True)
        (into / p12["member"]).rename(kept)
        unchecked = "" if checked else " (not checked: no password to open it)"
        candidate.notes.append(f"The organisation's PKCS#12 from the backup (configured then as "
                               f"{p12['configured_path']}) is now {current_app.instance_path}/"
                               f"{kept.relative_to(files)}{unchecked}; DONOHARM_SIGNING_P12 was not changed.")
    return candidate


def candidate_problems(candidate: Candidate) -> list[str]:
    """Check the staged database, its chains, its record files and the keys; return every problem."""
    from ..audit.verify import Report, verify_records

    try:
        check_backup(candidate.database, candidate.shown_as)
        migrate(str(candidate.database))
    except click.ClickException as error:
        return [error.format_message()]
    except sqlite3.Error as error:  # a migration that fails on this database
        return [f"the database cannot be brought up to date ({error})"]
    finally:
        Path(f"{candidate.database}.migrate-lock").unlink(missing_ok=True)
    db = connect(str(candidate.database))
    try:
        runs, events, problems = chain_problems(db)
        problems.extend(outside_paths(db, candidate.files))
        report = Report()
        verify_records(db, candidate.files, report)
    finally:
        db.conn.close()
    keys, key_found = checks.key_problems(candidate.files)
    candidate.counts = {"runs": runs, "events": events, "records": report.records, "keys": keys}
    return problems + report.problems + key_found


def outside_paths(db: Database, files: Path) -> list[str]:
    """Record rows whose file would lie outside the instance folder (the app would serve it as a record)."""
    root = files.resolve()
    return [f"run {row['run_id']} record {row['id']}: its file path {row['path']!r} leads outside the instance"
            for row in integrity_db.all_records(db) if not (files / row["path"]).resolve().is_relative_to(root)]


def refuse_as_another_user(instance: Path) -> None:
    """Refuse to restore as root into a folder the service user owns: it could not read what is restored."""
    owner = instance.stat().st_uid
    if os.geteuid() == 0 and owner != 0:
        raise click.ClickException(f"run the restore as the user who owns {instance} (uid {owner}), not as root: "
                                   "restored files would belong to root and the server could not read them")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace an instance that already has users or runs (its files are "
              "kept aside in before-restore-<time>/).")
def restore_command(source: Path, replace: bool) -> None:
    """Restore a backup from `db backup --full` (or `db backup`) into this instance; stop the server first.

    Everything is checked before anything changes: on any problem, each is named and nothing is restored."""
    instance = Path(current_app.instance_path)
    database = Path(current_app.config["DATABASE"])
    if not source.is_file():
        raise click.ClickException(f"{source} is not a file")
    try:
        open(source, "rb").close()
    except PermissionError:
        raise click.ClickException(f"cannot read {source}: permission denied for user {archive.user_name()}") from None
    full = archive.is_archive(source)
    if full and database.parent.resolve() != instance.resolve():
        raise click.ClickException(f"DATABASE ({database}) is outside the instance folder {instance}: "
                                   "restore a database backup (`db backup`) instead")
    refuse_as_another_user(instance)
    release_kept_connection()  # this process's own kept connection is not "another process"
    live = connect(str(database))
    try:
        in_use = holds_data(live)
    finally:
        live.conn.close()  # the last connection to close removes the -wal file: if it stays, another one is open
    if Path(f"{database}-wal").exists():
        raise click.ClickException(f"{database} is open in another process: stop the server first "
                                   "(systemctl stop donoharm), then restore")
    if in_use and not replace:
        raise click.ClickException(f"{database} already has users or runs; restore into a new instance "
                                   "folder (DONOHARM_INSTANCE), or pass --replace to set its files aside")
    staging = archive.private_tempdir(instance, f"{swap.STAGING_PREFIX}{swap.stamp()}-")
    try:
        problems: list[str] = []
        candidate = (stage_archive(source, staging, database, problems) if full
                     else stage_database(source, staging, instance, database))
        if candidate is not None:
            problems.extend(candidate_problems(candidate))
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            raise click.ClickException(f"nothing was restored: {len(problems)} problem(s) in {source}; "
                                       f"{instance} is unchanged")
        aside = swap.aside_folder(instance)
        swap.swap_in(instance, candidate.swap, aside, candidate.only)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    counts = candidate.counts
    what = "the instance" if full else "the database"
    click.echo(f"Restored {counts['runs']} run(s) and {counts['events']} event(s) into {database} ({what} from "
               f"{source}); every run's chain verifies, {counts['records']} record file(s) match their sha256 and "
               f"{counts['keys']} key(s) their certificates.")
    for note in candidate.notes:
        click.echo(note)
    click.echo(f"The previous files are in {aside}: delete that folder once the restored instance works.")
