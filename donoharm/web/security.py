"""Security headers on every response, and session cookie and idle-timeout settings."""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask, get_flashed_messages, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response):
    """Set the security headers; HSTS only over HTTPS; no caching of private pages."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if not request.path.startswith("/static/") and "Cache-Control" not in response.headers:
        # Runs are sensitive: keep them out of shared browsers' HTTP caches.
        response.headers["Cache-Control"] = "no-store"
    return response


# What the browser, the service worker and the page's script fetch on their own, often during sign-in.
# None of them changes the session; the API is not here (GET /api/v1/session may store a new CSRF token).
BACKGROUND_ENDPOINTS = frozenset({"static", "pwa.service_worker", "pwa.manifest", "pwa.precache"})
# Sent by static/js/app.js on the signed-in pages it saves for offline use.
BACKGROUND_HEADER = "X-Background-Fetch"


# The service worker's app shell: pages it saves in its plain cache when it installs (pwa.SHELL_PAGES); they are
# background requests too.
SHELL_ENDPOINTS = frozenset({"pwa.offline", "pwa.unlock", "pwa.hidden"})


def is_background_request() -> bool:
    """Whether nobody opened this request's page: the browser, the service worker or a script fetched it.

    Beyond the known endpoints and the header: a page (not the API) asked for with a fetch rather than a
    navigation, as browsers say in Sec-Fetch-Mode. The service worker's install fetches its shell pages
    that way, and such a fetch may leave before a form's answer and come back after it.
    """
    if request.endpoint in BACKGROUND_ENDPOINTS or request.endpoint in SHELL_ENDPOINTS:
        return True
    if request.headers.get(BACKGROUND_HEADER) == "1":
        return True
    mode = request.headers.get("Sec-Fetch-Mode")
    return (request.method == "GET" and mode is not None and mode != "navigate"
            and not request.path.startswith("/api/"))


def is_shell_page() -> bool:
    """A page kept in the service worker's plain cache for everyone on the phone: drawn as nobody's."""
    return has_request_context() and request.endpoint in SHELL_ENDPOINTS  # records are drawn outside requests


class ForegroundSessionInterface(SecureCookieSessionInterface):
    """Session cookies set only by the requests a person makes, never by background fetches.

    The session lives in the cookie. A fetch that left with the signed-out cookie and came back after
    the sign-in response would otherwise set that old cookie again and sign the person out (seen in
    Chromium while the service worker saved the app shell during sign-in); a page saved for offline use
    would take the message ("Language saved") meant for the page the person is opening.
    """

    def save_session(self, app, session, response) -> None:
        if is_background_request():
            return
        super().save_session(app, session, response)

    def should_set_cookie(self, app, session) -> bool:
        # Refreshing an unchanged signed-out cookie keeps nothing alive, and the answer to a request that
        # left before a sign-in (the outbox asking the API, say) would overwrite the new sign-in with it.
        if not session.modified and not current_user.is_authenticated:
            return False
        return super().should_set_cookie(app, session)


def foreground_messages(**kwargs):
    """Flashed messages for the page a person opens; none in a copy saved in the background."""
    return [] if is_background_request() else get_flashed_messages(**kwargs)


def keep_session_alive() -> None:
    """Make the session permanent so PERMANENT_SESSION_LIFETIME acts as an idle timeout."""
    if not session.permanent:  # setting it again would mark every session changed
        session.permanent = True


def init_app(app: Flask) -> None:
    behind_https = os.environ.get("DONOHARM_HTTPS") == "1"
    app.config.setdefault("SESSION_COOKIE_SECURE", behind_https)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME",
                          timedelta(minutes=int(os.environ.get("DONOHARM_IDLE_MINUTES", "720"))))
    app.config.setdefault("SESSION_REFRESH_EACH_REQUEST", True)
    if os.environ.get("DONOHARM_PROXY") == "1":
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust one reverse proxy for the client address and scheme (X-Forwarded-For/-Proto).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    app.session_interface = ForegroundSessionInterface()
    app.before_request(keep_session_alive)
    app.after_request(add_security_headers)
    app.context_processor(lambda: {"get_flashed_messages": foreground_messages, "shell_page": is_shell_page()})
