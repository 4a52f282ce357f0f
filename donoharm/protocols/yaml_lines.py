"""Protocol YAML parsed safely, with the line of every key and list item, and the problems found in a file
located by those lines (pure). Used by protocols/loader.py and protocols/advice.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

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
