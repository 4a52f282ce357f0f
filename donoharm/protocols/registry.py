"""The registry of every published protocol version, from files and uploads alike."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .loader import Problem, ProtocolError, load_file
from .model import Protocol, version_key


class ConflictError(ProtocolError):
    """Two different contents were published under one id and version."""


class Registry:
    """Immutable-by-version store of protocols; later additions never replace earlier ones."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], Protocol] = {}
        self._current: dict[str, str] = {}
        self._retired: set[tuple[str, str]] = set()

    def add(self, protocol: Protocol) -> bool:
        """Add a version; return False if the identical version is already known."""
        known = self._versions.get(protocol.key)
        if known is not None:
            if known.sha256 == protocol.sha256:
                return False
            raise ConflictError([Problem(
                protocol.source or "<upload>", 1,
                f"{protocol.id} {protocol.version} is already published with different content "
                f"(in {known.source or 'the database'}); publish a new version number instead",
            )])
        self._versions[protocol.key] = protocol
        return True

    def set_lifecycle(self, current: dict[str, str], retired: Iterable[tuple[str, str]]) -> None:
        """Apply trainers' choices of current and retired versions."""
        self._current = {pid: v for pid, v in current.items() if (pid, v) in self._versions}
        self._retired = {key for key in retired if key in self._versions}

    def get(self, protocol_id: str, version: str) -> Protocol | None:
        return self._versions.get((protocol_id, version))

    def ids(self) -> list[str]:
        return sorted({pid for pid, _ in self._versions})

    def versions(self, protocol_id: str) -> list[Protocol]:
        """Every version of a protocol, newest first."""
        found = [p for (pid, _), p in self._versions.items() if pid == protocol_id]
        return sorted(found, key=lambda p: version_key(p.version), reverse=True)

    def is_retired(self, protocol: Protocol) -> bool:
        return protocol.key in self._retired

    def current(self, protocol_id: str) -> Protocol | None:
        """The version new runs default to: the trainer's choice, else the newest not retired."""
        chosen = self._current.get(protocol_id)
        if chosen and (protocol_id, chosen) not in self._retired:
            return self._versions[(protocol_id, chosen)]
        for protocol in self.versions(protocol_id):
            if not self.is_retired(protocol):
                return protocol
        return None

    def status(self, protocol: Protocol) -> str:
        """'current', 'retired' or 'published'."""
        if self.is_retired(protocol):
            return "retired"
        current = self.current(protocol.id)
        return "current" if current is not None and current.key == protocol.key else "published"

    def all(self) -> list[Protocol]:
        return [p for pid in self.ids() for p in self.versions(pid)]

    def __len__(self) -> int:
        return len(self._versions)


def protocol_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the YAML files below them, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def load_directory(root: Path, registry: Registry | None = None) -> tuple[Registry, list[Problem]]:
    """Load every protocol file below root; invalid files are reported and left out."""
    registry = registry if registry is not None else Registry()
    problems: list[Problem] = []
    for path in protocol_files([root]):
        try:
            registry.add(load_file(path, root.parent))
        except ProtocolError as error:
            problems.extend(error.problems)
    return registry, problems
