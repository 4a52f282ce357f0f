"""Build small protocol documents for tests (neutral, invented content)."""
from __future__ import annotations

import copy

import yaml

BASE = {
    "id": "test-protocol",
    "version": "1.0.0",
    "title": "Test protocol",
    "summary": "A protocol used only by the tests.",
    "language": "en",
    "changelog": "First published version.",
    "sources": {"S1": "A test source"},
    "phases": [
        {"id": "before", "title": "Before", "steps": [
            {"id": "agreement", "text": "Agreement confirmed?", "kind": "yesno", "critical": True,
             "expected": "yes", "sources": ["S1"]},
            {"id": "briefing", "text": "Team briefed.", "kind": "check", "critical": True, "sources": ["S1"]},
        ]},
        {"id": "during", "title": "During", "steps": [
            {"id": "screened", "text": "How many people were screened?", "kind": "count",
             "critical": False, "sources": ["S1"]},
            {"id": "arrival", "text": "Arrival time", "kind": "time", "critical": False, "sources": ["S1"]},
            {"id": "where", "text": "Where was the social worker?", "kind": "choice", "critical": True,
             "options": [{"id": "on-site", "label": "On site"}, {"id": "staging-area", "label": "Staging area"}],
             "sources": ["S1"]},
            {"id": "debrief", "text": "What was agreed at the debrief?", "kind": "text",
             "critical": False, "guidance": "Roles only.", "sources": ["S1"]},
        ]},
    ],
}


def document(**changes):
    """A fresh copy of the base document with top-level changes applied."""
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def as_yaml(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def accompaniment_1_3_0() -> str:
    """The shipped accompaniment protocol 1.1.0 as a 1.3.0 with one changed and one added step."""
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "protocols" / "social-worker-accompaniment" / "1.1.0.yaml"
    doc = yaml.safe_load(source.read_text("utf-8"))
    doc["version"] = "1.3.0"
    doc["changelog"] = ("Changes since 1.1.0: arrival-time asks when the social worker arrived; "
                        "new step water-and-food-offered.")
    entry = next(p for p in doc["phases"] if p["id"] == "entry")
    arrival = next(s for s in entry["steps"] if s["id"] == "arrival-time")
    arrival["text"] = "At what time did the social worker reach the venue?"
    during = next(p for p in doc["phases"] if p["id"] == "during")
    during["steps"].append({"id": "water-and-food-offered", "text": "Were water and food offered to everyone found?",
                            "kind": "yesno", "critical": True, "expected": "yes", "sources": ["UNODC"]})
    return as_yaml(doc)


# A protocol that uses every harm signal: an expected answer, a flagged choice, a count limit, outcome
# measures with a denominator, and a follow-up phase due 72 hours after submission.
SIGNALS = {
    "id": "signals-test",
    "version": "1.0.0",
    "title": "Signals test protocol",
    "summary": "A protocol used only by the tests of red flags, follow-ups and measures.",
    "language": "en",
    "changelog": "First published version.",
    "sources": {"S1": "A test source"},
    "phases": [
        {"id": "during", "title": "During", "steps": [
            {"id": "family-contact-safe", "text": "Was family contacted only after a risk assessment?",
             "kind": "yesno", "critical": True, "expected": "yes", "sources": ["S1"]},
            {"id": "placement", "text": "Where were people placed?", "kind": "choice", "critical": False,
             "options": [{"id": "shelter", "label": "Shelter"}, {"id": "police-cell", "label": "Police cell"}],
             "flag_when": {"equals": "police-cell"}, "sources": ["S1"]},
            {"id": "people-present", "text": "How many people were present?", "kind": "count",
             "critical": True, "measure": "people-present", "sources": ["S1"]},
            {"id": "screened-in-private", "text": "How many people were screened in private?", "kind": "count",
             "critical": False, "measure": "people-screened-in-private", "of": "people-present", "sources": ["S1"]},
            {"id": "victims-arrested", "text": "How many people with signs of trafficking were arrested?",
             "kind": "count", "critical": False, "measure": "potential-victims-arrested", "of": "people-present",
             "flag_when": {"above": 0}, "sources": ["S1"]},
        ]},
        {"id": "follow-up", "title": "Follow-up", "follow_up": {"due_after": "72h"}, "steps": [
            {"id": "no-removal-72h", "text": "Within 72 hours, was anyone removed or detained?", "kind": "yesno",
             "critical": False, "expected": "no", "sources": ["S1"]},
            {"id": "services-reachable", "text": "Are services still reachable?", "kind": "check",
             "critical": False, "sources": ["S1"]},
        ]},
    ],
}


def signals_yaml(**changes) -> str:
    doc = copy.deepcopy(SIGNALS)
    doc.update(changes)
    return as_yaml(doc)
