"""Security headers on every response, and session cookie and idle-timeout settings."""
from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask, request, session

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


def keep_session_alive() -> None:
    """Make the session permanent so PERMANENT_SESSION_LIFETIME acts as an idle timeout."""
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
    app.before_request(keep_session_alive)
    app.after_request(add_security_headers)
