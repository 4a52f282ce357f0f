"""The two disclosure profiles of a signed record (issue 18): what each shows of a run.

Every record is issued twice, for the same chain head and status, both signed:

- `internal`: everything the run holds (as records always were), for the organisation itself.
- `shareable`: for a funder, a court or a partner. No free text at all (notes, not-applicable reasons,
  deviation texts, review comments, redaction reasons, text answers: each says "text withheld in this
  profile", so a deviation is still listed as a deviation of its step); roles instead of staff names
  (accompanier, supervisor, administrator) everywhere, also in the attestation, the event log and the other runs
  of the operation; no typed attestation name and no drawn signature; any count under the oversight threshold
  (DONOHARM_OVERSIGHT_MIN_COUNT, default 5) shown as "<5", as oversight/suppression.py publishes counts; and no
  nationality or immigration totals (`withholds_step`).

Its embedded audit-record.json follows the same rules (`shareable_document`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from ..oversight.suppression import suppress
from ..protocols import Protocol, Step

INTERNAL, SHAREABLE = "internal", "shareable"
PROFILES = (INTERNAL, SHAREABLE)

# Nationality and immigration totals never leave the organisation. Published protocol versions never change, so
# their steps are recognised here: by the outcome measure they report (versions from 1.1.0), or by their step id
# in the versions written before measures existed (immigration-separation 1.0.x). A new protocol version can
# also mark any step `disclosure: internal` (protocols/schema.json).
NATIONALITY_MEASURES = frozenset({
    "foreign-nationals-present", "foreign-nationals-screened", "foreign-nationals-identified",
    "foreign-nationals-informed", "foreign-nationals-detained", "foreign-nationals-removed",
})
NATIONALITY_STEP_IDS = frozenset({
    "total-foreign-nationals-present", "total-foreign-nationals-screened", "total-foreign-nationals-identified",
    "foreign-nationals-informed", "total-foreign-nationals-detained", "total-foreign-nationals-removed",
    "foreign-nationals-present", "foreign-nationals-detained", "foreign-nationals-removed",
})

# How the shareable profile's JSON names who acted: the role, never the account.
ACCOMPANIER, SUPERVISOR, ADMIN, SYSTEM, STAFF = "accompanier", "supervisor", "admin", "system", "staff"


def withholds_step(step: Step) -> bool:
    """Whether the shareable profile leaves out this step's answer (a nationality or immigration total)."""
    return step.disclosure == INTERNAL or (step.kind == "count" and (
        step.measure in NATIONALITY_MEASURES or step.id in NATIONALITY_STEP_IDS))


def role_of(username: str | None, created_by: str, roles: dict[str, str]) -> str:
    """The role someone acted in on this run: whoever started it is its accompanier (only they change its
    steps); "system" is the retention job; anyone else (a reviewer or redactor) by their account's role."""
    if username == created_by:
        return ACCOMPANIER
    if username == SYSTEM:
        return SYSTEM
    role = roles.get(username or "")
    return role if role in (SUPERVISOR, ADMIN) else STAFF


@dataclass(frozen=True)
class Disclosure:
    """What one profile shows; the record template asks it for every name, text and count it prints."""

    profile: str
    protocol: Protocol
    created_by: str
    threshold: int = 5
    roles: dict[str, str] = field(default_factory=dict)  # username -> account role, for people who reviewed
    # username -> full name at issue time (issue 19), for the internal record only; the shareable shows roles.
    names: dict[str, str] = field(default_factory=dict)

    @property
    def shareable(self) -> bool:
        return self.profile == SHAREABLE

    def withholds(self, step: Step | str | None) -> bool:
        if not self.shareable or step is None:
            return False
        found = self.protocol.step(step) if isinstance(step, str) else step
        return found is not None and withholds_step(found)

    def withheld_steps(self) -> list[str]:
        return [step.id for step in self.protocol.steps if withholds_step(step)]

    def count(self, value: Any) -> Any:
        """A count as this profile shows it: '<5' under the threshold in the shareable profile."""
        if self.shareable and isinstance(value, int) and not isinstance(value, bool):
            return suppress(value, self.threshold) if value < self.threshold else value
        return value

    # --- words for the record's pages (translated: called while the record renders in the run's language)

    def person(self, username: str | None) -> str:
        """Who acted: the person in the internal record ('Full Name (username)', or the username of an account
        without a full name), the role in the shareable one."""
        if not self.shareable:
            name = self.names.get(username or "")
            return f"{name} ({username})" if name else username or ""
        return role_word(role_of(username, self.created_by, self.roles))

    def text(self, item: dict[str, Any] | None, key: str = "note") -> str | None:
        """A free text as this profile shows it: 'Text removed (redaction)' once redacted (both profiles),
        'text withheld in this profile' in the shareable one; None when there was none."""
        if not item:
            return None
        if item.get("redacted") and item.get(key) is None:
            return _("Text removed (redaction)")
        if item.get(key) is None:
            return None
        return _("text withheld in this profile") if self.shareable else item[key]

    def answer(self, step: Step, entry: dict[str, Any], words) -> str:
        """A step's answer: `words(step, entry)` (web.runs.answer_text) unless the profile withholds it."""
        if entry.get("status") != "done":
            return ""
        if step.kind == "text":
            if entry.get("redacted") and entry.get("value") is None:
                return _("Text removed (redaction)")
            if self.shareable:
                return _("text withheld in this profile")
        if self.withholds(step):
            if step.disclosure == INTERNAL:
                return _("withheld in this profile (in the internal record only)")
            return _("withheld in this profile (a nationality or immigration figure)")
        if step.kind == "count":
            return str(self.count(entry.get("value")))
        return words(step, entry)

    def flag(self, flag: dict[str, Any]) -> dict[str, Any]:
        """A red flag whose reasons say no withheld or small count: an 'x of N' reason names N as '<5', or,
        when N is itself withheld, says only that the protocol marks the answer."""
        if not self.shareable:
            return flag
        reasons = []
        for reason in flag.get("reasons", ()):
            if reason["rule"] == "of":
                reason = {**reason, "limit": self.count(reason["limit"])}
                if self.withholds(reason["of"]) or self.withholds(flag.get("step")):
                    reason = {"rule": "equals"}
            reasons.append(reason)
        return {**flag, "reasons": reasons}


def role_word(role: str) -> str:
    return {ACCOMPANIER: _("accompanier"), SUPERVISOR: _("supervisor"), ADMIN: _("administrator"),
            SYSTEM: _("automatic retention")}.get(role, _("staff member"))


# --- the shareable profile's embedded audit-record.json

# What each event keeps: enough to follow its links (prev_hash -> hash) to the chain head and, with the
# commitments, to know which texts existed, but no text, no salt and no name.
SHAREABLE_EVENT_FIELDS = ("id", "run", "seq", "type", "step", "value", "at", "received_at", "actor", "prev_hash",
                          "hash", "text_commitment", "value_is_text", "text_confirmed", "redacted")


def shareable_document(document: dict[str, Any], disclosure: Disclosure) -> dict[str, Any]:
    """The run document (api.v1.run_document) as the shareable profile embeds it. Each entry from which
    something was left out or replaced lists it under `withheld`."""
    doc = copy.deepcopy(document)
    doc["run"]["created_by"] = ACCOMPANIER
    state = doc["state"]
    for step_id, entry in state["steps"].items():
        _values(entry, step_id, disclosure)
        _texts(entry, ("note",))
    for key, texts in (("notes", ("note",)), ("deviations", ("note",)), ("reviews", ("comment",)),
                       ("redactions", ("reason",)), ("superseded", ())):
        for item in state.get(key, []):
            _actor(item, disclosure)
            _texts(item, texts)
            if key == "superseded":
                _values(item, item.get("step"), disclosure)
    for submission in state["submissions"]:
        _actor(submission, disclosure)
        submission["attestation"] = _attestation(submission.get("attestation"))
        _withheld(submission, "attestation.name", "attestation.signature")
    for flag in state["red_flags"]:
        _values(flag, flag.get("step"), disclosure)
        _texts(flag, ("note",))
        flag.update(disclosure.flag(flag))
    doc["events"] = [_event(event, disclosure) for event in doc["events"]]
    for sibling in (doc.get("operation") or {}).get("siblings", []):
        sibling["created_by"] = ACCOMPANIER
    return doc


def _withheld(item: dict[str, Any], *names: str) -> None:
    if names:
        item["withheld"] = sorted(set(item.get("withheld", [])) | set(names))


def _actor(item: dict[str, Any], disclosure: Disclosure) -> None:
    if "actor" in item:
        item["actor"] = role_of(item["actor"], disclosure.created_by, disclosure.roles)


def _texts(item: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Leave out free texts (a redacted one is already null and says `redacted`)."""
    withheld = [key for key in keys if item.get(key) is not None]
    for key in keys:
        if key in item:
            item[key] = None
    _withheld(item, *withheld)


def _values(item: dict[str, Any], step_id: str | None, disclosure: Disclosure) -> None:
    """A step's value: null for a text answer or a withheld step, '<5' for a small count."""
    step = disclosure.protocol.step(step_id) if step_id else None
    value = item.get("value")
    if step is None or value is None:
        return
    if step.kind == "text" or disclosure.withholds(step):
        item["value"] = None
        _withheld(item, "value")
    elif disclosure.count(value) != value:
        item["value"] = disclosure.count(value)
        _withheld(item, "value")


def _attestation(value: Any) -> dict[str, Any] | None:
    """The attestation without the typed name or the drawn signature: only that it was confirmed."""
    return {"confirmed": value.get("confirmed")} if isinstance(value, dict) else None


def _event(event: dict[str, Any], disclosure: Disclosure) -> dict[str, Any]:
    shown = {key: event[key] for key in SHAREABLE_EVENT_FIELDS if key in event}
    withheld = ["note"] if event.get("note") is not None else []
    if event.get("text_salt") is not None:
        withheld.append("text_salt")
    shown["actor"] = role_of(event.get("actor"), disclosure.created_by, disclosure.roles)
    withheld.append("actor")
    if event["type"] == "run.submitted":
        shown["value"] = _attestation(event.get("value"))
        withheld.append("value")
    elif event.get("value_is_text") and event.get("value") is not None:
        shown["value"] = None
        withheld.append("value")
    elif event["type"] in ("step.set", "step.na", "step.cleared"):
        _values(shown, event.get("step"), disclosure)
        withheld.extend(shown.pop("withheld", []))
    _withheld(shown, *withheld)
    return shown
