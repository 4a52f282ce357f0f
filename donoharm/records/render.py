"""Render a run's audit record: HTML from a template, PDF with the embedded machine-readable record."""
from __future__ import annotations

import json
from datetime import datetime

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..i18n import DEFAULT_LANGUAGE, supported
from ..pdf import attachment, html_to_pdf
from ..protocols import Protocol
from ..runs import RunState
from ..runs.drawn_signature import clean_drawn_signature
from ..services.organisation import in_zone, organisation_name, paper_size, time_zone
from ..timefmt import parse, parse_as_written
from .profiles import Disclosure

ATTACHMENT_NAME = "audit-record.json"
PAGE_SIZES = {"A4": (595, 842), "LETTER": (612, 792)}
MARGIN_MM = 14
# Points; the template keeps this corner of page 1 free. Wide enough for "Record <uuid>" at 9 pt (212 pt for the
# widest of 20,000 random ids), high enough for four lines; the stamp is sized to its text inside it (signed_pdf).
STAMP_W, STAMP_H = 225, 58


def page_size() -> str:
    """The paper size (a key of PAGE_SIZES): the organisation's setting, else RECORD_PAGE_SIZE or
    DONOHARM_PAGE_SIZE (A4 or Letter), default A4 (organisation.paper_size)."""
    wanted = paper_size().upper()
    return wanted if wanted in PAGE_SIZES else "A4"


def stamp_box(size: str) -> tuple[int, int, int, int]:
    """The space kept for the visible signature: the top-right corner inside the page margin (PDF points).
    sign_pdf draws the stamp at this corner, its box sized to its text (at least 8 pt)."""
    width, height = PAGE_SIZES[size]
    margin = round(MARGIN_MM * 72 / 25.4)
    return (width - margin - STAMP_W, height - margin - STAMP_H, width - margin, height - margin)


def _readable(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (f" {offset[:3]}:{offset[3:]}" if offset else "")


def device_when(iso: str | None) -> str:
    """A device's timestamp as recorded, made readable: '2026-01-01 21:30:00 +00:00' (the recorded offset kept:
    it is what the phone's clock said, evidence in itself)."""
    if not iso:
        return ""
    try:
        return _readable(parse_as_written(iso))
    except ValueError:
        return iso


when = device_when  # the name this had when every time was shown as recorded


def _moment(iso: str) -> datetime | None:
    try:
        return parse_as_written(iso)
    except ValueError:
        return None


def zoned_when(iso: str | None, zone: str) -> str:
    """A moment in the organisation's time zone with its UTC offset: '2026-01-01 22:30:00 +01:00 (Europe/Paris)'
    (a moment written without a zone, never written so, is shown as it is rather than guessed)."""
    shown = local_when(iso, zone)
    moment = _moment(iso) if iso else None
    return f"{shown} ({zone})" if moment is not None and moment.tzinfo is not None else shown


def local_when(iso: str | None, zone: str) -> str:
    """A moment in the organisation's zone with its offset but not the zone's name (a table column or the
    record's note on times names it once): '2026-01-01 22:30:00 +01:00'."""
    if not iso:
        return ""
    moment = _moment(iso)
    if moment is None:
        return iso
    return _readable(in_zone(moment, zone) if moment.tzinfo else moment)


def zone_offset(zone: str, at: str) -> str:
    """The zone's offset from UTC at a moment, as 'UTC+07:00' (the record names it beside the zone)."""
    offset = in_zone(parse(at), zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def status_history(run: dict, state: RunState) -> list[dict]:
    """The run's changes of status in the order the server received them, each with the device's time and the
    server's: started, every submission (numbered when there are several), every return and approval."""
    submissions = len(state.submissions)
    moments = [{"kind": "started", "at": run.get("created_at"), "received_at": run.get("received_at"),
                "actor": run.get("created_by")}]
    moments += [{"kind": "submitted", "at": s.get("at"), "received_at": s.get("received_at"), "actor": s.get("actor"),
                 "number": n, "of": submissions} for n, s in enumerate(state.submissions, 1)]
    moments += [{"kind": r["decision"], "at": r.get("at"), "received_at": r.get("received_at"),
                 "actor": r.get("actor")} for r in state.reviews]
    return sorted(moments, key=lambda m: (m["received_at"] or m["at"] or ""))


def notes_by_step(state: RunState, protocol: Protocol) -> dict[str | None, list[dict]]:
    """The run's notes grouped by the step they are about; None holds those about the whole run (or a step the
    protocol does not have), shown in a section of their own."""
    grouped: dict[str | None, list[dict]] = {}
    for note in state.notes:
        step = note.get("step") if note.get("step") and protocol.step(note["step"]) else None
        grouped.setdefault(step, []).append(note)
    return grouped


def follow_ups_at(state: RunState, issued_at: str) -> list[dict]:
    """The run's follow-ups as the record shows them: each also says whether it was overdue when issued."""
    issued = parse(issued_at)
    return [{**f, "overdue": bool(f["open"] and f["due_at"]
                                  and parse(f["due_at"]) < issued)}
            for f in state.follow_ups()]


def record_html(record_id: str, issued_at: str, reason: str, run: dict, protocol: Protocol, state: RunState,
                events: list[dict], signature_image: str | None, operation: dict | None = None,
                disclosure: Disclosure | None = None, pair: dict | None = None) -> str:
    """The record as HTML, in the language the run was carried out in; `operation` as operations.document_of.

    `disclosure` says what the profile shows (internal by default); `pair` names the other profile's record:
    for the internal one the shareable's id and sha256, for the shareable one the internal's id."""
    texts = protocol.in_language(run.get("language"))
    disclosure = disclosure or Disclosure("internal", texts, run["created_by"])
    zone = time_zone()

    def when(iso: str | None) -> str:  # a server time (received, issued, computed): the organisation's zone
        return zoned_when(iso, zone)

    def in_zone_when(iso: str | None) -> str:  # any time in a table: the zone is named once, the offset each time
        return local_when(iso, zone)

    def item_when(item: dict) -> str:  # a review, redaction or acknowledgement: when the server received it
        if item.get("received_at"):
            return in_zone_when(item["received_at"])
        return _("device %(time)s", time=in_zone_when(item.get("at"))) if item.get("at") else ""

    # The record's labels follow the run's language too, whoever's request issues it (e.g. a supervisor's).
    with force_locale(supported(texts.language) or DEFAULT_LANGUAGE):
        profile_word = _("shareable") if disclosure.shareable else _("internal")
        return render_template(
            "records/record.html", record_id=record_id, issued_at=issued_at, reason=reason, run=run,
            protocol=texts, state=state, events=events, when=when, device_when=in_zone_when, item_when=item_when,
            recorded_when=device_when, time_zone=zone, zone_offset=zone_offset(zone, issued_at),
            history=status_history(run, state), step_notes=notes_by_step(state, texts),
            organisation=organisation_name(), page_size=page_size(), margin_mm=MARGIN_MM,
            stamp_w_mm=STAMP_W * 25.4 / 72, stamp_h_mm=STAMP_H * 25.4 / 72, signature_image=signature_image,
            practice=run["mode"] == "practice", follow_ups=follow_ups_at(state, issued_at), operation=operation,
            disclosure=disclosure, pair=pair, profile_word=profile_word,
        )


def record_pdf(html: str, document: dict) -> bytes:
    """Render the record HTML to PDF with the run's JSON attached as audit-record.json."""
    data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
    attached = attachment(data, ATTACHMENT_NAME, description="The run, its events and state as JSON",
                          relationship="Data")
    # PDF/A-3a as WeasyPrint writes it: PDF/A-3 (embedded fonts, sRGB output intent, XMP, the JSON as an
    # associated file) with tags (structure tree, document language, title) and /ActualText for shaped scripts
    # (pdf_text). Signing keeps the metadata consistent (signing.ConsistentMetadataWriter); see README.
    return html_to_pdf(html, attachments=[attached], pdf_variant="pdf/a-3a")


def signature_image_of(state: RunState) -> str | None:
    """The drawn signature of the latest submission, re-encoded as a bounded PNG; None if there is none or
    it is not an acceptable PNG (runs stored before signatures were checked render without it)."""
    if not state.submissions:
        return None
    value = state.submissions[-1].get("attestation") or {}
    drawn = value.get("signature") if isinstance(value, dict) else None
    if not isinstance(drawn, str):
        return None
    try:
        return clean_drawn_signature(drawn)
    except ValueError:
        return None
