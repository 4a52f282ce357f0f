"""Record downloads for readers of a run, and the public /verify page."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from ..db import get_db
from ..db import records as records_db
from ..records import current_record, signing_key, verify_pdf
from ..records.issuing import in_profile, record_path
from ..records.profiles import INTERNAL, PROFILES
from ..records.timestamps import TimestampError
from ..records.verdicts import outcome, protocol_title, sentence
from ..records.verify import MAX_BYTES
from ..services.library import get_registry
from ..services.run_service import RunError
from ..text import safe_filename
from .runs import readable_run

bp = Blueprint("records", __name__)


class VerifyForm(FlaskForm):
    """Upload a record PDF to verify (kept with its view: the only form of this screen)."""

    pdf = FileField(_l("Record PDF"), validators=[FileRequired(_l("Choose the PDF file to verify."))])


def _send(record: dict, run: dict):
    # The label is the person's text: safe_filename keeps a stored label from before the text rule (a line
    # break, a direction override) out of the header; send_file adds the ASCII fallback and filename*.
    name = (f"record-{safe_filename(run['label'], 'run')}-{record['issued_at'][:10]}-{record['id'][:8]}-"
            f"{record.get('profile') or INTERNAL}.pdf")
    if records_db.redaction_of(get_db(), record["id"]) is not None:  # it held a text removed since
        return render_template("error.html", code=410, title=_("This record was withdrawn"), advice=_(
            "It held a text that was later removed from the run, so the server no longer gives it out. Open "
            "the run's current record instead. If you hold a copy of this file, destroy it.")), 410
    response = send_file(io.BytesIO(record_path(record).read_bytes()), mimetype="application/pdf",
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _profile_asked():
    """The disclosure profile asked for with ?profile= (internal by default), or an error response.

    Anyone who may read the run may take either: the shareable profile holds nothing its internal record does
    not. The run page offers the choice to supervisors and administrators, who share records."""
    profile = request.args.get("profile", INTERNAL)
    if profile in PROFILES:
        return profile, None
    message = _("There is no record profile “%(profile)s”: choose internal or shareable.", profile=profile[:40])
    if request.accept_mimetypes.best == "application/json":
        from ..api.errors import api_error

        return None, api_error(400, "unknown_profile", message, {"profiles": list(PROFILES)})
    return None, (render_template("error.html", code=400, title=_("No such record profile"), advice=message), 400)


def _send_profile(record: dict, run: dict, profile: str):
    """Send this issue's record in the profile asked for; a record issued before profiles has no shareable one."""
    found = in_profile(get_db(), record, profile)
    if found is None:
        return render_template("error.html", code=404, title=_("No shareable profile of this record"), advice=_(
            "This record was issued before records had a shareable profile. Every record issued from now on has "
            "one.")), 404
    return _send(found, run)


@bp.get("/runs/<run_id>/record.pdf")
@login_required
def latest(run_id: str):
    profile, refused = _profile_asked()
    if refused is not None:
        return refused
    run = readable_run(run_id)
    try:
        record = current_record(get_db(), get_registry(), run)
    except RunError as error:
        if error.code == "integrity_fault":
            return render_template("error.html", code=409, title=_("No record can be issued for this run"), advice=_(
                "Its stored history was changed outside the app. An administrator has been told; earlier "
                "signed records of the run are not affected.")), 409
        abort(409)
    except TimestampError as error:  # DONOHARM_TSA_URL is set: a record is never issued without its timestamp
        current_app.logger.warning("record of run %s not issued: %s", run_id, error)
        return render_template("error.html", code=503, title=_("The record is not ready yet"), advice=_(
            "The record is issued with a timestamp from an outside authority, which did not answer. Nothing "
            "is lost: the record is issued as soon as the authority answers. Try again in a few minutes.")), \
            503, {"Retry-After": "60"}
    except OSError as error:  # e.g. a full disk: the queue issues it once the server can write again
        current_app.logger.warning("record of run %s not issued: %s", run_id, error)
        return render_template("error.html", code=503, title=_("The record is not ready yet"), advice=_(
            "The server could not store the record just now. Nothing is lost: it is issued as soon as the "
            "server can, and the administrator is told. Try again in a few minutes.")), 503, {"Retry-After": "60"}
    if record is None:
        abort(404, _("No record yet: a record is issued when the run is submitted."))
    return _send_profile(record, run, profile)


@bp.get("/runs/<run_id>/records/<record_id>.pdf")
@login_required
def earlier(run_id: str, record_id: str):
    """A record by id: as it is, or with ?profile= the one of its pair in that profile."""
    profile, refused = _profile_asked()
    if refused is not None:
        return refused
    run = readable_run(run_id)
    record = records_db.get_record(get_db(), record_id)
    if record is None or record["run_id"] != run["id"]:
        abort(404)
    return _send(record, run) if "profile" not in request.args else _send_profile(record, run, profile)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    from .rate_limit import retry_after

    verdict, status = None, 200
    if request.method == "POST" and (wait := retry_after("verify", "VERIFY_RATE_LIMIT")) is not None:
        # Counted per client and minute in the database (all workers): checking a PDF costs real CPU.
        return _verify_page(VerifyForm(formdata=None), None, retry_after=wait), 429, {"Retry-After": str(wait)}
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or MAX_BYTES
    if request.method == "POST" and (request.content_length or 0) > limit:
        form = VerifyForm(formdata=None)  # do not read the oversize body at all
        form.pdf.errors = [_("The file is too large to be a record.")]
        return _verify_page(form, None), 413
    form = VerifyForm()
    if form.validate_on_submit():
        verdict = verify_pdf(form.pdf.data.read(MAX_BYTES + 1), signing_key(), get_db())
        status = 200 if verdict.valid else 422
    elif request.method == "POST":
        status = 400
    return _verify_page(form, verdict), status


def _verify_page(form, verdict, **extra):
    """The /verify page: the form, a verdict if any, and every root certificate records may chain to."""
    key = signing_key()
    found = {}
    if verdict is not None:  # the one sentence first, then what the record is (issue 21)
        code = outcome(verdict)
        found = {"outcome": code, "sentence": sentence(code), "protocol_title": protocol_title(verdict,
                                                                                                get_registry())}
    return render_template("records/verify.html", form=form, verdict=verdict, fingerprint=key.root_fingerprint,
                           subject=key.subject, roots=key.roots, **found, **extra)


@bp.get("/verify/root.pem")
def root_certificate():
    return Response(signing_key().root_pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "attachment; filename=donoharm-records-root.pem"})


@bp.get("/verify/roots/<file_id>.pem")
def former_root_certificate(file_id: str):
    """A root certificate this organisation signed under before (`flask records rotate-root`), or the current one."""
    root = next((root for root in signing_key().roots if root.file_id == file_id), None)
    if root is None:
        abort(404)
    return Response(root.pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": f"attachment; filename=donoharm-records-root-{file_id[:16]}.pem"})


@bp.app_template_global()
def run_record_due(run_id: str) -> dict | None:
    """The run's record waiting in the queue, if any (the run page says it is being issued)."""
    return records_db.due_record(get_db(), run_id)


@bp.app_template_global()
def run_records(run_id: str) -> list[dict]:
    """The records issued for a run, newest first (for the run page's list)."""
    return records_db.records_of(get_db(), run_id)


@bp.app_template_global()
def record_issued_at(iso: str) -> str:
    """An issue time for people, in the reader's locale and time zone."""
    from ..timefmt import medium

    return medium(iso)
