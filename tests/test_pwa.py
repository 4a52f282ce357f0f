"""The installable app: service worker, manifest, offline page, blank run pages; installability in Chromium."""
from __future__ import annotations

import pytest

from donoharm.web.pwa import SHELL_STATIC
from tests.conftest import browser_login, login


def test_service_worker_is_served_at_the_root_uncached_with_a_versioned_cache(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]
    assert response.headers["Service-Worker-Allowed"] == "/"
    body = response.get_data(as_text=True)
    assert 'const VERSION = "' in body and "{{" not in body
    for name in SHELL_STATIC:
        assert f"/static/{name}?v=" in body
    assert '"/offline"' in body


def test_cache_name_changes_when_a_precached_file_changes(app, client, tmp_path, monkeypatch):
    version = client.get("/sw.js").get_data(as_text=True).split('const VERSION = "')[1][:12]
    static = tmp_path / "static"
    for name in SHELL_STATIC:
        target = static / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"changed " + name.encode())
    monkeypatch.setattr(app, "static_folder", str(static))
    changed = client.get("/sw.js").get_data(as_text=True).split('const VERSION = "')[1][:12]
    assert changed != version


def test_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200 and image.mimetype == "image/png"


def test_every_page_links_the_manifest_and_a_deferred_module(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<script type="module" src="/static/js/app.js"></script>' in html
    assert '<meta name="theme-color"' in html


def test_offline_page_is_public(client):
    response = client.get("/offline")
    assert response.status_code == 200
    assert "No connection" in response.get_data(as_text=True)


def test_precache_lists_a_blank_page_per_runnable_version(client, users):
    assert client.get("/offline/precache.json").status_code == 401  # asked by a script: no redirect
    login(client, "acc")
    pages = client.get("/offline/precache.json").get_json()["pages"]
    assert "/" in pages and "/runs/new" in pages
    blank = [p for p in pages if p.startswith("/offline/runs/")]
    assert blank
    html = client.get(blank[0]).get_data(as_text=True)
    assert 'id="run-data"' in html and 'data-editable="true"' in html and 'id="offline-submit"' in html


def test_blank_page_of_an_unknown_version_is_404(client, users):
    login(client, "acc")
    assert client.get("/offline/runs/nope/9.9.9").status_code == 404


def test_strict_csp_is_kept(client):
    csp = client.get("/sw.js").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp


@pytest.mark.browser
def test_installable_in_chromium(playwright, live_server, tmp_path):
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path="/usr/bin/chromium", headless=True)
    try:
        context.set_default_timeout(15_000)
        page = context.new_page()
        browser_login(page, live_server)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        manifest = cdp.send("Page.getAppManifest")
        assert not manifest.get("errors")
    finally:
        context.close()


def test_every_font_the_stylesheet_uses_is_saved_for_offline_use(app):
    import re
    from pathlib import Path

    css = (Path(app.static_folder) / "css" / "app.css").read_text(encoding="utf-8")
    fonts = {url.removeprefix("../") for url in re.findall(r'url\("([^"]+\.woff2)"\)', css)}
    assert {"fonts/web/NotoSansKhmer-Regular.woff2", "fonts/web/NotoSansThai-Bold.woff2"} <= fonts
    assert fonts <= set(SHELL_STATIC)
