"""Getting a version into people's hands: share page with a QR code, handout and "what changed" PDFs, YAML."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, render_template, url_for
from flask_babel import format_datetime

from ..config import ROOT
from ..db import get_db
from ..library import get_registry, original_yaml
from ..pdf import html_to_pdf
from ..protocols import Protocol
from ..protocols.diff import compare as compare_versions
from .protocols import FIELD_LABELS, KIND_LABELS, chosen_pair

bp = Blueprint("protocol_share", __name__)

PRINT_CSS = (ROOT / "static" / "css" / "handout.css").read_text("utf-8")


def version_or_404(protocol_id: str, version: str) -> Protocol:
    protocol = get_registry().get(protocol_id, version)
    if protocol is None:
        abort(404)
    return protocol


def share_url(protocol: Protocol) -> str:
    return url_for("protocols.show", protocol_id=protocol.id, version=protocol.version, _external=True)


@bp.get("/protocols/<protocol_id>/<version>/share")
def share(protocol_id: str, version: str):
    """Show a QR code and link that open this version on a phone."""
    protocol = version_or_404(protocol_id, version)
    return render_template("protocols/share.html", protocol=protocol, url=share_url(protocol),
                           status=get_registry().status(protocol))


@bp.get("/protocols/<protocol_id>/<version>/qr.svg")
def qr(protocol_id: str, version: str):
    """The QR code of the version's link, as SVG made on the server."""
    protocol = version_or_404(protocol_id, version)
    out = io.BytesIO()
    segno.make(share_url(protocol), error="m").save(out, kind="svg", scale=8, border=4, xmldecl=True,
                                                   title=f"{protocol.id} {protocol.version}")
    return Response(out.getvalue(), mimetype="image/svg+xml")


def pdf_response(html: str, filename: str) -> Response:
    pdf = html_to_pdf(html, stylesheets=[PRINT_CSS])
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def printed_at() -> str:
    return format_datetime(format="medium")


@bp.get("/protocols/<protocol_id>/<version>/handout.pdf")
def handout(protocol_id: str, version: str):
    """A printable handout: the checklist with guidance and sources, for training sessions."""
    protocol = version_or_404(protocol_id, version)
    html = render_template("protocols/handout_pdf.html", protocol=protocol, kind_labels=KIND_LABELS,
                           printed_at=printed_at())
    return pdf_response(html, f"{protocol.id}-{protocol.version}-handout.pdf")


@bp.get("/protocols/<protocol_id>/changes.pdf")
def changes_pdf(protocol_id: str):
    """A printable "what changed" between two versions (?from=&to=)."""
    old, new = chosen_pair(protocol_id)
    html = render_template("protocols/changes_pdf.html", diff=compare_versions(old, new), old=old, new=new,
                           field_labels=FIELD_LABELS, kind_labels=KIND_LABELS, printed_at=printed_at())
    return pdf_response(html, f"{new.id}-{old.version}-to-{new.version}-changes.pdf")


@bp.get("/protocols/<protocol_id>/<version>/source.yaml")
def source(protocol_id: str, version: str):
    """The version's YAML exactly as it was published."""
    protocol = version_or_404(protocol_id, version)
    text = original_yaml(get_db(), protocol)
    if text is None:
        abort(404)
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{protocol.id}-{protocol.version}.yaml"'})
