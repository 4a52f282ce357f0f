"""The full-backup archive: a tar (gzip when named .gz/.tgz) of files plus `manifest.json` with their sha256s.

Written to a private temporary file beside DEST (mode 0600 from its creation), fsynced, then linked into
place, so DEST is either absent or complete and never readable by others, not even for a moment. Read back
only after every member is checked: no absolute path, no `..`, no link or device, nothing the manifest does
not list, every sha256 as listed. No SQL and no Flask here.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pwd
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORMAT = "donoharm-full-backup/1"
MANIFEST = "manifest.json"
TOP_LEVEL = ("instance", "external")  # instance/<path in the instance folder>, external/<settings files>
NAME = re.compile(r"^donoharm-full-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in one line."""


@dataclass(frozen=True)
class Member:
    """One archived file: its name in the archive and its bytes (small files) or a path to a file that stays put."""

    name: str
    data: bytes | None = None
    path: Path | None = None


def sha256_of(member: Member) -> tuple[str, int]:
    if member.data is not None:
        return hashlib.sha256(member.data).hexdigest(), len(member.data)
    digest, size = hashlib.sha256(), 0
    with open(member.path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def user_name() -> str:
    """The name of the user this process runs as (who needs the permission)."""
    try:  # not getpass.getuser(): under `sudo -E` USER still names whoever ran sudo
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # no name for this uid (containers)
        return f"uid {os.geteuid()}"


def unwritable(folder: Path) -> BackupError:
    return BackupError(f"cannot write to the folder {folder} (permission denied for user {user_name()}): "
                       "give that user write access or choose another folder")


def check_dest(dest: Path) -> None:
    """Refuse a DEST that exists already or whose folder is missing or not writable."""
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} exists already; choose a new file name")
    folder = dest.parent
    if not folder.is_dir():
        raise BackupError(f"the folder {folder} does not exist; create it (mode 0700) or choose another")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise unwritable(folder)


def _is_denied(error: OSError) -> bool:
    return error.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def private_tempdir(folder: Path, prefix: str) -> Path:
    """A new folder only its owner can enter (0700) inside `folder`."""
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    except OSError as error:
        if _is_denied(error):
            raise unwritable(folder) from None
        raise


def write_archive(dest: Path, members: Iterable[Member], manifest: dict) -> dict:
    """Write `members` and the manifest (with every member's sha256 and size added) to DEST; return the manifest."""
    check_dest(dest)
    try:  # mkstemp creates the file with mode 0600
        fd, temp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    except OSError as error:
        if _is_denied(error):
            raise unwritable(dest.parent) from None
        raise
    temp = Path(temp_name)
    files: dict[str, dict] = {}
    compressed = dest.name.endswith((".gz", ".tgz"))
    try:
        with os.fdopen(fd, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w:gz" if compressed else "w",
                              format=tarfile.PAX_FORMAT, **({"compresslevel": 6} if compressed else {})) as tar:
                for member in members:
                    digest, size = sha256_of(member)
                    files[member.name] = {"sha256": digest, "size": size}
                    _add(tar, member.name, size, member.data, member.path)
                manifest = {**manifest, "format": FORMAT, "files": files}
                body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
                _add(tar, MANIFEST, len(body), body, None)
            handle.flush()
            os.fsync(handle.fileno())
        _publish(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    return manifest


def _add(tar: tarfile.TarFile, name: str, size: int, data: bytes | None, path: Path | None) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uid, info.gid = size, 0o600, int(time.time()), 0, 0
    if data is not None:
        tar.addfile(info, io.BytesIO(data))
    else:
        with open(path, "rb") as handle:
            tar.addfile(info, handle)


def _publish(temp: Path, dest: Path) -> None:
    """Give the finished file its name without ever replacing a file that appeared meanwhile."""
    try:
        os.link(temp, dest)  # fails if DEST exists: no silent overwrite
    except FileExistsError:
        raise BackupError(f"{dest} exists already; choose a new file name") from None
    except OSError:  # a filesystem without hard links
        if dest.exists():
            raise BackupError(f"{dest} exists already; choose a new file name") from None
        os.rename(temp, dest)
    folder = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name survives a power cut
    finally:
        os.close(folder)


def is_archive(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def unpack(archive: Path, into: Path) -> tuple[dict | None, list[str]]:
    """Check and extract an archive into the empty folder `into`; return (manifest, problems)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            problems = _member_problems(members)
            if problems:
                return None, problems
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        return None, [f"{archive} is not a readable backup archive ({error})"]
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        return None, [f"{archive}: {MANIFEST} is missing or unreadable ({error})"]
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), dict):
        return None, [f"{archive}: not a Do No Harm full backup (its manifest has no format {FORMAT})"]
    return manifest, _content_problems(into, manifest["files"])


def _member_problems(members: list[tarfile.TarInfo]) -> list[str]:
    problems, seen = [], set()
    for member in members:
        parts = member.name.split("/")
        if member.name.startswith("/") or ".." in parts:
            problems.append(f"archive member {member.name!r} would be written outside the restore folder")
        elif not (member.isfile() or member.isdir()):
            problems.append(f"archive member {member.name!r} is a link or device; only files are accepted")
        elif member.name != MANIFEST and parts[0] not in TOP_LEVEL:
            problems.append(f"archive member {member.name!r} is not part of a Do No Harm backup")
        elif member.isfile() and member.name in seen:
            problems.append(f"archive member {member.name!r} appears twice")
        seen.add(member.name)
    return problems


def _content_problems(into: Path, files: dict) -> list[str]:
    problems = []
    for name, expected in sorted(files.items()):
        path = into / name
        if not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing from the archive")
            continue
        digest, size = sha256_of(Member(name, path=path))
        if (digest, size) != (expected.get("sha256"), expected.get("size")):
            problems.append(f"{name}: does not match its sha256 in the manifest (changed after the backup)")
    for path in sorted(into.rglob("*")):
        name = path.relative_to(into).as_posix()
        if path.is_file() and name != MANIFEST and name not in files:
            problems.append(f"{name}: in the archive but not in its manifest")
    for path in [into, *into.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return problems


def archive_name(folder: Path, now: datetime) -> Path:
    """The first free `donoharm-full-<UTC time>[-n].tar.gz` in `folder`."""
    stem = f"donoharm-full-{now.strftime('%Y%m%dT%H%M%SZ')}"
    candidate, n = folder / f"{stem}.tar.gz", 1
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}.tar.gz", n + 1
    return candidate


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` full archives in `folder` (0 keeps all); other files are never touched."""
    found = []
    for path in folder.iterdir():
        match = NAME.match(path.name)
        if match and path.is_file() and not path.is_symlink():
            found.append(((match.group(1), int(match.group(2) or 0)), path))
    found.sort(reverse=True)
    removed = [path for _, path in found[keep:]] if keep else []
    for path in removed:
        path.unlink()
    return removed
