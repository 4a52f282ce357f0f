"""Parse and validate protocol YAML, reporting every problem with its YAML line.

The YAML is read with its lines by protocols/yaml_lines.py and checked for what the schema cannot say by
protocols/checks.py; this module checks the schema, words its errors for a trainer and builds the protocol."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from .checks import _semantic_problems
from .model import KINDS, Protocol, build_protocol
from .yaml_lines import (  # noqa: F401  (importable from the loader, as before)
    _LOADER,
    MAX_DEPTH,
    MAX_NODES,
    Path_,
    Problem,
    ProtocolError,
    _Builder,
    _check_shape,
    _field_name,
    _line_for,
    parse_yaml,
)

if TYPE_CHECKING:
    import jsonschema

MAX_BYTES = 256 * 1024


def _schema() -> dict[str, Any]:
    text = resources.files("donoharm.protocols").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


SCHEMA = _schema()
# The compiled validator answers "valid or not" about 20 times faster; only an invalid document pays for the
# pure-Python one, whose errors carry the paths that `_describe` turns into lines and plain words (imported
# then, not at start: a valid library never needs it).
_FAST_VALIDATOR = jsonschema_rs.Draft202012Validator(SCHEMA)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(SCHEMA)


def schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    """Every way `data` breaks the schema (none for a valid protocol, found quickly)."""
    if _FAST_VALIDATOR.is_valid(data):
        return []
    return list(_validator().iter_errors(data))


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
