"""Put a checked, restored instance in place with renames only, keeping the previous files aside.

Everything happens inside the instance folder, the one place the service user may write on a production
server (its parent, /var/lib, belongs to root): the restore is unpacked into `.restore-<time>/` and the
previous files are moved to `before-restore-<time>/`. Renames within one filesystem are atomic and quick,
so the window in which the folder is half old, half new is a few renames long; if one fails, the ones
done are undone.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

STAGING_PREFIX = ".restore-"
ASIDE_PREFIX = "before-restore-"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def is_restore_folder(name: str) -> bool:
    """A folder made by a restore (unpacking now, or set aside before): never moved, never backed up."""
    return name.startswith((STAGING_PREFIX, ASIDE_PREFIX))


def aside_folder(instance: Path) -> Path:
    """A new `before-restore-<UTC time>[-n]` path in the instance (not created)."""
    base = instance / f"{ASIDE_PREFIX}{stamp()}"
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = Path(f"{base}-{n}"), n + 1
    return candidate


def swap_in(instance: Path, staged: Path, aside: Path, only: set[str] | None = None) -> list[str]:
    """Move the instance's files (those named in `only`, else all but restore folders) into `aside`, then every
    entry of `staged` into the instance; return the names moved aside. On any failure, undo and re-raise."""
    old = sorted(p.name for p in instance.iterdir()
                 if (p.name in only if only is not None else not is_restore_folder(p.name)))
    new = sorted(p.name for p in staged.iterdir())
    moved_out: list[str] = []
    moved_in: list[str] = []
    aside.mkdir(mode=0o700)
    try:
        for name in old:
            os.rename(instance / name, aside / name)
            moved_out.append(name)
        for name in new:
            if os.path.lexists(instance / name):  # a restore folder's name: never merged into
                raise FileExistsError(f"{instance / name} is in the way of the restored {name}")
            os.rename(staged / name, instance / name)
            moved_in.append(name)
    except BaseException:
        for name in reversed(moved_in):
            os.rename(instance / name, staged / name)
        for name in reversed(moved_out):
            os.rename(aside / name, instance / name)
        aside.rmdir()
        raise
    _fsync_folder(instance)
    return moved_out


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
