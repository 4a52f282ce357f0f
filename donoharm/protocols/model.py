"""Immutable protocol objects built from validated protocol documents."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

KINDS = ("check", "yesno", "count", "time", "choice", "text")


def canonical_json(data: Any) -> str:
    """Serialise data so that key order and whitespace never change the result."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(data: Any) -> str:
    """Return the hex sha256 of data's canonical JSON form."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def version_key(version: str) -> tuple[int, int, int]:
    """Turn '1.10.0' into (1, 10, 0) so versions sort numerically."""
    major, minor, patch = (int(part) for part in version.split("."))
    return (major, minor, patch)


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Step:
    id: str
    text: str
    kind: str
    critical: bool
    sources: tuple[str, ...]
    guidance: str = ""
    options: tuple[Option, ...] = ()
    expected: str | None = None
    phase_id: str = ""
    flag_equals: tuple[str, ...] = ()  # choice steps: options that raise a red flag
    flag_above: int | None = None  # count steps: a count above this raises a red flag
    measure: str | None = None  # count steps: the outcome measure it reports in oversight
    of: str | None = None  # count steps: the count step that is its denominator ("x of N")
    follow_up: bool = False  # in a follow-up phase: answered after approval, never required for submission
    disclosure: str | None = None  # "internal": never shown in a shareable record (records/profiles.py)

    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options)

    def option_label(self, option_id: str) -> str:
        for option in self.options:
            if option.id == option_id:
                return option.label
        return option_id


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    steps: tuple[Step, ...]
    due_after_hours: int | None = None  # a follow-up phase: due this long after the run is submitted
    pause_point: bool = False  # the team stops and goes through these steps together
    mode: str | None = None  # pause points: "read-do" or "do-confirm"
    when: str = ""  # pause points: the moment of the pause, in one line

    @property
    def follow_up(self) -> bool:
        return self.due_after_hours is not None


def hours_of(due_after: str) -> int:
    """'72h' -> 72, '14d' -> 336."""
    number, unit = int(due_after[:-1]), due_after[-1]
    return number * 24 if unit == "d" else number


@dataclass(frozen=True)
class Protocol:
    """One published protocol version; `document` is the validated source data."""

    id: str
    version: str
    title: str
    summary: str
    language: str
    changelog: str
    phases: tuple[Phase, ...]
    sources: MappingProxyType
    sha256: str
    source: str = field(default="", compare=False)
    document: MappingProxyType = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    def step(self, step_id: str) -> Step | None:
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    @property
    def follow_up_phases(self) -> tuple[Phase, ...]:
        return tuple(phase for phase in self.phases if phase.follow_up)

    @property
    def critical_steps(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.critical)

    @property
    def languages(self) -> tuple[str, ...]:
        """The original language first, then every translation."""
        return (self.language, *sorted(self.document.get("translations", {})))

    def in_language(self, wanted: str | None) -> Protocol:
        """This version with its texts in `wanted` (exact tag, else its primary language), else the original.

        The result keeps the id, version, sha256 and structure; `language` says which texts it holds,
        and a step without a translated text keeps the original one.
        """
        translations = self.document.get("translations", {})
        tag = next((t for t in (wanted, (wanted or "").split("-")[0]) if t and t in translations), None)
        if tag is None:
            return self
        texts = translations[tag]
        step_texts = texts.get("steps", {})

        def translated(step: Step) -> Step:
            own = step_texts.get(step.id, {})
            labels = own.get("options", {})
            return replace(step, text=own.get("text", step.text), guidance=own.get("guidance", step.guidance),
                           options=tuple(Option(o.id, labels.get(o.id, o.label)) for o in step.options))

        phase_texts = texts.get("phases", {})
        phases = tuple(replace(p, title=phase_texts.get(p.id, {}).get("title", p.title),
                               when=phase_texts.get(p.id, {}).get("when", p.when),
                               steps=tuple(translated(s) for s in p.steps)) for p in self.phases)
        return replace(self, language=tag, title=texts.get("title", self.title),
                       summary=texts.get("summary", self.summary),
                       changelog=texts.get("changelog", self.changelog), phases=phases)

    @property
    def original_language(self) -> str:
        return self.document.get("language", self.language)

    def to_json(self) -> dict[str, Any]:
        """Return the protocol as published, with its hash."""
        return {**json.loads(canonical_json(dict(self.document))), "sha256": self.sha256}


def _flag_equals(step: dict[str, Any]) -> tuple[str, ...]:
    equals = step.get("flag_when", {}).get("equals", ())
    return (equals,) if isinstance(equals, str) else tuple(equals)


def build_protocol(document: dict[str, Any], source: str = "") -> Protocol:
    """Build a Protocol from a document that has already passed validation."""
    phases = tuple(
        Phase(
            id=phase["id"],
            title=phase["title"],
            steps=tuple(
                Step(
                    id=step["id"],
                    text=step["text"],
                    kind=step["kind"],
                    critical=step["critical"],
                    sources=tuple(step["sources"]),
                    guidance=step.get("guidance", ""),
                    options=tuple(Option(o["id"], o["label"]) for o in step.get("options", ())),
                    expected=step.get("expected"),
                    phase_id=phase["id"],
                    flag_equals=_flag_equals(step),
                    flag_above=step.get("flag_when", {}).get("above"),
                    measure=step.get("measure"),
                    of=step.get("of"),
                    follow_up="follow_up" in phase,
                    disclosure=step.get("disclosure"),
                )
                for step in phase["steps"]
            ),
            due_after_hours=hours_of(phase["follow_up"]["due_after"]) if "follow_up" in phase else None,
            pause_point=phase.get("pause_point", False),
            mode=phase.get("mode"),
            when=phase.get("when", ""),
        )
        for phase in document["phases"]
    )
    return Protocol(
        id=document["id"],
        version=document["version"],
        title=document["title"],
        summary=document["summary"],
        language=document["language"],
        changelog=document.get("changelog", ""),
        phases=phases,
        sources=MappingProxyType(dict(document.get("sources", {}))),
        sha256=sha256_of(document),
        source=source,
        document=MappingProxyType(document),
    )
