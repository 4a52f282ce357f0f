"""The installable, offline-first app: service worker, manifest, offline page and blank run pages.

The service worker is rendered from a template so its cache name is a hash of what it precaches:
a deploy that changes any asset changes the worker's bytes, the browser installs it, and the old cache goes.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..api.errors import api_error
from ..runs import RunState
from ..services.library import get_registry
from .runs import render_run_page

bp = Blueprint("pwa", __name__)

# Public files every page needs; private pages are cached by the page itself once signed in.
SHELL_STATIC = ("css/app.css", "css/vault.css", "js/app.js", "js/idb.js", "js/outbox.js", "js/sync.js",
                "js/run.js", "js/fold.js", "js/local.js", "js/text.js", "js/errors.js", "js/flags.js",
                # The PIN, the lock screen, Hide and an offline sign-out: all work with no signal.
                "js/vault.js", "js/lock.js", "js/signout.js",
                "js/personal-data.js",  # the personal-data guard: it must work with no signal
                "icons/icon-192.png", "icons/icon-512.png", "icons/maskable-512.png",
                # Fonts too: a phone without Khmer or Thai fonts must still read the checklist offline.
                *(f"fonts/web/NotoSans{script}-{weight}.woff2" for script in ("", "Khmer", "Thai")
                  for weight in ("Regular", "Bold")))
# The neutral page of Hide and the PIN page (shown for a saved page while the app is locked) hold nothing private.
SHELL_PAGES = ("/offline", "/manifest.webmanifest", "/hidden", "/unlock")


@bp.app_context_processor
def phone_settings() -> dict:
    """The installed app's name and icon, and the idle time after which the phone's app locks (in seconds)."""
    return {"app_name": current_app.config.get("APP_NAME") or "Do No Harm",
            # Records and reports are rendered off the request (the queue's worker): no URL to build there.
            "app_icon_url": url_for("pwa.app_icon") if has_request_context() else None,
            "phone_lock_seconds": max(1, round(float(current_app.config.get("PHONE_LOCK_MINUTES", 5)) * 60)),
            "idle_minutes": int(current_app.permanent_session_lifetime.total_seconds() // 60)}


@lru_cache(maxsize=8)
def _file_digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shell_version() -> str:
    """A short hash of every precached static file and the worker template: the cache's name."""
    digest = hashlib.sha256()
    static = Path(current_app.static_folder)
    template = Path(current_app.root_path).parent / "templates" / "sw.js"
    for path in [*(static / name for name in SHELL_STATIC), template]:
        if path.exists():
            digest.update(_file_digest(str(path), path.stat().st_mtime).encode())
    return digest.hexdigest()[:12]


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so its scope is the whole app; never cached by HTTP."""
    version = shell_version()
    shell = [url_for("static", filename=name, v=version) for name in SHELL_STATIC] + list(SHELL_PAGES)
    body = render_template("sw.js", version=version, shell=json.dumps(shell),
                           sync_url=json.dumps(url_for("static", filename="js/sync.js")),
                           vault_url=json.dumps(url_for("static", filename="js/vault.js")))
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache, max-age=0"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, start URL, standalone display, colours and icons."""
    name = current_app.config.get("APP_NAME") or "Do No Harm"
    custom = current_app.config.get("APP_ICON")
    if custom:  # an organisation's neutral icon (checked at start: a PNG, its size read from it)
        size = f"{custom['width']}x{custom['height']}"
        icons = [{"src": url_for("pwa.app_icon"), "sizes": size, "type": "image/png", "purpose": "any"}]
    else:
        icons = [{"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                 {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                 {"src": url_for("static", filename="icons/maskable-512.png"), "sizes": "512x512",
                  "type": "image/png", "purpose": "maskable"}]
    body = {"name": name, "short_name": name, "id": "/", "start_url": "/", "scope": "/",
            "display": "standalone", "background_color": "#ffffff", "theme_color": "#1d3f6e",
            # A neutral name asks for a neutral description: the phone's app list shows it too.
            "description": (_("Checklists on a phone, with or without a signal.") if current_app.config.get("APP_NAME")
                            else _("Do no harm protocols as checklists, on a phone, with or without a signal.")),
            "icons": icons}
    response = Response(json.dumps(body), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/icon.png")
def app_icon():
    """The app's icon: DONOHARM_APP_ICON when the organisation gave one, else the shipped one."""
    custom = current_app.config.get("APP_ICON")
    path = Path(custom["path"]) if custom else Path(current_app.static_folder) / "icons" / "icon-192.png"
    # Read whole (a small PNG) rather than streamed: no file is left open if a client drops the response.
    response = Response(path.read_bytes(), mimetype="image/png")
    response.cache_control.max_age = 3600
    return response


@bp.get("/hidden")
def hidden():
    """The neutral page Hide shows in place of the app: no name, no icon, no script."""
    response = Response(render_template("vault/hidden.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/unlock")
def unlock():
    """The PIN page the service worker shows for a page saved on this phone while the app is locked."""
    return render_template("vault/unlock.html", vault_cover=True)


@bp.get("/offline")
def offline():
    """What the app shows for a page that is neither reachable nor saved on this phone."""
    return render_template("offline.html")


@bp.get("/offline/precache.json")
def precache():
    """The private pages this user needs with no signal: home, start form, a blank page per runnable version."""
    if not current_user.is_authenticated:
        # Asked by the page's script, often on the sign-in page itself: a plain 401, with no redirect
        # and no "sign in" message left in the session for the next page to show.
        return api_error(401, "unauthorized", "sign in first")
    registry = get_registry()
    # The sign-out page too: with no signal it signs out on the phone (static/js/local.js).
    pages = [url_for("home.index"), url_for("runs.new"), url_for("auth.logout")]
    for protocol_id in registry.ids():
        for p in registry.versions(protocol_id):
            if registry.current(protocol_id) is not None and not registry.is_retired(p):
                pages.append(url_for("pwa.blank_run", protocol_id=p.id, version=p.version))
    return jsonify({"user": current_user.username, "pages": pages})


@bp.get("/offline/runs/<protocol_id>/<version>")
@login_required
def blank_run(protocol_id: str, version: str):
    """A run page with nothing answered, which the phone fills in from its own records of a run."""
    protocol = get_registry().get(protocol_id, version)
    if protocol is None:
        abort(404)
    language = protocol.in_language(str(get_locale())).language
    run = {"id": "", "protocol_id": protocol.id, "protocol_version": protocol.version, "label": "",
           "mode": "live", "language": language, "creator_id": current_user.id}
    state = RunState(protocol, "", "live")
    return render_run_page(run, state, blank=True, event_ids=[])
