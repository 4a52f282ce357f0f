"""Compare two versions of a protocol step by step, matched by step id (pure: no Flask, no SQL)."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from .model import Protocol, Step

# The step fields a trainer changes, in the order a comparison lists them.
FIELDS = ("text", "kind", "critical", "options", "guidance", "expected", "flag_equals", "flag_above", "measure", "of",
          "disclosure", "sources")
# Fields whose change is shown as a word-level redline rather than old -> new.
TEXT_FIELDS = ("text", "guidance")
# Words and punctuation marks, each with the whitespace after it, so a redline never matches a lone
# space between two changed words, and keeps every character.
_TOKEN = re.compile(r"\w+\s*|[^\w\s]\s*|\s+", re.UNICODE)


@dataclass(frozen=True)
class Segment:
    """One piece of a redline: 'equal', 'delete' (only in the old text) or 'insert' (only in the new)."""

    op: str
    text: str


def tokens(text: str) -> list[str]:
    """Split text into words and punctuation with their trailing whitespace, losing nothing."""
    return _TOKEN.findall(text or "")


def redline(old: str, new: str) -> list[Segment]:
    """Return a word-level redline turning old into new: each run of changes as one deletion then one insertion."""
    a, b = tokens(old), tokens(new)
    segments: list[Segment] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        for op, parts in (("delete", deleted), ("insert", inserted)):
            if parts:
                segments.append(Segment(op, "".join(parts)))
            parts.clear()

    # Match on the words alone, so a change of spacing is not shown as a change of words.
    matcher = difflib.SequenceMatcher(None, [t.strip() or " " for t in a], [t.strip() or " " for t in b],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            flush()
            segments.append(Segment("equal", "".join(b[j1:j2])))
        else:
            deleted.extend(a[i1:i2])
            inserted.extend(b[j1:j2])
    flush()
    return segments


def _value(step: Step, name: str) -> Any:
    if name == "options":
        return [{"id": o.id, "label": o.label} for o in step.options]
    if name in ("sources", "flag_equals"):
        return list(getattr(step, name))
    return getattr(step, name)


@dataclass(frozen=True)
class StepChange:
    """A step present in both versions whose fields or phase differ."""

    old: Step
    new: Step
    fields: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.new.id

    @property
    def moved(self) -> bool:
        return self.old.phase_id != self.new.phase_id

    def redline(self, name: str) -> list[Segment]:
        """The word-level redline of one text field."""
        return redline(str(getattr(self.old, name) or ""), str(getattr(self.new, name) or ""))

    def to_json(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in self.fields:
            entry: dict[str, Any] = {"from": _value(self.old, name), "to": _value(self.new, name)}
            if name in TEXT_FIELDS:
                entry["redline"] = [{"op": s.op, "text": s.text} for s in self.redline(name)]
            changes[name] = entry
        return {"id": self.id, "phase": self.new.phase_id, "changes": changes}


@dataclass
class ProtocolDiff:
    """What changed from one version of a protocol to another."""

    old: Protocol
    new: Protocol
    added: list[Step] = field(default_factory=list)
    removed: list[Step] = field(default_factory=list)
    moved: list[StepChange] = field(default_factory=list)
    changed: list[StepChange] = field(default_factory=list)
    meta: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.moved or self.changed)

    def phase_title(self, phase_id: str) -> str:
        """The title of a phase in the new version, else the old, else its id."""
        for protocol in (self.new, self.old):
            for phase in protocol.phases:
                if phase.id == phase_id:
                    return phase.title
        return phase_id

    def to_json(self) -> dict[str, Any]:
        def step_json(step: Step) -> dict[str, Any]:
            return {"id": step.id, "phase": step.phase_id, "text": step.text, "kind": step.kind,
                    "critical": step.critical}

        return {
            "protocol_id": self.new.id,
            "from": {"version": self.old.version, "sha256": self.old.sha256, "changelog": self.old.changelog},
            "to": {"version": self.new.version, "sha256": self.new.sha256, "changelog": self.new.changelog},
            "added": [step_json(s) for s in self.added],
            "removed": [step_json(s) for s in self.removed],
            "moved": [{"id": c.id, "from_phase": c.old.phase_id, "to_phase": c.new.phase_id} for c in self.moved],
            "changed": [c.to_json() for c in self.changed],
            "protocol_changes": {k: {"from": a, "to": b} for k, (a, b) in self.meta.items()},
        }


@dataclass(frozen=True)
class StaleTranslation:
    """A step whose original text changed while its translation into `language` stayed as it was."""

    step: Step
    language: str
    field: str


def stale_translations(old: Protocol, new: Protocol) -> list[StaleTranslation]:
    """Translated texts that may be out of date: the step's original text or guidance changed from `old` to
    `new`, but the translation of that field is word for word the previous version's."""
    old_steps = {s.id: s for s in old.steps}
    old_texts = old.document.get("translations", {})
    found = []
    for language, texts in new.document.get("translations", {}).items():
        before = old_texts.get(language, {}).get("steps", {})
        for step in new.steps:
            previous = old_steps.get(step.id)
            translated = texts.get("steps", {}).get(step.id, {})
            for name in ("text", "guidance"):
                if previous is None or getattr(previous, name) == getattr(step, name) or name not in translated:
                    continue
                if before.get(step.id, {}).get(name) == translated[name]:
                    found.append(StaleTranslation(step, language, name))
    return found


def compare(old: Protocol, new: Protocol) -> ProtocolDiff:
    """Compare two versions step by step, matching steps by id; lists follow the new version's order."""
    diff = ProtocolDiff(old, new)
    old_steps = {s.id: s for s in old.steps}
    new_ids = {s.id for s in new.steps}
    for step in new.steps:
        before = old_steps.get(step.id)
        if before is None:
            diff.added.append(step)
            continue
        changed = tuple(name for name in FIELDS if _value(before, name) != _value(step, name))
        change = StepChange(before, step, changed)
        if change.moved:
            diff.moved.append(change)
        if changed:
            diff.changed.append(change)
    diff.removed = [s for s in old.steps if s.id not in new_ids]
    for name in ("title", "summary"):
        if getattr(old, name) != getattr(new, name):
            diff.meta[name] = (getattr(old, name), getattr(new, name))
    return diff
