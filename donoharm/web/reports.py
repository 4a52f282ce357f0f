"""Transparency reports: the public list and downloads (no account), and administrators' pages to publish a
period's report and to combine members' reports into a coalition's (issue 22).

The work: donoharm/services/reports.py."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import StringField

from ..accounts.auth import roles_required
from ..db import get_db
from ..db import reports as reports_db
from ..services import reports
from ..services.reports_cli import MAX_REPORT_BYTES
from ..transparency.document import ReportError, period_of

bp = Blueprint("reports", __name__)


class PublishForm(FlaskForm):
    period = StringField(_l("Quarter"), render_kw={"placeholder": "2026-Q2", "autocomplete": "off"})
    start = StringField(_l("Or from (YYYY-MM-DD)"), render_kw={"autocomplete": "off"})
    end = StringField(_l("Until (YYYY-MM-DD)"), render_kw={"autocomplete": "off"})


class CombineForm(FlaskForm):
    reports = MultipleFileField(_l("Members' reports (JSON)"))
    roots = MultipleFileField(_l("Members' root certificates (PEM)"))


@bp.get("/reports")
def index():
    """Every published report, with its JSON and PDF: public, like the reports themselves."""
    return render_template("reports/index.html", reports=reports_db.published(get_db()))


def _published_or_404(report_id: str) -> dict:
    row = next((r for r in reports_db.published(get_db()) if r["id"] == report_id), None)
    if row is None:
        abort(404)
    return row


@bp.get("/reports/<report_id>.json")
def report_json(report_id: str):
    """A published report's signed JSON, as published."""
    row = _published_or_404(report_id)
    return send_file(reports.report_file(row, "json"), mimetype="application/json", as_attachment=True,
                     download_name=f"report-{row['period_label'].replace('/', '_')}.json")


@bp.get("/reports/<report_id>.pdf")
def report_pdf(report_id: str):
    """A published report's signed PDF."""
    row = _published_or_404(report_id)
    return send_file(reports.report_file(row, "pdf"), mimetype="application/pdf", as_attachment=True,
                     download_name=f"report-{row['period_label'].replace('/', '_')}.pdf")


def _admin_page(publish_form: PublishForm, combine_form: CombineForm, status: int = 200):
    return render_template("reports/admin.html", form=publish_form, combine_form=combine_form,
                           reports=reports_db.published(get_db())), status


@bp.get("/admin/reports")
@roles_required("admin")
def admin():
    """Publish a period's report; combine members' reports."""
    return _admin_page(PublishForm(), CombineForm())


@bp.post("/admin/reports")
@roles_required("admin")
def publish():
    form = PublishForm()
    if not form.validate_on_submit():
        return _admin_page(form, CombineForm(), 400)
    try:
        period = period_of(form.period.data or None, form.start.data or None, form.end.data or None)
        row = reports.publish(get_db(), period, current_user.username)
    except ReportError as error:
        field = getattr(form, error.field, form.period)
        field.errors = [*field.errors, _("This period cannot be published: %(why)s.", why=str(error))]
        return _admin_page(form, CombineForm(), 422)
    flash(_("Report for %(period)s published.", period=row["period_label"]), "success")
    return redirect(url_for("reports.admin"))


def _uploads(files, field) -> list[tuple[str, bytes]]:
    found = []
    for upload in files or ():
        if not upload or not getattr(upload, "filename", ""):
            continue
        data = upload.read(MAX_REPORT_BYTES + 1)
        if len(data) > MAX_REPORT_BYTES:
            raise ReportError(field, f"{upload.filename}: larger than {MAX_REPORT_BYTES // 1024 // 1024} MB")
        found.append((upload.filename, data))
    return found


@bp.post("/admin/reports/combine")
@roles_required("admin")
def combine():
    """Verify the uploaded reports against the uploaded roots and answer the combined report as a download."""
    form = CombineForm()
    if not form.validate_on_submit():
        return _admin_page(PublishForm(), form, 400)
    try:
        named = _uploads(form.reports.data, "reports")
        roots = reports.load_pem_roots(_uploads(form.roots.data, "roots"))
        combined = reports.combine(get_db(), named, roots)
    except ReportError as error:
        field = form.roots if error.field in ("trust", "roots") else form.reports
        field.errors = [*field.errors, _("Nothing was combined: %(why)s.", why=str(error))]
        return _admin_page(PublishForm(), form, 422)
    body = json.dumps(combined, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    name = f"combined-report-{combined['period']['label'].replace('/', '_')}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

