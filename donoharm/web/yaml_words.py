"""YAML syntax errors in plain words for trainers: where (line and column) and what to do, not parser jargon.

The loader reports "not valid YAML: expected <block end>, but found '<block mapping start>'"; a trainer needs
"this line is indented differently from the lines around it". The text is parsed again here to find the
column, which the loader's problems do not carry.
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml
from flask_babel import gettext as _

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 1-based
    column: int  # 1-based
    message: str
    started_line: int | None = None  # where the block the parser was reading began, when it says


def plain_words(problem: str) -> str:
    """What a PyYAML/libyaml problem means, in words a trainer can act on."""
    if problem.startswith("expected <block end>") or "did not find expected <document start>" in problem \
            or problem.startswith("did not find expected key") or problem.startswith("did not find expected '-'"):
        return _("This line is indented differently from the lines around it. Keys of the same block need the "
                 "same number of spaces in front of them, and a list item (“- ”) lines up under its key.")
    if "mapping values are not allowed" in problem:
        return _("A colon followed by a space (“: ”) is where YAML does not expect one. If it is part of a text, "
                 "put the whole text in double quotes.")
    if "cannot start any token" in problem and "\\t" in problem:
        return _("There is a tab character here. YAML indents with spaces only: replace the tab with spaces.")
    if "could not find expected ':'" in problem:
        return _("A key is missing its colon (:), or a text runs onto the next line. Put long texts in double "
                 "quotes, or add the colon after the key.")
    if "found unexpected end of stream" in problem or "found unknown escape character" in problem:
        return _("A quoted text is not closed, or holds a backslash YAML cannot read. Check the quotes on this line.")
    if "found character" in problem and "cannot start any token" in problem:
        return _("This character cannot start a value (for example @ or `). Put the whole text in double quotes.")
    if "found duplicate anchor" in problem or "found undefined alias" in problem:
        return _("An anchor (&) or alias (*) is used here. Protocols do not need them: write the value out.")
    return _("The YAML cannot be read here (the parser says: %(detail)s).", detail=problem)


def syntax_problem(text: str) -> SyntaxProblem | None:
    """The first YAML syntax error in text, located and explained; None when the text parses."""
    try:
        for _event in yaml.parse(text, Loader=_LOADER):
            pass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if mark is None:
            return None
        started = error.context_mark.line + 1 if error.context_mark and error.problem_mark else None
        return SyntaxProblem(mark.line + 1, mark.column + 1, plain_words(error.problem or error.context or ""),
                             started if started != mark.line + 1 else None)
    except yaml.YAMLError:
        return None
    return None
