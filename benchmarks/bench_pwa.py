"""The run screen's first load on a phone: compressed bytes, request count, and Lighthouse scores (mobile).

Bytes are gzip sizes of what the browser fetched (a deploy serves them compressed; the dev server does not).
Fonts are reported apart: the 60 KB budget covers HTML, CSS, JS and the protocol (embedded in the HTML).
"""
from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

from donoharm import create_app
from donoharm.accounts.auth import hash_password
from donoharm.db import connect
from donoharm.db import users as users_db

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "benchmark passphrase 2026"
PROTOCOL = ("social-worker-accompaniment", "1.1.1")
LIGHTHOUSE_DIRS = (Path(__file__).resolve().parent.parent / ".lighthouse" / "node_modules" / ".bin",)


def _lighthouse() -> list[str] | None:
    for folder in LIGHTHOUSE_DIRS:
        if (folder / "lighthouse").exists():
            return [str(folder / "lighthouse")]
    if shutil.which("npx") and subprocess.run(["npx", "--no-install", "lighthouse", "--version"],
                                              capture_output=True).returncode == 0:
        return ["npx", "--no-install", "lighthouse"]
    return None


def _scores(url: str, cookie: str) -> dict[str, float]:
    """Lighthouse performance, accessibility and best-practices on its default mobile preset."""
    command = _lighthouse()
    if command is None:
        return {}
    result = subprocess.run([*command, url, "--quiet", "--output=json", "--output-path=stdout",
                             "--only-categories=performance,accessibility,best-practices",
                             "--chrome-flags=--headless --no-sandbox --disable-gpu",
                             f"--extra-headers={json.dumps({'Cookie': cookie})}"],
                            capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    if result.returncode != 0:
        return {}
    categories = json.loads(result.stdout)["categories"]
    return {f"lighthouse_{key.replace('-', '_')}": value["score"] for key, value in categories.items()}


def bench_run_screen() -> dict[str, float]:
    """Load a run page once in a fresh phone-sized browser; return its compressed bytes, requests and scores."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE": Path(folder) / "instance", "SECRET_KEY": "bench", "PREPARE": True})
        db = connect(app.config["DATABASE"])
        users_db.create_user(db, "bench", hash_password(PASSWORD), "accompanier")
        db.conn.close()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block")
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", "bench")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                csrf = page.evaluate("() => fetch('/api/v1/session').then(r => r.json()).then(j => j.csrf_token)")
                run_id = str(uuid.uuid4())
                page.evaluate("""([id, csrf, pid, version]) => fetch(`/api/v1/runs/${id}`, {method: 'PUT',
                    headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                    body: JSON.stringify({protocol_id: pid, protocol_version: version, label: 'OP-BENCH-001'})})""",
                              [run_id, csrf, *PROTOCOL])
                fresh = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block",
                                            storage_state=context.storage_state())
                view = fresh.new_page()
                sizes: dict[str, int] = {}
                view.on("requestfinished", lambda r: sizes.__setitem__(r.url, len(gzip.compress(
                    r.response().body(), 9)) if r.response() else 0))
                url = f"{base}/runs/{run_id}"
                view.goto(url, wait_until="networkidle")
                cookie = "; ".join(f"{c['name']}={c['value']}" for c in fresh.cookies())
                browser.close()
            # The screen itself: its page and static files. Background: the outbox check and private pages
            # saved for offline use, fetched after the screen is up.
            screen = {u: v for u, v in sizes.items() if u == url or "/static/" in u}
            fonts = sum(size for u, size in screen.items() if "/fonts/" in u)
            background = {u: v for u, v in sizes.items() if u not in screen}
            result = {"run_screen_kb_gzip": round((sum(screen.values()) - fonts) / 1024, 1),
                      "run_screen_fonts_kb_gzip": round(fonts / 1024, 1),
                      "run_screen_requests": len(screen),
                      "run_screen_background_kb_gzip": round(sum(background.values()) / 1024, 1),
                      "run_screen_background_requests": len(background)}
            result.update(_scores(url, cookie))
            return result
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    for name, value in bench_run_screen().items():
        print(f"{name:32} {value}")
