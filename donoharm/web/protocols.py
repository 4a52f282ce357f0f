"""Pages for reading protocols: the list and one version as its checklist."""
from flask import Blueprint, abort, render_template

from ..library import get_registry

bp = Blueprint("protocols", __name__)

KIND_LABELS = {
    "check": "Tick when done",
    "yesno": "Yes or no",
    "count": "A number",
    "time": "A time (HH:MM)",
    "choice": "Choose one",
    "text": "A short note",
}


@bp.get("/protocols")
def index():
    """List every protocol with its current version."""
    registry = get_registry()
    entries = []
    for protocol_id in registry.ids():
        versions = registry.versions(protocol_id)
        current = registry.current(protocol_id) or versions[0]
        entries.append({"current": current, "versions": versions})
    return render_template("protocols/index.html", entries=entries, registry=registry)


@bp.get("/protocols/<protocol_id>/<version>")
def show(protocol_id: str, version: str):
    """Show one version as the checklist an accompanier will see."""
    registry = get_registry()
    protocol = registry.get(protocol_id, version)
    if protocol is None:
        abort(404)
    return render_template(
        "protocols/show.html",
        protocol=protocol,
        versions=registry.versions(protocol_id),
        registry=registry,
        kind_labels=KIND_LABELS,
    )
