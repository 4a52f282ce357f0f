"""Trainers' pages: check an uploaded version, preview and compare it, publish it; current and retire."""
from __future__ import annotations

import base64
import binascii

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..accounts.auth import roles_required
from ..db import get_db
from ..protocols import MAX_BYTES, ConflictError, Problem, Protocol, ProtocolError, load_text
from ..protocols.diff import compare as compare_versions
from ..protocols.diff import stale_translations
from ..runs import policy
from ..services import library
from .protocols import FIELD_LABELS, KIND_LABELS, previous_version
from .trainer_forms import LifecycleForm, ProtocolUploadForm, PublishForm
from .yaml_words import syntax_problem

bp = Blueprint("protocol_upload", __name__)
TRAINERS = policy.TRAINERS


def submitted_text(form: ProtocolUploadForm) -> tuple[str, list[Problem]]:
    """The YAML from the file if one was chosen, else the pasted text; problems if neither is usable."""
    upload = form.file.data
    if upload and getattr(upload, "filename", ""):
        raw = upload.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            return "", [Problem("<upload>", 1, _("The file is larger than %(kb)s KB.", kb=MAX_BYTES // 1024))]
        try:
            return raw.decode("utf-8"), []
        except UnicodeDecodeError:
            return "", [Problem("<upload>", 1, _("The file is not UTF-8 text."))]
    text = (form.text.data or "").replace("\r\n", "\n")
    if not text.strip():
        return "", [Problem("<upload>", 1, _("Choose a YAML file or paste the protocol's YAML."))]
    return text, []


def checked(text: str) -> tuple[Protocol | None, list[Problem], Protocol | None]:
    """Validate text as `protocols check` does; return (protocol, problems, already published same)."""
    try:
        protocol = load_text(text, "<upload>")
    except ProtocolError as error:
        return None, error.problems, None
    known = library.get_registry().get(protocol.id, protocol.version)
    if known is not None and known.sha256 != protocol.sha256:
        return protocol, [Problem("<upload>", 1, _(
            "%(id)s %(version)s is already published with different content; give this one a new version number.",
            id=protocol.id, version=protocol.version))], None
    return protocol, [], known


def render_form(form: ProtocolUploadForm, problems: list[Problem] | None = None, status: int = 200):
    if problems:  # the field the YAML came from is the one in error (marked invalid, linked from the summary)
        field = form.file if form.file.data else form.text
        field.errors = [*field.errors, ngettext("%(num)s problem", "%(num)s problems", len(problems))]
    # A box tall enough to read a protocol in, that can be made taller.
    form.text.render_kw = {**(form.text.render_kw or {}), "rows": 20, "class": "yaml-text"}
    text = form.text.data or ""
    # YAML that cannot be read at all: said in plain words, with the column, instead of the parser's.
    syntax = syntax_problem(text) if any(p.message.startswith("not valid YAML") for p in problems or []) else None
    if syntax is not None:
        problems = [Problem("<upload>", syntax.line, syntax.message)]
    return render_template("protocols/new.html", form=form, problems=problems or [], syntax=syntax,
                           lines=text.splitlines()), status


@bp.route("/protocols/new", methods=["GET", "POST"])
@roles_required(*TRAINERS)
def new():
    """Take a YAML file or pasted text; show errors by line, or a preview and comparison to publish."""
    form = ProtocolUploadForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_form(form, status=200 if request.method == "GET" else 400)
    text, problems = submitted_text(form)
    if problems:
        return render_form(form, problems, 422)
    form.text.data = text  # keep what was uploaded in the box, so it can be corrected
    protocol, problems, known = checked(text)
    if problems:
        return render_form(form, problems, 409 if protocol else 422)
    registry = library.get_registry()
    # Compared with the version the trainer chose, else the newest older one, else the current one.
    previous = registry.get(protocol.id, request.form.get("against", "")) if request.form.get("against") else None
    if previous is None and known is None:
        previous = previous_version(registry, protocol) or registry.current(protocol.id)
    publish_form = PublishForm(formdata=None, payload=base64.b64encode(text.encode("utf-8")).decode("ascii"),
                               make_current=True)
    return render_template("protocols/preview.html", protocol=protocol, known=known, previous=previous,
                           diff=compare_versions(previous, protocol) if previous else None,
                           stale=stale_translations(previous, protocol) if previous else [],
                           publish_form=publish_form, edit_form=form, kind_labels=KIND_LABELS,
                           field_labels=FIELD_LABELS, registry=registry,
                           others=[v for v in registry.versions(protocol.id) if v.version != protocol.version])


@bp.post("/protocols/new/publish")
@roles_required(*TRAINERS)
def publish():
    """Publish a checked version, and make it current if asked."""
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        text = base64.b64decode(form.payload.data or "", validate=True)
    except (binascii.Error, ValueError):
        flash(_("The protocol could not be read back; upload it again."), "error")
        return redirect(url_for(".new"))
    protocol_id = _protocol_id_of(text)
    before = library.get_registry().current(protocol_id) if protocol_id else None
    try:
        protocol, created = library.publish(get_db(), text, current_user.id)
    except ConflictError as error:
        flash(error.problems[0].message, "error")
        return redirect(url_for(".new"))
    except ProtocolError:
        flash(_("The protocol is no longer valid; check it again."), "error")
        return redirect(url_for(".new"))
    if form.make_current.data:
        library.set_current(get_db(), protocol, current_user.id)
    elif before is not None and before.key != protocol.key:
        # Without a trainer's choice the newest version would be current: keep the one that was.
        library.set_current(get_db(), before, current_user.id)
    if created:
        flash(_("Published %(id)s %(version)s.", id=protocol.id, version=protocol.version), "success")
    else:
        flash(_("%(id)s %(version)s was already published with this content.", id=protocol.id,
                version=protocol.version), "info")
    return redirect(url_for("protocols.show", protocol_id=protocol.id, version=protocol.version))


def _protocol_id_of(text: bytes) -> str | None:
    """The id a checked YAML text declares, read before publishing (None when it cannot be read)."""
    try:
        return load_text(text.decode("utf-8"), "<upload>").id
    except (ProtocolError, UnicodeDecodeError):
        return None


def lifecycle_target(protocol_id: str, version: str) -> Protocol:
    if not LifecycleForm().validate_on_submit():
        abort(400)
    protocol = library.get_registry().get(protocol_id, version)
    if protocol is None:
        abort(404)
    return protocol


def back_to(protocol: Protocol):
    return redirect(url_for("protocols.show", protocol_id=protocol.id, version=protocol.version))


@bp.post("/protocols/<protocol_id>/<version>/current")
@roles_required(*TRAINERS)
def make_current(protocol_id: str, version: str):
    """Make this version the one new runs start on by default."""
    protocol = lifecycle_target(protocol_id, version)
    library.set_current(get_db(), protocol, current_user.id)
    flash(_("%(version)s is now the current version; new runs start on it.", version=version), "success")
    return back_to(protocol)


@bp.post("/protocols/<protocol_id>/<version>/retire")
@roles_required(*TRAINERS)
def retire(protocol_id: str, version: str):
    """Retire this version: no new runs; runs already started keep it."""
    protocol = lifecycle_target(protocol_id, version)
    library.retire(get_db(), protocol, current_user.id)
    flash(_("%(version)s is retired: no new runs start on it. Runs already started keep it.", version=version),
          "success")
    return back_to(protocol)


@bp.post("/protocols/<protocol_id>/<version>/reinstate")
@roles_required(*TRAINERS)
def reinstate(protocol_id: str, version: str):
    """Allow new runs on a retired version again."""
    protocol = lifecycle_target(protocol_id, version)
    library.reinstate(get_db(), protocol)
    flash(_("%(version)s is no longer retired.", version=version), "success")
    return back_to(protocol)
