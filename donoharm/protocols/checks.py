"""What the schema cannot express about a protocol (pure): unique ids, follow-up phases last, red-flag and
measure rules that fit their steps, translations of what exists, and the one text rule. Located by path; the
loader (protocols/loader.py) turns paths into lines."""
from __future__ import annotations

from typing import Any

from ..text import text_problem
from .yaml_lines import Path_, _field_name


def _semantic_problems(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Checks the schema cannot express: unique ids across the document."""
    found: list[tuple[Path_, str]] = []
    phase_ids: set[str] = set()
    step_ids: set[str] = set()
    for p, phase in enumerate(data["phases"]):
        if phase["id"] in phase_ids:
            found.append((("phases", p, "id"), f"phase id '{phase['id']}' is used twice"))
        phase_ids.add(phase["id"])
        for s, step in enumerate(phase["steps"]):
            where = ("phases", p, "steps", s)
            if step["id"] in step_ids:
                found.append((where + ("id",), f"step id '{step['id']}' is used twice"))
            step_ids.add(step["id"])
            option_ids = [option["id"] for option in step.get("options", [])]
            for o, option_id in enumerate(option_ids):
                if option_id in option_ids[:o]:
                    found.append((where + ("options", o, "id"), f"option id '{option_id}' is used twice"))
            if "follow_up" in phase and step["critical"]:
                found.append((where + ("critical",), f"step '{step['id']}' is critical, but a follow-up phase is "
                              "answered after submission and cannot hold a critical step"))
    found.extend(_follow_up_order(data))
    found.extend(_signal_problems(data))
    found.extend(_translation_problems(data))
    found.extend(_text_problems(data, ()))
    return found


def _follow_up_order(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Follow-up phases come after the operation's phases, and a protocol has at least one of those."""
    kinds = ["follow_up" in phase for phase in data["phases"]]
    if all(kinds):
        return [(("phases",), "every phase is a follow-up; a protocol needs at least one phase answered during "
                 "the operation")]
    return [(("phases", p, "follow_up"), f"follow-up phase '{phase['id']}' comes before phase "
             f"'{data['phases'][kinds.index(False, p)]['id']}'; put follow-up phases last")
            for p, phase in enumerate(data["phases"]) if kinds[p] and False in kinds[p:]]


def _signal_problems(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """flag_when, measure and of must fit the step they are on and name what exists."""
    found: list[tuple[Path_, str]] = []
    steps = {step["id"]: step for phase in data["phases"] for step in phase["steps"]}
    measures: dict[str, str] = {}
    for p, phase in enumerate(data["phases"]):
        for s, step in enumerate(phase["steps"]):
            where, kind = ("phases", p, "steps", s), step["kind"]
            flag = step.get("flag_when", {})
            if "equals" in flag:
                if kind != "choice":
                    found.append((where + ("flag_when", "equals"), f"'flag_when: equals' is for choice steps; "
                                  f"'{step['id']}' is a {kind} step"))
                else:
                    equals: Path_ = where + ("flag_when", "equals")
                    listed = isinstance(flag["equals"], list)
                    wanted = enumerate(flag["equals"]) if listed else [(None, flag["equals"])]
                    options = {option["id"] for option in step["options"]}
                    for index, option_id in wanted:
                        if option_id not in options:  # a listed id is located by its own line
                            found.append((equals + ((index,) if listed else ()), f"'flag_when' names option "
                                          f"'{option_id}', which step '{step['id']}' does not have"))
            if "above" in flag and kind != "count":
                found.append((where + ("flag_when", "above"), f"'flag_when: above' is for count steps; "
                              f"'{step['id']}' is a {kind} step"))
            for name in ("measure", "of"):
                if name in step and kind != "count":
                    found.append((where + (name,), f"'{name}' is only allowed on count steps; "
                                  f"'{step['id']}' is a {kind} step"))
            if "measure" in step:
                if step["measure"] in measures:
                    found.append((where + ("measure",), f"measure '{step['measure']}' is already reported by "
                                  f"step '{measures[step['measure']]}'"))
                measures.setdefault(step["measure"], step["id"])
            if "of" in step:
                other = steps.get(step["of"])
                if other is None:
                    found.append((where + ("of",), f"'of' names step '{step['of']}', which the protocol "
                                  "does not have"))
                elif other is step:
                    found.append((where + ("of",), f"'of' names step '{step['of']}' itself; a count cannot be "
                                  "its own denominator"))
                elif other["kind"] != "count":
                    found.append((where + ("of",), f"'of' names step '{step['of']}', a {other['kind']} step; "
                                  "the denominator must be a count step"))
    return found


# Shown as one line (headings, option labels, file names); every other text may hold line breaks.
ONE_LINE_FIELDS = ("id", "title", "label", "version", "language", "when")


def _text_problems(data: Any, path: Path_) -> list[tuple[Path_, str]]:
    """Every text in the protocol under the app's one text rule (no control or text-direction characters)."""
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in _text_problems(value, path + (key,))]
    if isinstance(data, list):
        return [found for index, value in enumerate(data) for found in _text_problems(value, path + (index,))]
    if isinstance(data, str):
        problem = text_problem(data, multiline=_field_name(path) not in ONE_LINE_FIELDS)
        if problem:
            return [(path, f"'{_field_name(path)}': {problem}")]
    return []


def _translation_problems(data: dict[str, Any]) -> list[tuple[Path_, str]]:
    """A translation may only give texts for phases, steps and options that exist."""
    found: list[tuple[Path_, str]] = []
    phases = {phase["id"] for phase in data["phases"]}
    steps = {step["id"]: step for phase in data["phases"] for step in phase["steps"]}
    for language, translation in data.get("translations", {}).items():
        where: Path_ = ("translations", language)
        if language == data["language"]:
            found.append((where, f"'{language}' is the protocol's own language; translate into another"))
        for phase_id in translation.get("phases", {}):
            if phase_id not in phases:
                found.append((where + ("phases", phase_id), f"translation '{language}' names phase '{phase_id}', "
                                                             "which the protocol does not have"))
        for step_id, texts in translation.get("steps", {}).items():
            step = steps.get(step_id)
            if step is None:
                found.append((where + ("steps", step_id), f"translation '{language}' names step '{step_id}', "
                                                          "which the protocol does not have"))
                continue
            options = {option["id"] for option in step.get("options", [])}
            for option_id in texts.get("options", {}):
                if option_id not in options:
                    found.append((where + ("steps", step_id, "options", option_id),
                                  f"translation '{language}' names option '{option_id}', which step "
                                  f"'{step_id}' does not have"))
    return found
