"""Getting a version into people's hands: share page with a QR code, handout and "what changed" PDFs, YAML.

Share links and QR codes use DONOHARM_BASE_URL, else the request's host only when it is loopback or listed in
DONOHARM_TRUSTED_HOSTS, else a relative link: a forged Host header never ends up on a printed QR code.
The PDFs are public and slow to make, so each is rendered once and kept in instance/cache/pdf/ under the
SHA-256 of its HTML (which holds the protocol's sha256, the versions and the language); renders that miss
the cache are rate-limited per client (PDF_RATE_LIMIT a minute).
"""
from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests
from werkzeug.sansio.utils import host_is_trusted

from ..config import LOOPBACK_HOSTS, ROOT, write_private
from ..db import get_db
from ..pdf import PIPELINE, html_to_pdf
from ..protocols import Protocol
from ..protocols.diff import compare as compare_versions
from ..services.library import get_registry, original_yaml
from .protocols import FIELD_LABELS, KIND_LABELS, chosen_pair
from .rate_limit import retry_after

bp = Blueprint("protocol_share", __name__)

PRINT_CSS = (ROOT / "static" / "css" / "handout.css").read_text("utf-8")
CACHE_FILES = 500  # PDFs kept in the cache; the least recently made go first


def version_or_404(protocol_id: str, version: str) -> Protocol:
    protocol = get_registry().get(protocol_id, version)
    if protocol is None:
        abort(404)
    return protocol


def public_root() -> str | None:
    """Where people reach the app (no trailing slash): BASE_URL if configured, else this request's own
    scheme and host if the host is loopback or listed in DONOHARM_TRUSTED_HOSTS, else None."""
    base = current_app.config.get("BASE_URL")
    if base:
        return base
    if host_is_trusted(request.host, LOOPBACK_HOSTS + list(current_app.config.get("SHARE_TRUSTED_HOSTS") or [])):
        return request.host_url.rstrip("/")
    return None


def share_url(protocol: Protocol) -> str:
    """The link to a version for a QR code or a message: absolute from `public_root`, else relative."""
    path = url_for("protocols.show", protocol_id=protocol.id, version=protocol.version)
    root = public_root()
    if root is None:
        return path
    return root + path.removeprefix(request.script_root)


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
    import segno  # here, not at start: only these pages draw a QR code

    segno.make(share_url(protocol), error="m").save(out, kind="svg", scale=8, border=4, xmldecl=True,
                                                   title=f"{protocol.id} {protocol.version}")
    return Response(out.getvalue(), mimetype="image/svg+xml")


def cache_dir() -> Path:
    return Path(current_app.instance_path) / "cache" / "pdf"


def cached_pdf(html: str) -> bytes:
    """The PDF of a handout's HTML, from the cache when the same HTML was rendered before."""
    key = hashlib.sha256(f"{PIPELINE}\0{PRINT_CSS}\0{html}".encode()).hexdigest()
    folder = cache_dir()
    path = folder / f"{key}.pdf"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    wait = retry_after("pdf", "PDF_RATE_LIMIT")
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
    pdf = html_to_pdf(html, stylesheets=[PRINT_CSS])
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{key}.{uuid.uuid4().hex}.tmp"
    write_private(partial, pdf)
    os.replace(partial, path)  # another worker reading it sees the whole file or none
    prune(folder)
    return pdf


def prune(folder: Path) -> None:
    """Keep the cache to CACHE_FILES PDFs, dropping the oldest."""
    made = []
    for path in folder.glob("*.pdf"):
        try:
            made.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another worker pruned it first
            pass
    for _made_at, old in sorted(made)[:-CACHE_FILES]:
        old.unlink(missing_ok=True)


def pdf_response(html: str, filename: str) -> Response:
    return Response(cached_pdf(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def printed_at() -> str:
    # The day only: a handout printed twice on one day is the same file, served from the cache.
    return format_date(format="medium")


HANDOUT_FORMATS = ("a4", "a5")  # A5: a pocket booklet (print as a booklet on A4 and fold)


@bp.get("/protocols/<protocol_id>/<version>/handout.pdf")
def handout(protocol_id: str, version: str):
    """A printable handout: the checklist with guidance and sources, for training sessions; ?format=a5 for an
    A5 pocket booklet (the default is A4)."""
    protocol = version_or_404(protocol_id, version)
    paper = request.args.get("format", "a4").strip().lower() or "a4"
    if paper not in HANDOUT_FORMATS:
        return render_template("error.html", code=400, title=_("No such handout format"), advice=_(
            "The format “%(format)s” is not offered: choose a4 (the default) or a5 (a pocket booklet).",
            format=request.args["format"][:20])), 400
    html = render_template("protocols/handout_pdf.html", protocol=protocol, kind_labels=KIND_LABELS,
                           printed_at=printed_at(), paper=paper)
    suffix = "-a5" if paper == "a5" else ""
    return pdf_response(html, f"{protocol.id}-{protocol.version}-handout{suffix}.pdf")


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
