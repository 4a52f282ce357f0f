"""HTML to PDF with WeasyPrint, using only the fonts bundled in static/fonts."""
from __future__ import annotations

import logging
import warnings
from functools import lru_cache

from .config import ROOT

FONTS_DIR = ROOT / "static" / "fonts"
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


def font_face_css() -> str:
    """Return @font-face rules for the bundled fonts, with file URLs WeasyPrint can read."""
    rules = []
    for family, filename, weight in _FACES:
        url = (FONTS_DIR / filename).as_uri()
        rules.append(f'@font-face {{ font-family: "{family}"; src: url("{url}"); font-weight: {weight}; }}')
    rules.append(f"html {{ font-family: {FONT_STACK}; }}")
    return "\n".join(rules)


@lru_cache(maxsize=1)
def _base():
    """Load WeasyPrint and the shared font configuration once per process (both are slow)."""
    # WeasyPrint logs every missing glyph or unsupported CSS property at WARNING; keep it quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    stylesheet = weasyprint.CSS(string=font_face_css(), font_config=fonts)
    return weasyprint, fonts, stylesheet


def html_to_pdf(html: str, base_url: str | None = None, stylesheets: list | None = None, **options) -> bytes:
    """Render an HTML document to PDF bytes with the bundled fonts.

    `base_url` resolves relative links (default: the project root, so `static/...` works);
    `stylesheets` are extra CSS strings; `options` go to WeasyPrint's `write_pdf`
    (e.g. `pdf_variant="pdf/a-3b"`, `attachments=[...]`).
    """
    weasyprint, fonts, base_css = _base()
    document = weasyprint.HTML(string=html, base_url=base_url or str(ROOT) + "/")
    css = [base_css] + [weasyprint.CSS(string=s, font_config=fonts) for s in (stylesheets or [])]
    with warnings.catch_warnings():
        # WeasyPrint leaves its sRGB profile file open for PDF/A output; the handle dies with the document here.
        warnings.simplefilter("ignore", ResourceWarning)
        return document.write_pdf(stylesheets=css, font_config=fonts, **options)
