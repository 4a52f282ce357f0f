"""Security headers and cookie settings a deployment relies on."""
from __future__ import annotations

import pytest

from tests.conftest import login


@pytest.mark.parametrize("path", ["/login", "/protocols", "/api/v1/openapi.json", "/static/css/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()  # static files are streamed
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_private_pages_are_not_cached_but_static_files_are_cacheable(client, users):
    login(client, "acc")
    assert client.get("/").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/app.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_session_cookie_is_httponly_and_samesite_lax(client, users):
    response = login(client, "acc")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie, "a permanent session expires after the idle timeout"


def test_signed_in_requests_push_the_idle_timeout_back_and_signed_out_ones_leave_the_cookie_alone(client, users):
    client.get("/login")
    # Nothing to keep alive when signed out; a late answer must not overwrite a sign-in made meanwhile.
    assert "Set-Cookie" not in client.get("/api/v1/session").headers
    assert "Set-Cookie" not in client.get("/login").headers
    login(client, "acc")
    # Working through the API alone (answers sent from the run page) keeps the session alive too.
    for path in ("/", "/api/v1/session"):
        assert "Expires=" in client.get(path).headers.get("Set-Cookie", ""), path


def test_no_inline_scripts_or_styles_in_pages(client, users):
    login(client, "acc")
    for path in ("/", "/protocols", "/protocols/immigration-separation/1.0.0", "/login"):
        html = client.get(path).get_data(as_text=True)
        assert "style=" not in html, path
        assert "<script>" not in html and "<script >" not in html, path
        assert " onclick=" not in html and " onload=" not in html, path
