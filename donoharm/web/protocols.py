"""Pages for reading protocols: the list (with what is new), one version as its checklist, comparisons."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale, lazy_pgettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..db import get_db, transaction
from ..db import protocols as protocols_db
from ..protocols import Protocol, Registry, version_key
from ..protocols.diff import compare as compare_versions
from ..runs import policy
from ..services.library import get_registry
from .trainer_forms import LifecycleForm

bp = Blueprint("protocols", __name__)

KIND_LABELS = {
    "check": _l("Tick when done"),
    "yesno": _l("Yes or no"),
    "count": _l("A number"),
    "time": _l("A time (HH:MM)"),
    "choice": _l("Choose one"),
    "text": _l("A short note"),
}
FIELD_LABELS = {
    "text": _l("Text"), "kind": lazy_pgettext("noun", "Answer"), "critical": _l("Critical"), "options": _l("Options"),
    "guidance": _l("Guidance"), "expected": _l("Expected answer"), "flag_equals": _l("Red flag when the answer is"),
    "flag_above": _l("Red flag when the number is above"), "measure": _l("Outcome measure"),
    "of": _l("Counted out of"), "disclosure": _l("Only in the internal record"), "sources": _l("Sources"),
}
STATUS_LABELS = {"current": _l("current"), "published": _l("published"), "retired": _l("retired")}


def is_trainer() -> bool:
    return current_user.is_authenticated and policy.may_publish_protocols(current_user.role)


def previous_version(registry: Registry, protocol: Protocol) -> Protocol | None:
    """The newest published version older than this one."""
    older = [p for p in registry.versions(protocol.id) if version_key(p.version) < version_key(protocol.version)]
    return older[0] if older else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def new_since_last_visit() -> set[tuple[str, str]]:
    """Versions uploaded since the signed-in user last opened this list; then remember this visit."""
    if not current_user.is_authenticated:
        return set()
    db = get_db()
    seen = _when(protocols_db.protocols_seen_at(db, current_user.id))
    fresh = {key for key, info in protocols_db.upload_info(db).items()
             if seen is None or _when(info["uploaded_at"]) > seen}
    with transaction(db):
        protocols_db.mark_protocols_seen(db, current_user.id)
    return fresh


@bp.get("/protocols")
def index():
    """List every protocol with its current version, badging versions new since the last visit."""
    registry = get_registry()
    fresh = {key for key in new_since_last_visit()
             if registry.get(*key) is not None and not registry.is_retired(registry.get(*key))}
    entries = []
    for protocol_id in registry.ids():
        versions = registry.versions(protocol_id)
        current = registry.current(protocol_id) or versions[0]
        entries.append({"current": current, "versions": versions,
                        "new": [v for v in versions if v.key in fresh]})
    return render_template("protocols/index.html", entries=entries, registry=registry, new_count=len(fresh),
                           is_trainer=is_trainer(), status_labels=STATUS_LABELS)


@bp.get("/protocols/<protocol_id>/<version>")
def show(protocol_id: str, version: str):
    """Show one version as the checklist an accompanier will see, with trainers' actions."""
    registry = get_registry()
    protocol = registry.get(protocol_id, version)
    if protocol is None:
        abort(404)
    # Shown in ?lang=, else the reader's language, else (said on the page) the protocol's original language.
    wanted = request.args.get("lang") or str(get_locale())
    shown = protocol.in_language(wanted)
    missing = wanted.split("-")[0] if shown.language != wanted.split("-")[0] else None
    return render_template(
        "protocols/show.html",
        protocol=shown,
        original=protocol,
        missing_language=missing,
        versions=registry.versions(protocol_id),
        registry=registry,
        previous=previous_version(registry, protocol),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        is_trainer=is_trainer(),
        lifecycle_form=LifecycleForm() if is_trainer() else None,
    )


def chosen_pair(protocol_id: str) -> tuple[Protocol, Protocol]:
    """The two versions named by ?from=&to=, defaulting to the current one and the version before it."""
    registry = get_registry()
    versions = registry.versions(protocol_id)
    if not versions:
        abort(404)
    new = registry.get(protocol_id, request.args.get("to", "")) if request.args.get("to") else None
    new = new or (None if request.args.get("to") else registry.current(protocol_id) or versions[0])
    if new is None:
        abort(404)
    if request.args.get("from"):
        old = registry.get(protocol_id, request.args["from"])
    else:
        old = previous_version(registry, new) or new
    if old is None:
        abort(404)
    return old, new


@bp.get("/protocols/<protocol_id>/compare")
def compare(protocol_id: str):
    """Show what changed between two versions: steps added, removed, moved and changed, with a redline."""
    old, new = chosen_pair(protocol_id)
    return render_template("protocols/compare.html", diff=compare_versions(old, new), old=old, new=new,
                           versions=get_registry().versions(protocol_id), field_labels=FIELD_LABELS,
                           kind_labels=KIND_LABELS)
