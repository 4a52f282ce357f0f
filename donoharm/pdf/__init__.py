"""HTML to PDF with WeasyPrint, using only the fonts bundled in static/fonts.

Every WeasyPrint document, stylesheet and attachment made by the app goes through this module, which gives
WeasyPrint a URL fetcher that serves the app's own files under static/ and nothing else: no http(s), no
file outside static/, no data: URL but a drawn signature this app re-encoded. A refused URL raises, which
WeasyPrint logs and skips, so a hostile reference in a record can neither reach the network nor read a file.
"""
from __future__ import annotations

import logging
import mimetypes
import threading
import warnings
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..config import ROOT
from . import searchable_text as pdf_text

STATIC_DIR = ROOT / "static"
FONTS_DIR = STATIC_DIR / "fonts"
FONT_FAMILY = "Noto Sans"

# Latin text in Noto Sans; Khmer and Thai in their own Noto families, chosen per glyph by the
# font stack, so the output never depends on what fonts the machine happens to have.
_FACES = [
    ("Noto Sans", "NotoSans-Regular.ttf", "normal"),
    ("Noto Sans", "NotoSans-Bold.ttf", "bold"),
    ("Noto Sans Khmer", "NotoSansKhmer-Regular.ttf", "normal"),
    ("Noto Sans Khmer", "NotoSansKhmer-Bold.ttf", "bold"),
    ("Noto Sans Thai", "NotoSansThai-Regular.ttf", "normal"),
    ("Noto Sans Thai", "NotoSansThai-Bold.ttf", "bold"),
]
FONT_STACK = '"Noto Sans", "Noto Sans Khmer", "Noto Sans Thai", sans-serif'

# Names the way PDFs are made; a cache of made PDFs (handouts) keys on it, so a change in how they are made
# (tagging and ActualText, November 2026) is not hidden behind files made the old way.
PIPELINE = f"weasyprint {metadata.version('weasyprint')}; tagged; ActualText for shaped scripts"


def font_face_css() -> str:
    """Return @font-face rules for the bundled fonts, with file URLs WeasyPrint can read."""
    rules = []
    for family, filename, weight in _FACES:
        url = (FONTS_DIR / filename).as_uri()
        rules.append(f'@font-face {{ font-family: "{family}"; src: url("{url}"); font-weight: {weight}; }}')
    rules.append(f"html {{ font-family: {FONT_STACK}; }}")
    return "\n".join(rules)


def bundled_file(url: str) -> Path | None:
    """The file a `file:` URL names if it is one of the app's own files under static/, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(url2pathname(parts.path)).resolve(strict=True)  # symlinks followed, '..' gone
    except (OSError, RuntimeError, ValueError):
        return None
    static = STATIC_DIR.resolve()
    if not path.is_relative_to(static) or not path.is_file():
        return None
    return path


def our_image(url: str) -> bool:
    """Whether a data: URL is a drawn signature exactly as this app re-encodes it (a bounded PNG)."""
    from ..runs.drawn_signature import clean_drawn_signature

    try:
        return clean_drawn_signature(url) == url
    except ValueError:
        return False


@lru_cache(maxsize=1)
def safe_fetcher():
    """WeasyPrint's URL fetcher, restricted to the app's bundled files and its own signature images."""
    import base64

    from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

    class BundledFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                if our_image(url):
                    body = base64.b64decode(url.split(",", 1)[1])
                    return URLFetcherResponse(url, body, {"Content-Type": "image/png"})
            elif (path := bundled_file(url)) is not None:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
            raise URLFetchingError(f"refused: only the app's own files are used in PDFs ({url[:80]})")

    return BundledFilesOnly(timeout=1, allow_redirects=False, allowed_protocols=("file", "data"))


@lru_cache(maxsize=1)
def _base():
    """Load WeasyPrint and the shared font configuration once per process (both are slow)."""
    # WeasyPrint logs every missing glyph or unsupported CSS property at WARNING; keep it quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    pdf_text.install()  # shaped scripts (Khmer, Thai…) searchable and read aloud as written: see pdf_text
    fonts = FontConfiguration()
    stylesheet = weasyprint.CSS(string=font_face_css(), font_config=fonts, url_fetcher=safe_fetcher())
    return weasyprint, fonts, stylesheet


def attachment(string: str, name: str, **options):
    """A WeasyPrint attachment made from a string (fetches nothing, and could fetch only our files)."""
    from weasyprint import Attachment

    return Attachment(string=string, name=name, url_fetcher=safe_fetcher(), **options)


def html_to_pdf(html: str, base_url: str | None = None, stylesheets: list | None = None, **options) -> bytes:
    """Render an HTML document to PDF bytes with the bundled fonts.

    `base_url` resolves relative links (default: the project root, so `static/...` works);
    `stylesheets` are extra CSS strings; `options` go to WeasyPrint's `write_pdf`
    (e.g. `pdf_variant="pdf/a-3a"`, `attachments=[...]`). Whatever the HTML or CSS names, only files
    under static/ (and drawn signatures re-encoded here) are ever read: see `safe_fetcher`.

    Every PDF is tagged unless `pdf_tags=False` is passed: headings, lists and tables reach screen readers,
    the document language and title come from `<html lang>` and `<title>`, and shaped text carries
    /ActualText (pdf_text), which only tagged output can hold.
    """
    options.setdefault("pdf_tags", True)
    with _RENDER_LOCK:  # one rendering at a time per process: see _RENDER_LOCK
        weasyprint, fonts, base_css = _base()
        fetcher = safe_fetcher()
        document = weasyprint.HTML(string=html, base_url=base_url or str(ROOT) + "/", url_fetcher=fetcher)
        css = [base_css] + [weasyprint.CSS(string=s, font_config=fonts, url_fetcher=fetcher)
                            for s in (stylesheets or [])]
        with warnings.catch_warnings():
            # WeasyPrint leaves its sRGB profile file open for PDF/A output; the handle dies with the document.
            warnings.simplefilter("ignore", ResourceWarning)
            return document.write_pdf(stylesheets=css, font_config=fonts, **options)


# WeasyPrint, Pango and the font configuration shared between renders are not documented as thread-safe, and
# a gthread worker rendering several records at once logged glibc heap corruption ("corrupted double-linked
# list"). Rendering is CPU-bound anyway, so serialising it per process costs no throughput.
_RENDER_LOCK = threading.Lock()
