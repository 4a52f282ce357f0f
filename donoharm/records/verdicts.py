"""A verification verdict in one plain sentence (issue 21): what a non-technical reader needs first.

The checks of a verdict (records/verify.py) are each true or false; a reader wants to know whether to trust
the file, and why not in words. `outcome` picks the one reason that matters most, in the order the checks
depend on one another (a signature that does not match says nothing about who made it or what came after).
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from .verify import Verdict

OUTCOMES = ("genuine", "superseded_by_redaction", "superseded", "not_a_record", "damaged", "changed",
            "not_signed_here", "added_after_signing", "not_issued_here", "problem")


def outcome(verdict: Verdict) -> str:
    """The one verdict (a key of OUTCOMES) for this verification."""
    if verdict.valid:
        if verdict.redacted_at:
            return "superseded_by_redaction"
        return "superseded" if verdict.latest is False else "genuine"
    if verdict.signatures == 0:  # not a PDF, too large, or no signature at all
        return "not_a_record"
    if not verdict.readable:
        return "damaged"
    if not verdict.intact:
        return "changed"
    if not verdict.trusted:
        return "not_signed_here"
    if not verdict.unmodified:
        return "added_after_signing"
    if verdict.run_id is None:  # signed, but carries no run of this app
        return "not_a_record"
    if not verdict.matches_record:
        return "not_issued_here"
    return "problem"


def sentence(code: str) -> str:
    """The verdict as one sentence, in the current language."""
    return {
        "genuine": _("This is a genuine record: signed by this organisation, unchanged since, and issued by "
                     "this server."),
        "superseded_by_redaction": _("This record was superseded by a redaction: it is genuine, but destroy "
                                     "copies of this file."),
        "superseded": _("This is a genuine record, but the run has a newer one: ask for the latest record."),
        "not_a_record": _("This is not a record from this app."),
        "damaged": _("This file is damaged or was changed: it cannot be checked."),
        "changed": _("This file was changed after it was signed."),
        "not_signed_here": _("This file was not signed by this organisation."),
        "added_after_signing": _("Something was added to this file after it was signed."),
        "not_issued_here": _("This file is signed by this organisation, but this server did not issue it."),
        "problem": _("Do not trust this file: see the problems below."),
    }[code]


def verdict_json(verdict: Verdict, protocol_title: str | None = None) -> dict:
    """The API's verdict: every field it always had, plus the outcome, its sentence (in English, like the
    problems) and the protocol's title (issue 21)."""
    code = outcome(verdict)
    with force_locale("en"):
        summary = sentence(code)
    return {**verdict.to_json(), "verdict": code, "summary": summary, "protocol_title": protocol_title}


def protocol_title(verdict: Verdict, registry) -> str | None:
    """The title of the protocol the record names, if this server knows that version."""
    if not (verdict.protocol_id and verdict.protocol_version):
        return None
    protocol = registry.get(verdict.protocol_id, verdict.protocol_version)
    return protocol.title if protocol is not None else None
