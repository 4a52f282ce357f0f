"""Parse and validate protocol YAML, reporting every problem with its YAML line."""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import yaml

from ..text import text_problem
from .model import KINDS, Protocol, build_protocol

MAX_BYTES = 256 * 1024
MAX_DEPTH = 20
MAX_NODES = 20_000
# libyaml's parser when PyYAML was built with it (about 20 times faster); the same marks and errors.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a protocol file, located by line."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


class ProtocolError(Exception):
    """A protocol document could not be loaded; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _schema() -> dict[str, Any]:
    text = resources.files("donoharm.protocols").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


SCHEMA = _schema()
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
# The compiled validator answers "valid or not" about 20 times faster; only an invalid document pays for the
# pure-Python one, whose errors carry the paths that `_describe` turns into lines and plain words.
_FAST_VALIDATOR = jsonschema_rs.Draft202012Validator(SCHEMA)


def schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    """Every way `data` breaks the schema (none for a valid protocol, found quickly)."""
    if _FAST_VALIDATOR.is_valid(data):
        return []
    return list(_VALIDATOR.iter_errors(data))


class _Builder:
    """Turn a composed YAML node tree into Python data and a path -> line map."""

    def __init__(self, source: str):
        self.source = source
        self.lines: dict[Path_, int] = {(): 1}
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    self.problems.append(Problem(self.source, line, f"field name {key!r} must be text"))
                    continue
                if key in result:
                    self.problems.append(Problem(self.source, line, f"field '{key}' appears twice"))
                    continue
                self.lines[path + (key,)] = line
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[path + (index,)] = item.start_mark.line + 1
                items.append(self.build(item, path + (index,)))
            return items
        return self.constructor.construct_object(node, deep=True)


def _check_shape(text: str, source: str) -> None:
    """Refuse aliases, deep nesting and huge node counts while streaming, before anything is built.

    Composing and validating a deeply nested document is superlinear (8,000 levels of `[[[…` kept a
    worker busy for half a minute); a protocol is about six levels deep and a few thousand nodes.
    """
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise ProtocolError([Problem(source, line, "YAML aliases (*name) are not allowed")])
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise ProtocolError([Problem(source, line, f"the document has more than {MAX_NODES:,} values; "
                                             "a protocol needs far fewer")])
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ProtocolError([Problem(source, line, f"the YAML is nested more than {MAX_DEPTH} levels "
                                             "deep; a protocol needs about six")])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML text into data plus the line of every key and list item."""
    try:
        _check_shape(text, source)
        node = yaml.compose(text, Loader=_LOADER)
        if node is None:
            raise ProtocolError([Problem(source, 1, "the file is empty")])
        builder = _Builder(source)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        detail = error.problem or error.context or "invalid YAML"
        if "nesting depth" in detail:  # libyaml's own limit, met before ours on flow sequences
            raise ProtocolError([Problem(source, line, f"the YAML is nested more than {MAX_DEPTH} levels deep; "
                                         "a protocol needs about six")]) from None
        raise ProtocolError([Problem(source, line, f"not valid YAML: {detail}")]) from None
    except yaml.YAMLError as error:
        raise ProtocolError([Problem(source, 1, f"not valid YAML: {error}")]) from None
    except RecursionError:
        raise ProtocolError([Problem(source, 1, "the YAML is nested too deeply")]) from None
    if builder.problems:
        raise ProtocolError(builder.problems)
    return data, builder.lines


def _line_for(lines: dict[Path_, int], path: Path_) -> int:
    while path not in lines:
        path = path[:-1]
    return lines[path]


def _field_name(path: Path_) -> str:
    names = [str(part) for part in path if isinstance(part, str)]
    return names[-1] if names else "document"


# How the signal mappings look, for a message when something else stands in their place.
SHAPES = {"flag_when": "{above: 0} (count steps) or {equals: option-id} (choice steps)",
          "follow_up": "{due_after: 72h}"}


def _describe(error: jsonschema.ValidationError, data: Any) -> list[tuple[Path_, str]]:
    """Translate one schema error into messages a trainer understands."""
    path = tuple(error.absolute_path)
    name = _field_name(path)
    value = error.instance
    kind = error.validator
    if kind == "required":
        missing = [key for key in error.validator_value if key not in value]
        if "options" in missing:
            return [(path, "a choice step needs 'options' (at least two)")]
        if set(missing) & {"mode", "when"} and isinstance(value, dict) and value.get("pause_point") is True:
            return [(path + ("pause_point",), f"a pause point needs '{key}' ("
                     + ("read-do or do-confirm" if key == "mode" else "one line saying when, e.g. 'Before "
                        "entering the venue'") + ")") for key in missing]
        return [(path, f"missing required field '{key}'") for key in missing]
    if kind == "additionalProperties":
        allowed = error.schema.get("properties", {})
        return [(path + (key,), f"unknown field '{key}'") for key in value if key not in allowed]
    if kind == "not" and isinstance(value, dict) and "steps" in value:
        extra = [key for key in ("mode", "when") if key in value]
        return [(path + (key,), f"'{key}' is only for pause points (add 'pause_point: true')") for key in extra]
    if kind == "not" and "options" in (value or {}):
        return [(path + ("options",), "'options' is only allowed on choice steps")]
    if kind == "const" and name == "kind":
        return [(path, "'expected' is only allowed on yesno steps")]
    if kind == "enum" and name == "kind":
        return [(path, f"unknown step kind {value!r}; use one of: {', '.join(KINDS)}")]
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return [(path, f"'{name}' must be one of: {allowed} (got {value!r})")]
    if kind in ("type", "pattern") and name == "due_after":
        return [(path, f"due_after {value!r} must be a whole number of hours or days, from 1, followed by h or d, "
                       "such as 72h or 14d")]
    if kind == "type" and name in SHAPES and error.validator_value == "object":
        return [(path, f"'{name}' must be a mapping such as {SHAPES[name]}, not {type(value).__name__} {value!r}")]
    if kind == "type":
        expected = {"string": "text", "boolean": "true or false", "array": "a list",
                    "object": "a mapping of fields", "integer": "a whole number"}
        want = expected.get(str(error.validator_value), str(error.validator_value))
        return [(path, f"'{name}' must be {want}, not {type(value).__name__} {value!r}")]
    if kind == "pattern" and name == "version":
        return [(path, f"version {value!r} must look like 1.0.0 (MAJOR.MINOR.PATCH)")]
    if kind == "oneOf" and name == "equals":
        return [(path, "'equals' must be an option id or a list of option ids")]
    if kind in ("minProperties", "maxProperties") and name == "flag_when":
        return [(path, "'flag_when' takes exactly one of: equals (choice steps), above (count steps)")]
    if kind == "minimum":
        return [(path, f"'{name}' must be {error.validator_value} or more (got {value!r})")]
    if kind == "maximum":
        return [(path, f"'{name}' must be at most {error.validator_value:,} (got {value!r})")]
    if kind == "pattern" and name == "language":
        return [(path, f"language {value!r} must be a language tag such as en or es-419")]
    if kind == "pattern":
        return [(path, f"{name} {value!r} may use only lowercase letters, digits and single hyphens")]
    if kind == "maxLength":
        return [(path, f"'{name}' is too long ({len(value)} characters; at most {error.validator_value})")]
    if kind == "minLength":
        return [(path, f"'{name}' must not be empty")]
    if kind == "minItems":
        return [(path, f"'{name}' needs at least {error.validator_value} item(s)")]
    if kind == "maxItems":
        return [(path, f"'{name}' has too many items (at most {error.validator_value})")]
    return [(path, f"'{name}': {error.message}")]


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


def load_text(text: str | bytes, source: str = "<text>", expect: tuple[str, str] | None = None) -> Protocol:
    """Parse, validate and build a protocol; raise ProtocolError listing every problem.

    `expect` is the (id, version) a file's path promises, checked against its content.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ProtocolError([Problem(source, 1, f"the file is larger than {MAX_BYTES // 1024} KB")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError([Problem(source, 1, "the file is not UTF-8 text")]) from None
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ProtocolError([Problem(source, 1, f"the file is larger than {MAX_BYTES // 1024} KB")])
    data, lines = parse_yaml(text, source)
    located: list[tuple[Path_, str]] = []
    if not isinstance(data, dict):
        located.append(((), "a protocol must be a mapping of fields (id, version, title, …)"))
    else:
        for error in schema_errors(data):
            located.extend(_describe(error, data))
        if not located:
            located.extend(_semantic_problems(data))
        if not located and expect is not None and (data["id"], data["version"]) != expect:
            located.append(((), f"the file is named for {expect[0]} {expect[1]} but contains "
                                f"{data['id']} {data['version']}"))
    if located:
        problems = sorted({Problem(source, _line_for(lines, path), message) for path, message in located},
                          key=lambda p: (p.line, p.message))
        raise ProtocolError(problems)
    return build_protocol(data, source)


def load_file(path: Path, root: Path | None = None) -> Protocol:
    """Load protocols/<id>/<version>.yaml, checking the path agrees with the content."""
    shown = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProtocolError([Problem(shown, 1, f"cannot read the file: {error.strerror}")]) from None
    expect = (path.parent.name, path.stem) if path.suffix in (".yaml", ".yml") else None
    return load_text(raw, shown, expect)
