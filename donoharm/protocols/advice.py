"""Advice on a valid protocol, from how good field checklists work (pure): warnings, never errors.

A pause point is read in 60 to 90 seconds: at most 9 steps, of which at most 3 killer (critical) items;
a count of people means little without the number it is out of.
"""
from __future__ import annotations

import re

from .model import Protocol
from .yaml_lines import Problem, _line_for, parse_yaml

MAX_PAUSE_STEPS = 9
MAX_PAUSE_CRITICAL = 3
# "How many <people>": a count of people, not of staff, documents or incidents (English, the shipped originals).
PEOPLE = re.compile(r"\bhow many (?:[\w-]+ ){0,2}?(people|persons|adults|children|minors|(?<!social )workers|"
                    r"victims|women|men|girls|boys|foreign nationals|suspects)\b", re.IGNORECASE)


def warnings(protocol: Protocol, text: str, source: str) -> list[Problem]:
    """Warnings for a protocol that loaded without errors, each on the line it is about."""
    _data, lines = parse_yaml(text, source)
    found = []
    denominators = {step.of for step in protocol.steps if step.of}
    for p, phase in enumerate(protocol.phases):
        where = ("phases", p)
        if phase.pause_point and len(phase.steps) > MAX_PAUSE_STEPS:
            found.append(Problem(source, _line_for(lines, where + ("pause_point",)),
                                 f"warning: pause point '{phase.id}' has {len(phase.steps)} steps; keep it to "
                                 f"{MAX_PAUSE_STEPS} or fewer, so it can be read in 60 to 90 seconds"))
        critical = [step for step in phase.steps if step.critical]
        if phase.pause_point and len(critical) > MAX_PAUSE_CRITICAL:
            found.append(Problem(source, _line_for(lines, where + ("pause_point",)),
                                 f"warning: pause point '{phase.id}' has {len(critical)} critical steps; keep the "
                                 f"killer items to {MAX_PAUSE_CRITICAL} or fewer"))
        for s, step in enumerate(phase.steps):
            if (step.kind == "count" and not step.of and step.id not in denominators
                    and PEOPLE.search(step.text)):
                found.append(Problem(source, _line_for(lines, where + ("steps", s, "id")),
                                     f"warning: count '{step.id}' counts people but has no 'of': say which count "
                                     "it is out of (such as the people present), so that a number can be judged"))
    return found
