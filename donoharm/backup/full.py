"""`db backup --full`: the whole instance in one private archive, consistent while the app takes writes.

What goes in is every file of the instance folder except the live database files (the database goes in as
a snapshot from SQLite's backup API), caches, lock files, restore leftovers and, unless asked, the records
root key: an exclusion list, so key material added later is backed up without anyone remembering to.

Files are read in an order that keeps the archive consistent without stopping the app:
1. everything but `records/` (keys, checkpoints…): a checkpoint never names a chain head the snapshot lacks;
2. the database snapshot: every event acknowledged before this moment is in it;
3. `records/`: a record's file is written before its row, so every row of the snapshot finds its file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

import click
from flask import Flask
from sqlite_utils import Database

from ..db import backup as snapshot_database
from ..db import get_db
from ..db import integrity as integrity_db
from ..db import maintenance as maintenance_db
from ..db.schema import migrations
from .archive import BackupError, Member, archive_name, check_dest, private_tempdir, prune, write_archive
from .swap import is_restore_folder

ROOT_KEY = "signing-root.key"
EXCLUDED_TOP = ("cache", ".rotate-root")  # caches; a root rotation's short-lived staging folder
EXCLUDED_SUFFIXES = (".lock", ".migrate-lock", ".tmp", ".partial")  # locks; files half written
P12_MEMBER = "external/signing.p12"
NOT_INCLUDED = ["the environment file (/etc/donoharm/donoharm.env): the service user cannot read it; "
                "keep a copy with your backups"]


def excluded(relative: PurePosixPath, database_files: set[str], with_root_key: bool) -> bool:
    """True for what a full backup leaves out (see the module's docstring)."""
    top = relative.parts[0]
    if len(relative.parts) == 1 and (top in database_files or (top == ROOT_KEY and not with_root_key)):
        return True
    return top in EXCLUDED_TOP or is_restore_folder(top) or relative.name.endswith(EXCLUDED_SUFFIXES)


def instance_files(instance: Path, database_files: set[str], with_root_key: bool, skipped: list[str],
                   under: str | None = None, besides: str | None = None) -> list[PurePosixPath]:
    """Every regular file to back up, relative to the instance: of the folder `under` only, if given, or of
    all but the top-level folder `besides`. Links and special files are not followed: they go to `skipped`."""
    found = []
    start = instance / under if under else instance
    for folder, dirs, names in os.walk(start):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in sorted(names) + links:
            path = Path(folder, name)
            relative = PurePosixPath(path.relative_to(instance).as_posix())
            if excluded(relative, database_files, with_root_key):
                continue
            if path.is_symlink() or not path.is_file():
                skipped.append(relative.as_posix())
                continue
            found.append(relative)
        here = PurePosixPath(Path(folder).relative_to(instance).as_posix())
        dirs[:] = sorted(d for d in dirs if d not in links and not (here == PurePosixPath(".") and d == besides)
                         and not excluded(here / d, database_files, with_root_key))
    return found


class Collector:
    """Yields the archive's members in the consistent order, noting what it finds in `manifest` and `problems`."""

    def __init__(self, app: Flask, staging: Path, with_root_key: bool):
        self.instance = Path(app.instance_path)
        self.database = Path(app.config["DATABASE"])
        self.p12 = app.config.get("SIGNING_P12")
        self.staging = staging
        self.with_root_key = with_root_key
        self.problems: list[str] = []
        self.skipped: list[str] = []
        self.manifest: dict = {"created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                               "app_version": _version(), "root_key_included": False,
                               "database": f"instance/{self.database.name}", "signing_p12": None,
                               "not_included": list(NOT_INCLUDED)}

    def members(self) -> Iterator[Member]:
        names = {self.database.name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
        files = instance_files(self.instance, names, self.with_root_key, self.skipped, besides="records")
        for relative in files:  # 1. keys, checkpoints, settings…
            if relative.as_posix() == ROOT_KEY:
                self.manifest["root_key_included"] = True
            if (data := self._read(relative)) is not None:
                yield Member(f"instance/{relative}", data=data)
        snapshot = self.staging / self.database.name
        snapshot_database(str(self.database), snapshot)  # 2. the database, as of this moment
        rows = self._snapshot_facts(snapshot)
        yield Member(f"instance/{self.database.name}", path=snapshot)
        archived = {}
        records = instance_files(self.instance, names, self.with_root_key, self.skipped, under="records")
        for relative in records:  # 3. listed after the snapshot: every record it names has its file by now
            if (data := self._read(relative)) is not None:
                archived[relative.as_posix()] = hashlib.sha256(data).hexdigest()
                yield Member(f"instance/{relative}", data=data)
        self._check_records(rows, archived)
        yield from self._p12()
        self.manifest["skipped"] = self.skipped

    def _read(self, relative: PurePosixPath) -> bytes | None:
        try:
            return (self.instance / relative).read_bytes()
        except FileNotFoundError:  # removed since the listing (a purged practice record): not part of this state
            return None

    def _snapshot_facts(self, snapshot: Path) -> list[dict]:
        conn = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            db = Database(conn)
            applied = migrations.applied(db)
            self.manifest["migration"] = applied[-1].name if applied else None
            return integrity_db.all_records(db)
        finally:
            conn.close()

    def _check_records(self, rows: list[dict], archived: dict[str, str]) -> None:
        for row in rows:
            digest = archived.get(PurePosixPath(row["path"]).as_posix())
            where = f"run {row['run_id']} record {row['id']}"
            if digest is None and row["redacted"]:
                continue  # deleted on purpose: it held a text a redaction removed
            if digest is None:
                self.problems.append(f"{where}: the signed file {row['path']} is missing from the instance")
            elif digest != row["sha256"]:
                self.problems.append(f"{where}: the file {row['path']} differs from the one issued (sha256)")

    def _p12(self) -> Iterator[Member]:
        if not self.p12:
            return
        try:
            data = Path(self.p12).read_bytes()
        except OSError as error:
            self.manifest["not_included"].append(f"DONOHARM_SIGNING_P12 ({self.p12}): cannot be read "
                                                 f"({error.strerror}); keep a copy with your backups")
            return
        self.manifest["signing_p12"] = {"member": P12_MEMBER, "configured_path": str(self.p12)}
        yield Member(P12_MEMBER, data=data)


def _version() -> str:
    try:
        return metadata.version("donoharm")
    except metadata.PackageNotFoundError:
        return "unknown"


def full_backup(app: Flask, dest: Path, with_root_key: bool) -> tuple[dict, list[str], list[str]]:
    """Write the archive to DEST; return (manifest, problems found in the instance, files skipped)."""
    check_dest(dest)
    staging = private_tempdir(dest.parent, ".donoharm-backup-")
    try:
        collector = Collector(app, staging, with_root_key)
        manifest = write_archive(dest, collector.members(), collector.manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest, collector.problems, collector.skipped


def keep_count(value: object) -> int:
    """DONOHARM_BACKUP_KEEP: how many full archives `--into` keeps (0: all)."""
    text = str(14 if value is None else value).strip()
    if not text.isdigit():
        raise BackupError(f"DONOHARM_BACKUP_KEEP must be a whole number of archives, 0 to keep all (got {value!r})")
    return int(text)


def backup_command(app: Flask, dest: Path | None, into: Path | None, with_root_key: bool) -> None:
    """The body of `db backup --full`: write, prune, note the outcome for the health check, report."""
    try:
        if dest is not None and into is not None:
            raise BackupError("give either DEST or --into DIR, not both")
        keep = keep_count(app.config.get("BACKUP_KEEP"))
        folder = into or (Path(app.config["BACKUP_DIR"]) if dest is None and app.config.get("BACKUP_DIR") else None)
        if dest is None and folder is None:
            raise BackupError("give DEST (a new file, e.g. backup.tar.gz), --into DIR, or set DONOHARM_BACKUP_DIR")
        if folder is not None and not folder.is_dir():
            raise BackupError(f"the folder {folder} does not exist; create it (mode 0700) or choose another")
        target = dest or archive_name(folder, datetime.now(UTC))
        manifest, problems, skipped = full_backup(app, target, with_root_key)
    except (BackupError, OSError, sqlite3.Error) as error:
        maintenance_db.record_task(get_db(), "backup", False, str(error))
        raise click.ClickException(str(error)) from None
    removed = prune(folder, keep) if folder is not None else []
    files = len(manifest["files"])
    root = "with the records root key" if manifest["root_key_included"] else "without the records root key"
    detail = f"{target.name}: {files} file(s), {root}"
    for name in skipped:
        click.echo(f"left out {name}: not a regular file (a link?)", err=True)
    for note in manifest["not_included"]:
        click.echo(f"not included: {note}")
    if manifest["signing_p12"]:
        click.echo(f"included DONOHARM_SIGNING_P12 ({manifest['signing_p12']['configured_path']}) "
                   f"as {manifest['signing_p12']['member']}")
    for path in removed:
        click.echo(f"removed the older backup {path}")
    if problems:
        maintenance_db.record_task(get_db(), "backup", False, f"{detail}; {len(problems)} problem(s): {problems[0]}")
        for problem in problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"wrote {target}, but the instance has {len(problems)} problem(s): "
                                   "a restore would refuse this backup (see `db verify`)")
    maintenance_db.record_task(get_db(), "backup", True, detail)
    click.echo(f"Backed up the instance to {target} ({files} file(s), {root}; mode 0600).")
