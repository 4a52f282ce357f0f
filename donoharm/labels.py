"""The label rule (issue 18): a run's or an operation's label is a code such as OP-2026-014, never a name.

An organisation sets the rule as a regular expression the whole label must match (DONOHARM_LABEL_PATTERN) and
may explain it in its own words (DONOHARM_LABEL_HINT). The server checks it (run_service.checked_label, for the
page and the API) and so does the phone with no signal (static/js/local.js reads the pattern from the start
form), so the pattern must mean the same to Python's `re` (compiled with re.ASCII) and to a browser's RegExp
(the `u` flag). `pattern_problem` refuses, when the app starts, what only one of them understands.
Whatever the pattern, a label is also one line of printable text of at most run_service.LABEL_LIMIT characters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Letters (A-Z, either case), digits and hyphens, at least one digit, no spaces. ASCII letters only: codes are
# typed on any phone keyboard, and a label in a script of its own could still spell a name. The hyphen is
# escaped because browsers read a form's `pattern` attribute with the `v` flag, where a bare one is an error.
DEFAULT_PATTERN = r"[A-Za-z0-9\-]*[0-9][A-Za-z0-9\-]*"

# Escapes both engines read alike: \d \w \b and their negations are ASCII in both (re.ASCII); the rest are
# characters. \s is not among them: a browser counts Unicode spaces, re.ASCII does not.
_SHARED_ESCAPES = set("dDwWbBtnrfvxu0123456789^$\\.*+?()[]{}|/")
_GROUP_OPENINGS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")
_QUANTIFIER = re.compile(r"\{[0-9]+(,[0-9]*)?\}")


@lru_cache(maxsize=16)
def compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.ASCII)


def allows(pattern: str, label: str) -> bool:
    """Whether the whole label matches the pattern."""
    return compiled(pattern).fullmatch(label) is not None


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be the label rule, in plain words, or None when it can."""
    if not pattern.strip():
        return "it is empty"
    try:
        compiled(pattern)
    except re.error as error:
        return f"it is not a valid regular expression ({error})"
    construct = _unshared(pattern)
    if construct is not None:
        return (f"it uses {construct}, which a phone's browser reads differently or not at all; keep to character "
                r"classes such as [A-Z0-9\-], \d, \w, groups (...) and (?:...), |, ?, *, +, {m,n}, (?=...) "
                "and (?!...)")
    return None


def _unshared(pattern: str) -> str | None:
    """The first construct of the pattern outside the syntax Python and a browser share, or None."""
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1:i + 2]
            if escaped not in _SHARED_ESCAPES and not (in_class and escaped == "-"):
                return f"the escape \\{escaped}"
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            if pattern.startswith(("[]", "[^]"), i):
                return "a character class opening with ]"
            in_class = True
            i += 2 if pattern.startswith("[^", i) else 1
            continue
        elif char == "(" and pattern.startswith("(?", i) and not pattern.startswith(_GROUP_OPENINGS, i):
            return f"the group {pattern[i:i + 3]}…"
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, i)
            if quantifier is None:
                return "a { that does not start a repeat count {m}, {m,} or {m,n}"
            i = quantifier.end()
            if pattern[i:i + 1] == "+":
                return "a possessive repeat (…+)"
            continue
        elif char in "}]":
            return f"an unescaped {char}"
        elif char in "*+?" and pattern[i + 1:i + 2] == "+":
            return "a possessive repeat (…+)"
        i += 1
    return None


@dataclass(frozen=True)
class LabelRule:
    pattern: str
    custom_hint: str | None = None

    def allows(self, label: str) -> bool:
        return allows(self.pattern, label)

    def hint(self) -> str:
        """The rule in plain words, in the person's language unless the organisation wrote its own (in English
        outside a request: the language comes with the request)."""
        from flask import has_request_context
        from flask_babel import gettext

        def _(text: str, **values: str) -> str:
            return gettext(text, **values) if has_request_context() else text % values if values else text

        if self.custom_hint:
            return self.custom_hint
        if self.pattern == DEFAULT_PATTERN:
            return _("Use letters, digits and hyphens, with at least one digit and no spaces, e.g. OP-2026-014 — "
                     "never a person's name.")
        return _("Use a label that matches the pattern your organisation set (%(pattern)s) — never a person's "
                 "name.", pattern=self.pattern)


def current_rule() -> LabelRule:
    """The configured rule (DONOHARM_LABEL_PATTERN and DONOHARM_LABEL_HINT), or the default outside an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return LabelRule(DEFAULT_PATTERN)
    config = current_app.config
    return LabelRule(config.get("LABEL_PATTERN") or DEFAULT_PATTERN, config.get("LABEL_HINT") or None)
