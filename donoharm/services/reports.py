"""Publishing transparency reports (issue 22): the period's figures, the signed JSON and PDF, and checking later
that the runs behind a published report were not changed. The pure parts are in donoharm/transparency/."""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlite_utils import Database

from .. import timefmt, transparency
from ..db import oversight as oversight_db
from ..db import reports as reports_db
from ..db import retention as retention_db
from ..db import transaction
from ..i18n import DEFAULT_LANGUAGE
from ..oversight import measure_label
from ..records import receipting
from ..transparency import document as report_document
from ..transparency import figures as report_figures
from ..transparency.document import Period, ReportError
from .library import get_registry
from .organisation import organisation_name

REPORTS_DIR = "reports"


@dataclass
class Computed:
    """What a period's report says, and the runs it counted."""

    figures: dict[str, Any]
    protocols: list[dict[str, str]]
    heads: list[dict[str, str]]
    data_sha256: str


def step_text(protocol_id: str, step_id: str) -> str:
    """A step's text in the newest version that has it, in the protocol's own language (reproducible)."""
    for protocol in reversed(get_registry().versions(protocol_id)):
        step = protocol.step(step_id)
        if step is not None:
            return step.text
    return step_id


def measure_info(protocol_id: str, measure: str) -> dict[str, Any]:
    """The measure's name as words, and the step it is counted against (its `of`), from the newest version."""
    for protocol in reversed(get_registry().versions(protocol_id)):
        for step in protocol.steps:
            if step.measure == measure:
                return {"label": measure_label(measure), "of_step_id": step.of}
    return {"label": measure_label(measure)}


def compute(db: Database, period: Period, threshold: int) -> Computed:
    """The period's figures as published (suppressed at `threshold`), from the live runs submitted at least once."""
    since, until = period.start.isoformat(), period.end.isoformat()
    tables = report_figures.version_tables(oversight_db.outcomes_by_version(db, since, until, None))
    tables["deviations_by_step"] = report_figures.step_table(oversight_db.step_figures(db, since, until, None),
                                                             step_text)
    measures = report_figures.measure_figures(oversight_db.measure_figures(db, since, until, None), measure_info)
    operations = (reports_db.operations_accompanied(db, since, until), True)
    heads = reports_db.counted_heads(db, since, until)
    return Computed(report_figures.publish(operations, tables, measures, threshold),
                    reports_db.protocol_versions(db, since, until), heads,
                    transparency.data_sha256([h["head"] for h in heads]))


def instance_of(db: Database) -> dict[str, str]:
    return {"id": reports_db.instance_id(db), "name": organisation_name()}


def published_periods(db: Database) -> list[Period]:
    return [Period(date.fromisoformat(r["period_start"]), date.fromisoformat(r["period_end"]), r["period_label"])
            for r in reports_db.published(db)]


def _now() -> str:
    return timefmt.now_z()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def render_pdf(document: dict[str, Any], key: Any) -> bytes:
    """The report as a readable PDF with a chart, the signed JSON attached, signed like records."""
    from ..pdf import attachment, html_to_pdf
    from ..records.render import page_size, stamp_box
    from ..records.signing import sign_pdf
    from ..transparency.chart import step_chart

    with force_locale(DEFAULT_LANGUAGE):  # the report's words are the instance's default language, wherever made
        chart = step_chart(document, {"title": _("Runs with a deviation or a red flag, per step"),
                                      "deviated": _("Deviated"), "flagged": _("Red flag"),
                                      "empty": _("No step deviated or raised a red flag.")})
        # Straight from the Jinja environment: no context processor (they may need a request), nothing but the
        # report goes into the file.
        html = current_app.jinja_env.get_template("reports/report.pdf.html").render(
            report=document, chart=chart, page_size=page_size())
        data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
        pdf = html_to_pdf(html, attachments=[attachment(data, "report.json", description="The signed report",
                                                        relationship="Data")])
    title = f"Transparency report {document['period']['label']}\n{document['instance']['name']}"
    return sign_pdf(pdf, key, title, stamp_box(page_size()))


def publish(db: Database, period: Period, username: str, today: date | None = None) -> dict[str, Any]:
    """Compute, sign and store the period's report; ReportError when the period cannot be published."""
    from ..records.signing import signing_key

    problem = transparency.publishable_problem(period, today or datetime.now(UTC).date(), published_periods(db))
    if problem:
        raise problem
    threshold = current_app.config["OVERSIGHT_MIN_COUNT"]
    computed = compute(db, period, threshold)
    key = signing_key()
    signed = report_document.sign(report_document.build_document(
        "instance", instance_of(db), period, _now(), threshold, computed.protocols, computed.figures,
        computed.data_sha256), key)
    body = (json.dumps(signed, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    pdf = render_pdf(signed, key)
    report_id = str(uuid.uuid4())
    folder = Path(current_app.instance_path) / REPORTS_DIR
    json_path, pdf_path = folder / f"{report_id}.json", folder / f"{report_id}.pdf"
    _write_private(json_path, body)
    _write_private(pdf_path, pdf)
    row = {"id": report_id, "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
           "period_label": period.label, "published_at": signed["published_at"], "published_by": username,
           "json_sha256": hashlib.sha256(body).hexdigest(), "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
           "data_sha256": computed.data_sha256, "json_path": json_path.name, "pdf_path": pdf_path.name}
    with transaction(db):
        # Checked again inside the write lock: two administrators publishing the same quarter at once.
        late = transparency.publishable_problem(period, today or datetime.now(UTC).date(), published_periods(db))
        if late:
            json_path.unlink(missing_ok=True)
            pdf_path.unlink(missing_ok=True)
            raise late
        reports_db.add_report(db, row, computed.heads)
    return row


def report_file(row: dict[str, Any], which: str) -> Path:
    """The stored JSON or PDF of a published report."""
    return Path(current_app.instance_path) / REPORTS_DIR / row[f"{which}_path"]


def check(db: Database, report_id: str) -> tuple[bool, list[str]]:
    """Whether the runs behind a published report are unchanged; lines saying what was found.

    A run appended to since (approved, followed up) is reported but not a failure when the report's head is
    still in its chain (every hash recomputed from the stored events): its history up to then is intact. A run
    deleted by the retention policy is listed with what its deletion register shows, not as a change: deleting
    locked runs after their retention period is what the organisation promised. A run whose chain no longer holds
    the head, or that is gone without a deletion register entry, is a failure: what the report counted changed."""
    row = reports_db.get_report(db, report_id)
    if row is None:
        return False, [f"no published report {report_id}"]
    lines, intact = [], True
    heads = [h["head"] for h in row["heads"]]
    if transparency.data_sha256(heads) != row["data_sha256"]:
        return False, ["the stored list of runs does not match the report's data_sha256"]
    appended = 0
    chain_of = receipting.chain_of(db)  # every hash recomputed from the stored content, not read as stored
    for entry in row["heads"]:
        chain = chain_of(entry["run_id"])
        if chain is None:
            deleted = retention_db.deleted_run(db, entry["run_id"])
            if deleted is None:
                intact = False
                lines.append(f"run {entry['run_id']}: no longer stored, and not deleted by the retention policy")
            else:
                same = "the head the report counted" if deleted["head_hash"] == entry["head"] else \
                    f"{deleted['event_count']} events (its history before deletion cannot be checked here)"
                lines.append(f"run {entry['run_id']}: deleted by the retention policy on {deleted['deleted_at']} "
                             f"(deletion register: {same})")
        elif entry["head"] not in chain:
            intact = False
            lines.append(f"run {entry['run_id']}: its history was changed: the head the report counted is no "
                         f"longer in its chain as recomputed from the stored events")
        elif chain[-1] != entry["head"]:
            appended += 1
    lines.insert(0, f"report {report_id} ({row['period_label']}): {len(heads)} run(s), data_sha256 "
                    f"{row['data_sha256']}")
    if appended:
        lines.append(f"{appended} run(s) gained events since (reviewed or followed up); their history up to the "
                     f"report is intact, so the figures of a new computation may differ")
    return intact, lines


def load_pem_roots(blobs: list[tuple[str, bytes]]) -> list[Any]:
    """The certificates in PEM files (name, bytes); ReportError naming a file that holds none."""
    from cryptography import x509

    roots = []
    for name, data in blobs:
        try:
            roots.extend(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise ReportError("trust", f"{name}: not a PEM certificate") from None
    if not roots:
        raise ReportError("trust", "give the root certificate (PEM) of every instance whose report is combined")
    return roots


def combine(db: Database, named: list[tuple[str, bytes]], roots: list[Any]) -> dict[str, Any]:
    """The reports (name, bytes) verified and added up into one report signed by this instance; ReportError
    naming the file and the reason when one is refused (nothing is produced then)."""
    from ..records.signing import signing_key
    from ..transparency import combine as combining

    threshold = current_app.config["OVERSIGHT_MIN_COUNT"]
    documents = combining.accept(named, roots, threshold)
    unsigned = report_document.build_document(
        "combined", instance_of(db), combining.combined_period(documents), _now(), threshold,
        combining.combined_protocols(documents), combining.combined_figures(documents, threshold),
        combining.combined_data_sha256(documents), combining.inputs_of(documents))
    return report_document.sign(unsigned, signing_key())
