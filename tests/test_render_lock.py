"""PDF rendering is one at a time per process (issue 25): WeasyPrint and Pango are not documented as
thread-safe, and concurrent renders in one gunicorn worker corrupted the C heap."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import donoharm.pdf as pdf

ROOT = Path(__file__).resolve().parent.parent


def test_renders_from_many_threads_never_overlap(monkeypatch):
    active, most = 0, 0
    guard = threading.Lock()

    class SlowDocument:
        def __init__(self, **_kwargs):
            pass

        def write_pdf(self, **_kwargs):
            nonlocal active, most
            with guard:
                active += 1
                most = max(most, active)
            time.sleep(0.03)
            with guard:
                active -= 1
            return b"%PDF-1.7 synthetic"

    class FakeWeasyPrint:
        HTML = SlowDocument

        @staticmethod
        def CSS(**_kwargs):
            return None

    monkeypatch.setattr(pdf, "_base", lambda: (FakeWeasyPrint, None, None))
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: pdf.html_to_pdf(f"<p>OP-TEST-{n:03d}</p>"), range(12)))
    assert results == [b"%PDF-1.7 synthetic"] * 12
    assert most == 1


SCRIPT = """
import sys
from concurrent.futures import ThreadPoolExecutor
from donoharm.pdf import html_to_pdf

def render(n):
    html = "<h1>OP-TEST-%03d</h1>" % n + "<p>Synthetic text for a concurrency test.</p>" * 200
    return html_to_pdf(html)

with ThreadPoolExecutor(max_workers=4) as pool:
    pdfs = list(pool.map(render, range(8)))
for n, data in enumerate(pdfs):
    open(sys.argv[1] + "/%d.pdf" % n, "wb").write(data)
"""


def test_concurrent_renders_give_valid_pdfs_and_no_glib_warnings(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    for marker in ("GLib", "corrupted", "double free", "Pango-CRITICAL"):
        assert marker not in done.stderr
    for n in range(8):
        check = subprocess.run(["qpdf", "--check", str(tmp_path / f"{n}.pdf")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        text = subprocess.run(["pdftotext", str(tmp_path / f"{n}.pdf"), "-"], capture_output=True, text=True).stdout
        assert f"OP-TEST-{n:03d}" in text
