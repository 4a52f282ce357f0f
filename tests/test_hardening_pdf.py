"""Issue 13, items 1 and 12 (and the PDF half of 3): what a PDF may fetch, what a drawn signature may be, how
often a public PDF is rendered, and which host share links and QR codes name.

Classes of problem: server-side request forgery and local file disclosure through WeasyPrint; decompression
bombs and smuggled metadata in a drawn signature; anonymous CPU exhaustion through uncached PDFs; Host
header injection into share links.
"""
from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image, PngImagePlugin

from donoharm.pdf import STATIC_DIR, html_to_pdf
from donoharm.runs.drawn_signature import MAX_HEIGHT, MAX_WIDTH, clean_drawn_signature
from donoharm.services.library import get_registry
from tests.conftest import attestation, complete_answers, event
from tests.test_trainer_pages import SWA, signed_in

ROOT = Path(__file__).resolve().parent.parent
ICON = STATIC_DIR / "icons" / "icon-192.png"  # a bundled file: the one image a PDF may take from disk



@pytest.fixture(autouse=True)
def clock_mid_window(monkeypatch):
    """Rate limits count in one-minute windows: hold the clock mid-window so that no test straddles two."""
    from donoharm.web import rate_limit

    monkeypatch.setattr(rate_limit, "_clock", lambda: 1_800_000_030.0)

def png(width=120, height=40, mode="RGBA", text: dict | None = None) -> bytes:
    """A small PNG with a dark stroke, optionally with tEXt metadata."""
    image = Image.new(mode, (width, height), (0, 0, 0, 0) if mode == "RGBA" else 255)
    for x in range(10, min(width - 10, 110)):
        image.putpixel((x, height // 2), (20, 20, 120, 255) if mode == "RGBA" else 0)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def data_url(raw: bytes, kind="image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


def chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_bomb(width=20000, height=20000) -> bytes:
    """A 1-bit greyscale PNG of width x height zero pixels: ~50 KB compressed, 400 megapixels decoded."""
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- a loopback listener that records every request a renderer makes ---------------------------------------

class Listener:
    def __init__(self):
        self.requests: list[str] = []
        seen = self.requests
        icon = ICON.read_bytes()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                seen.append(self.path)
                body, kind = (icon, "image/png") if self.path.endswith(".png") else (b"p{color:red}", "text/css")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def hostile_html(url: str, secret: Path) -> str:
    """Every way an HTML document or its CSS can make WeasyPrint fetch: network and file system."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" '
           f'height="10"><image href="{url}/svg-image.png" width="10" height="10"/>'
           f'<image xlink:href="{secret.as_uri()}" width="10" height="10"/></svg>')
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="{url}/linked.css">
<style>
@import url("{url}/imported.css");
@font-face {{ font-family: Remote; src: url("{url}/font.ttf"); }}
body {{ background: url("{url}/background.png"); font-family: Remote; }}
p.local {{ background: url("{secret.as_uri()}"); }}
</style></head><body>
<p class="local">text</p>
<img src="{url}/img.png" alt="">
<img src="{secret.as_uri()}" alt="">
<img src="../../../../../../..{secret}" alt="">
<img src="{data_url(svg.encode(), 'image/svg+xml')}" alt="">
<object data="{url}/object.png"></object>
<a rel="attachment" href="{url}/attachment.png">a</a>
<a rel="attachment" href="{secret.as_uri()}">b</a>
</body></html>"""


def pdf_images(pdf: bytes, tmp_path: Path) -> list[tuple[int, int]]:
    """(width, height) of every image in a PDF, as poppler's pdfimages lists them."""
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return [(int(row[3]), int(row[4])) for row in rows if row[2] == "image"]  # not the alpha masks


def attachments(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "attachments.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def secret_png(tmp_path) -> Path:
    """A file outside static/ that a hostile document would like to copy into a PDF (77 x 33 px)."""
    path = tmp_path / "secret.png"
    path.write_bytes(png(77, 33))
    return path


def test_ssrf_weasyprint_as_the_app_calls_it_fetches_nothing_from_the_network(listener, secret_png, tmp_path):
    # The control: WeasyPrint's own fetcher does go to the listener for this document.
    import weasyprint

    weasyprint.HTML(string=hostile_html(listener.url, secret_png), base_url=str(ROOT) + "/").write_pdf()
    assert listener.requests, "the control render should have fetched from the listener"
    listener.requests.clear()

    pdf = html_to_pdf(hostile_html(listener.url, secret_png), stylesheets=[
        f'@import url("{listener.url}/extra-import.css"); h1 {{ background: url("{listener.url}/extra.png"); }}'])
    assert pdf.startswith(b"%PDF-")
    assert listener.requests == []


def test_file_disclosure_no_file_outside_static_reaches_a_pdf(listener, secret_png, tmp_path):
    html = hostile_html(listener.url, secret_png) + f'<img src="{ICON.as_uri()}"><img src="static/icons/icon-192.png">'
    images = pdf_images(html_to_pdf(html), tmp_path)
    assert (77, 33) not in images  # the secret file, by its size
    assert images and set(images) == {(192, 192)}  # the control: the bundled icon is there, so images are seen
    assert "secret.png" not in attachments(html_to_pdf(html), tmp_path)


def test_file_disclosure_record_attachment_cannot_point_at_a_file(tmp_path):
    from donoharm.pdf import attachment

    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy me")
    # A URL attachment is fetched through the same fetcher: refused, so nothing of the file is embedded.
    pdf = html_to_pdf("<p>x</p>", attachments=[attachment("{}", "audit-record.json"),
                                                _url_attachment(secret.as_uri())])
    listing = attachments(pdf, tmp_path)
    assert "audit-record.json" in listing and "secret.txt" not in listing
    assert b"do not copy me" not in pdf and b"do not copy me" not in zlib_streams(pdf)


def _url_attachment(url: str):
    from weasyprint import Attachment

    from donoharm.pdf import safe_fetcher

    return Attachment(url=url, url_fetcher=safe_fetcher())


def zlib_streams(pdf: bytes) -> bytes:
    """Every Flate stream of a PDF, inflated (to search for copied content)."""
    out = []
    for start in range(len(pdf)):
        if pdf.startswith(b"stream", start):
            body = pdf[start + 6:].lstrip(b"\r\n")
            try:
                out.append(zlib.decompressobj().decompress(body, 10_000_000))
            except zlib.error:
                pass
    return b"".join(out)


def test_only_signature_images_the_app_made_are_drawn(tmp_path):
    raw = png(300, 100, text={"Comment": "from the phone"})
    cleaned = clean_drawn_signature(data_url(raw))
    assert pdf_images(html_to_pdf(f'<img src="{cleaned}">'), tmp_path) == [(300, 100)]
    # The same picture as sent (with its metadata), a JPEG, an SVG: not an image the app made, not drawn.
    for url in (data_url(raw), data_url(b"\xff\xd8\xff\xe0 not really", "image/jpeg"),
                data_url(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")):
        assert pdf_images(html_to_pdf(f'<img src="{url}">'), tmp_path) == [], url[:40]


# --- the drawn signature itself -----------------------------------------------------------------------------

def test_signature_metadata_is_stripped_and_reencoding_is_deterministic():
    raw = png(text={"Author": "secret-author-name", "Comment": "gps 11.55,104.92"})
    assert b"tEXt" in raw and b"secret-author-name" in raw
    cleaned = clean_drawn_signature(data_url(raw))
    out = base64.b64decode(cleaned.removeprefix("data:image/png;base64,"), validate=True)
    assert cleaned.startswith("data:image/png;base64,")
    assert b"tEXt" not in out and b"zTXt" not in out and b"iTXt" not in out and b"secret-author-name" not in out
    chunks = set()
    position = 8
    while position < len(out):
        length = int.from_bytes(out[position:position + 4], "big")
        chunks.add(out[position + 4:position + 8])
        position += 12 + length
    assert chunks <= {b"IHDR", b"IDAT", b"IEND"}
    with Image.open(io.BytesIO(out)) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.size == (120, 40)
        assert image.tobytes() == Image.open(io.BytesIO(raw)).convert("RGBA").tobytes()  # same pixels
    assert clean_drawn_signature(data_url(raw)) == cleaned  # deterministic
    assert clean_drawn_signature(cleaned) == cleaned  # a cleaned signature is its own cleaning


def test_signature_in_other_modes_is_normalised():
    grey = png(200, 60, mode="L")
    palette = io.BytesIO()
    Image.open(io.BytesIO(png(200, 60))).convert("P").save(palette, format="PNG")
    for raw in (grey, palette.getvalue()):
        out = base64.b64decode(clean_drawn_signature(data_url(raw)).split(",", 1)[1])
        assert Image.open(io.BytesIO(out)).mode == "RGBA"


def _bad_crc(raw: bytes) -> bytes:
    return raw[:29] + bytes([raw[29] ^ 0xFF]) + raw[30:]


@pytest.mark.parametrize("value,why", [
    (data_url(b'<svg xmlns="http://www.w3.org/2000/svg"><use href="#a"/></svg>', "image/svg+xml"), "SVG"),
    (data_url(b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"), "JPEG"),
    ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "GIF bytes labelled PNG"),
    ("data:image/png;base64,iVBORw0KGgo AAAA", "base64 with a space"),
    ("data:image/png;base64,iVBORw0KGgo\nAAAA", "base64 with a line break"),
    ("data:image/png;base64,iVBORw0KGgo=AAA", "padding in the middle"),
    ("data:image/png,rawbytes", "not base64"),
    ("http://127.0.0.1/x.png", "a URL"),
    ("data:image/png;base64," + "A" * 100_000, "over 100,000 characters"),
    (data_url(png()[:60]), "truncated PNG"),
    (data_url(_bad_crc(png())), "damaged checksum"),
    (data_url(png(MAX_WIDTH + 1, 10)), "too wide"),
    (data_url(png(10, MAX_HEIGHT + 1)), "too tall"),
    (12345, "not text"),
])
def test_signature_that_is_not_a_bounded_png_is_refused_in_plain_words(value, why):
    with pytest.raises(ValueError) as error:
        clean_drawn_signature(value)
    message = str(error.value)
    assert message.startswith("the drawn signature") and "Traceback" not in message, why


BOMB_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (512 * 1024 * 1024, 512 * 1024 * 1024))
from donoharm.runs.drawn_signature import clean_drawn_signature
url = open(sys.argv[1]).read()
started = time.perf_counter()
try:
    clean_drawn_signature(url)
    outcome = "accepted"
except ValueError as error:
    outcome = "refused: " + str(error)
print(outcome)
print(time.perf_counter() - started)
"""


@pytest.mark.parametrize("side", [20000, 9000], ids=["400-megapixels", "81-megapixels-under-pillow-guard"])
def test_decompression_bomb_png_is_refused_within_a_second_in_bounded_memory(tmp_path, side):
    bomb = data_url(png_bomb(side, side))
    assert len(bomb) < 100_000  # small enough to pass the size check: only the header check stops it
    path = tmp_path / "bomb.txt"
    path.write_text(bomb)
    result = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(path)], capture_output=True, text=True,
                            timeout=30, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    outcome, seconds = result.stdout.splitlines()
    assert outcome.startswith(f"refused: the drawn signature is {side} x {side} pixels"), outcome
    assert float(seconds) < 1.0


def test_signature_with_more_pixel_data_than_its_header_says_is_bounded_by_the_header():
    """A small declared size over 16 megapixels of compressed data: refused, or decoded to the declared size."""
    raw = png_bomb(4000, 4000)
    small = raw[:16] + (100).to_bytes(4, "big") + (50).to_bytes(4, "big") + raw[24:29]
    small += zlib.crc32(small[12:29]).to_bytes(4, "big") + raw[33:]
    try:
        out = clean_drawn_signature(data_url(small))
    except ValueError:
        return  # refused: fine
    assert Image.open(io.BytesIO(base64.b64decode(out.split(",", 1)[1]))).size == (100, 50)


# --- records: stored signatures and the API -----------------------------------------------------------------

def test_stored_hostile_signature_is_dropped_and_a_good_one_reencoded():
    from donoharm.records.render import signature_image_of

    def state(signature):
        return SimpleNamespace(submissions=[{"attestation": {"name": "A", "confirmed": True,
                                                             "signature": signature}}])

    svg = data_url(b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:9/x"/></svg>',
                   "image/svg+xml")
    assert signature_image_of(state(svg)) is None
    assert signature_image_of(state(data_url(png_bomb()))) is None
    assert signature_image_of(state(data_url(b"\xff\xd8\xff", "image/jpeg"))) is None
    raw = png(text={"Author": "x"})
    assert signature_image_of(state(data_url(raw))) == clean_drawn_signature(data_url(raw))
    assert signature_image_of(SimpleNamespace(submissions=[])) is None


def test_ssrf_record_rendered_with_a_hostile_signature_fetches_nothing(signed_app, api, listener, tmp_path):
    """A run stored before the check, its signature put straight into the record's HTML: the fetcher refuses."""
    from donoharm.db import get_db
    from donoharm.records.render import record_html, record_pdf
    from donoharm.services import run_service

    acc = api("acc")
    run_id = acc.start_run()
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
           f'<image href="{listener.url}/signature.png" width="10" height="10"/></svg>')
    with signed_app.test_request_context():
        db, registry = get_db(), get_registry()
        run = run_service.load_run(db, run_id)
        state, events = run_service.run_state(db, registry, run)
        for hostile in (data_url(svg.encode(), "image/svg+xml"), f"{listener.url}/direct.png"):
            html = record_html("r1", "2026-01-01T00:00:00Z", "test", run, protocol, state, events, hostile)
            assert pdf_images(record_pdf(html, {"run": {"id": run_id}}), tmp_path) == []
    assert listener.requests == []


def test_api_refuses_a_hostile_signature_and_draws_a_good_one(signed_app, api, listener, tmp_path):
    acc = api("acc")
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{listener.url}/x.png"/></svg>'
    for hostile in (data_url(svg.encode(), "image/svg+xml"), data_url(png_bomb())):
        run_id = acc.start_run()
        response = acc.send(run_id, *complete_answers(protocol), event(
            "run.submitted", value={"name": "Test Accompanier", "confirmed": True, "signature": hostile}))
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["code"] == "invalid_attestation"
    assert listener.requests == []
    run_id = acc.start_run()
    response = acc.send(run_id, *complete_answers(protocol), event(
        "run.submitted", value={"name": "Test Accompanier", "confirmed": True,
                                "signature": data_url(png(300, 90, text={"Author": "phone"}))}))
    assert response.status_code == 200, response.get_json()
    record = acc.get(f"/runs/{run_id}/record.pdf")
    assert record.status_code == 200
    assert (300, 90) in pdf_images(record.data, tmp_path)


# --- public PDFs: rendered once -----------------------------------------------------------------------------

@pytest.fixture
def render_count(monkeypatch):
    from donoharm.web import protocol_share

    calls = []
    real = protocol_share.html_to_pdf

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(protocol_share, "html_to_pdf", counting)
    return calls


def test_cpu_exhaustion_handout_and_changes_pdfs_are_rendered_once(app, render_count):
    client = app.test_client()  # anonymous, as in the assessment
    first = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf")
    second = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf")
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert len(render_count) == 1
    changes = [client.get(f"/protocols/{SWA}/changes.pdf?from=1.0.0&to=1.1.0") for _ in range(2)]
    assert all(c.status_code == 200 for c in changes) and changes[0].data == changes[1].data
    assert len(render_count) == 2
    assert len(list((Path(app.instance_path) / "cache" / "pdf").glob("*.pdf"))) == 2
    # Another language is another document: rendered (once) in that language.
    spanish = [client.get(f"/protocols/{SWA}/1.1.0/handout.pdf", headers={"Accept-Language": "es"})
               for _ in range(2)]
    assert spanish[0].data == spanish[1].data != first.data
    assert len(render_count) == 3
    # Another app process (a second gunicorn worker) on the same instance finds the cached file.
    from donoharm import create_app

    other = create_app({"TESTING": True, "INSTANCE": Path(app.instance_path), "SECRET_KEY": "test"})
    assert other.test_client().get(f"/protocols/{SWA}/1.1.0/handout.pdf").data == first.data
    assert len(render_count) == 3


def test_cpu_exhaustion_uncached_renders_are_rate_limited_per_client(app, render_count):
    app.config["PDF_RATE_LIMIT"] = 1
    client = app.test_client()
    assert client.get(f"/protocols/{SWA}/1.1.0/handout.pdf").status_code == 200
    refused = client.get(f"/protocols/{SWA}/1.0.0/handout.pdf")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert len(render_count) == 1
    assert client.get(f"/protocols/{SWA}/1.1.0/handout.pdf").status_code == 200  # cached: still served
    elsewhere = app.test_client().get(f"/protocols/{SWA}/1.0.0/handout.pdf",
                                      environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert elsewhere.status_code == 200 and len(render_count) == 2


# --- item 12: share links and QR codes ----------------------------------------------------------------------

def qr_of(text: str, tmp_path: Path, version="1.1.0") -> bytes:
    import segno

    out = tmp_path / "expected.svg"
    segno.make(text, error="m").save(str(out), kind="svg", scale=8, border=4, xmldecl=True,
                                     title=f"{SWA} {version}")
    return out.read_bytes()


def test_host_header_injection_share_link_and_qr_never_name_a_forged_host(app, users, tmp_path):
    client = signed_in(app, "acc")
    headers = {"Host": "evil.example"}
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers=headers)
    assert page.status_code == 200 and "evil.example" not in page.get_data(as_text=True)
    assert f'href="/protocols/{SWA}/1.1.0"' in page.get_data(as_text=True)  # a relative link instead
    qr = client.get(f"/protocols/{SWA}/1.1.0/qr.svg", headers=headers).data
    assert qr != qr_of(f"http://evil.example/protocols/{SWA}/1.1.0", tmp_path)
    assert qr == qr_of(f"/protocols/{SWA}/1.1.0", tmp_path)


def test_share_link_uses_the_configured_base_url_whatever_the_host(app, users, tmp_path):
    app.config["BASE_URL"] = "https://records.example.org"
    client = signed_in(app, "acc")
    for host in ("evil.example", "localhost"):
        page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": host}).get_data(as_text=True)
        assert f"https://records.example.org/protocols/{SWA}/1.1.0" in page and "evil.example" not in page
        qr = client.get(f"/protocols/{SWA}/1.1.0/qr.svg", headers={"Host": host}).data
        assert qr == qr_of(f"https://records.example.org/protocols/{SWA}/1.1.0", tmp_path)


def test_share_link_uses_the_request_host_only_when_trusted(app, users):
    app.config["SHARE_TRUSTED_HOSTS"] = ["dnh.example.org"]
    client = signed_in(app, "acc")
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "dnh.example.org:8443"})
    assert f"http://dnh.example.org:8443/protocols/{SWA}/1.1.0" in page.get_data(as_text=True)
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "127.0.0.1:5000"})
    assert f"http://127.0.0.1:5000/protocols/{SWA}/1.1.0" in page.get_data(as_text=True)
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "dnh.example.org.evil.example"})
    assert "evil.example" not in page.get_data(as_text=True)


def test_base_url_and_trusted_hosts_come_from_the_environment(tmp_path, monkeypatch, users):
    from donoharm import create_app

    monkeypatch.setenv("DONOHARM_TRUSTED_HOSTS", "dnh.example.org, .Example.NET")
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "other", "SECRET_KEY": "test"})
    assert app.config["SHARE_TRUSTED_HOSTS"] == ["dnh.example.org", ".example.net"]
    assert app.config["BASE_URL"] is None
    client = app.test_client()
    for host in ("dnh.example.org", "a.example.net"):
        page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": host}).get_data(as_text=True)
        assert f"http://{host}/protocols/{SWA}/1.1.0" in page, host
    monkeypatch.setenv("DONOHARM_BASE_URL", "https://records.example.org/dnh/")
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "other", "SECRET_KEY": "test"})
    assert app.config["BASE_URL"] == "https://records.example.org/dnh"
    page = app.test_client().get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "dnh.example.org"})
    assert f"https://records.example.org/dnh/protocols/{SWA}/1.1.0" in page.get_data(as_text=True)


@pytest.mark.parametrize("name,value", [("DONOHARM_BASE_URL", "records.example.org"),
                                        ("DONOHARM_BASE_URL", "ftp://records.example.org"),
                                        ("DONOHARM_BASE_URL", "https://records.example.org/?a=b")])
def test_a_malformed_base_url_stops_the_start_with_a_clear_message(tmp_path, monkeypatch, name, value):
    from donoharm import create_app

    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "instance", "SECRET_KEY": "test"})


def test_by_default_only_loopback_hosts_give_absolute_links(app):
    assert app.config["BASE_URL"] is None and app.config["SHARE_TRUSTED_HOSTS"] == []
    client = app.test_client()
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "intranet-name"}).get_data(as_text=True)
    assert "intranet-name" not in page and f'href="/protocols/{SWA}/1.1.0"' in page
    page = client.get(f"/protocols/{SWA}/1.1.0/share", headers={"Host": "localhost"}).get_data(as_text=True)
    assert f"http://localhost/protocols/{SWA}/1.1.0" in page

