"""`make bench`: one table of medians (events, submitting, start time, run screen bytes, records, review pages at
scale)."""
from __future__ import annotations

import gzip
import os
import platform
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlparse

from benchmarks import bench_events, bench_submit, seed
from donoharm import create_app

REPEATS = 5
ASSET_RE = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"', re.I)
CSS_URL_RE = re.compile(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)|@import\s+["\']([^"\']+)["\']')
JS_IMPORT_RE = re.compile(r'(?:^|;|\n)\s*import\s[^"\']*?["\']([^"\']+)["\']|import\(\s*["\']([^"\']+)["\']\s*\)')


def _median_ms(action, repeats: int = REPEATS) -> float:
    action()  # warm caches once, as a server that has been up for a while has them
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _signed_in(app, username: str, password: str):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, f"could not sign in as {username}"
    return client


def _assets(client, url: str, body: bytes, content_type: str) -> list[str]:
    """Same-origin URLs a browser fetches for this response on first load."""
    text = body.decode("utf-8", "replace")
    if "html" in content_type:
        found = ASSET_RE.findall(text)
    elif "css" in content_type:
        found = [a or b for a, b in CSS_URL_RE.findall(text)]
    elif "javascript" in content_type:
        found = [a or b for a, b in JS_IMPORT_RE.findall(text)]
    else:
        return []
    urls = [urljoin(url, link) for link in found if not link.startswith(("data:", "#"))]
    return [u for u in urls if not urlparse(u).netloc or urlparse(u).netloc == "localhost"]


def run_screen_first_load() -> tuple[int, int, int]:
    """(gzip bytes, uncompressed bytes, requests) to open /runs/<id> with every asset it pulls in."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE": Path(folder), "SECRET_KEY": "bench", "PREPARE": True})
        client, headers = bench_events._signed_in_client(app)
        run_id = str(uuid.uuid4())
        client.put(f"/api/v1/runs/{run_id}", headers=headers, json={
            "protocol_id": "social-worker-accompaniment", "protocol_version": "1.1.0", "label": "OP-BENCH-001"})
        client.post(f"/api/v1/runs/{run_id}/events", headers=headers, json={"events": bench_events._notes(5)})
        queue, seen, compressed, raw = [f"http://localhost/runs/{run_id}"], set(), 0, 0
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if os.environ.get("BENCH_VERBOSE"):
                print("  fetch", url)
            response = client.get(urlparse(url).path + (f"?{urlparse(url).query}" if urlparse(url).query else ""))
            assert response.status_code == 200, f"{url}: {response.status_code}"
            body = response.get_data()
            raw += len(body)
            compressed += len(gzip.compress(body, compresslevel=6))  # what a proxy's `encode gzip` sends
            queue.extend(_assets(client, url, body, response.content_type))
            response.close()
        return compressed, raw, len(seen)


def run_screen_rows() -> list[tuple[str, str]]:
    """What a phone-sized Chromium fetches for /runs/<id> (bench_pwa), else every asset the page references."""
    try:
        from benchmarks import bench_pwa

        if not Path(bench_pwa.CHROMIUM).exists():
            raise ImportError(bench_pwa.CHROMIUM)
        figures = bench_pwa.bench_run_screen()
    except ImportError:
        compressed, raw, requests = run_screen_first_load()
        return [("run screen /runs/<id> first load, every referenced asset, gzip (raw)",
                 f"{compressed / 1024:,.1f} KiB ({raw / 1024:,.1f} KiB), {requests} requests")]
    rows = [("run screen /runs/<id> first load in Chromium, gzip, without fonts",
             f"{figures['run_screen_kb_gzip']:,.1f} KiB, {figures['run_screen_requests']:.0f} requests"),
            ("  + fonts it fetched, gzip", f"{figures['run_screen_fonts_kb_gzip']:,.1f} KiB"),
            ("  + fetched after the screen is up (offline copies), gzip",
             f"{figures['run_screen_background_kb_gzip']:,.1f} KiB, "
             f"{figures['run_screen_background_requests']:.0f} requests")]
    rows += [(f"  Lighthouse {key.removeprefix('lighthouse_').replace('_', ' ')} (mobile)", f"{value * 100:.0f}")
             for key, value in figures.items() if key.startswith("lighthouse_")]
    return rows


def record_render_sign() -> str:
    try:
        from benchmarks import bench_records
    except ImportError:
        return "n/a (not built)"
    result = bench_records.bench_record()
    if isinstance(result, dict) and "median_s" in result:  # bench_records takes its own median
        return f"{result['median_s'] * 1000:,.0f} ms ({result.get('size_bytes', 0) / 1024:,.0f} KiB PDF)"
    if isinstance(result, int | float):  # seconds for one record; take a median of several
        seconds = [result] + [bench_records.bench_record() for _ in range(REPEATS - 1)]
        return f"{statistics.median(seconds) * 1000:,.0f} ms"
    return str(result)


def pages_at_scale() -> list[tuple[str, str]]:
    """Time /review and /oversight for a supervisor on 100,000 runs and 5 million events."""
    probe = create_app({"INSTANCE": Path(tempfile.mkdtemp()), "SECRET_KEY": "bench", "PREPARE": True})
    routes = {rule.rule for rule in probe.url_map.iter_rules()}
    wanted = [path for path in ("/review", "/oversight") if path in routes]
    rows = [(f"{path} page, 100,000 runs / 5 million events", "n/a (no such page yet)")
            for path in ("/review", "/oversight") if path not in wanted]
    if not wanted:
        return rows
    instance = seed.ensure()
    # The seeded supervisor has no second factor: without this every page would send them to set one up.
    app = create_app({"INSTANCE": instance, "SECRET_KEY": "bench", "PREPARE": True, "REQUIRE_2FA": "none"})
    client = _signed_in(app, seed.SUPERVISOR, seed.PASSWORD)
    for path in wanted:
        def load(path=path):
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.status_code}"
            response.get_data()
        rows.append((f"{path} page, 100,000 runs / 5 million events", f"{_median_ms(load):,.0f} ms"))
    return rows


def main() -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"Do No Harm benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores ({cpu}), "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; medians of {REPEATS} runs")
    rows = bench_events.run()
    rows.extend(bench_submit.rows())
    rows.extend(run_screen_rows())
    rows.append(("record render + sign (60 steps, 200 events)", record_render_sign()))
    rows.extend(pages_at_scale())
    width = max(len(name) for name, _ in rows)
    print(f"{'benchmark':{width}}  median")
    print(f"{'-' * width}  {'-' * 30}")
    for name, figure in rows:
        print(f"{name:{width}}  {figure}")


if __name__ == "__main__":
    main()
