"""Searchable text in every script: an /ActualText for each run of shaped (Khmer, Thai…) text WeasyPrint draws.

Why it is needed: a PDF maps each glyph to text once, for the whole file, through the font's ToUnicode map.
WeasyPrint fills that map from the first cluster a glyph is seen in, and a shaped script reuses one glyph in
several clusters and reorders glyphs inside a cluster: in "ប្រតិបត្តិការ" the glyph of ប appears once as
"ប្រ" (with the subscript ro, drawn as a separate glyph to its left) and once alone, so one of the two is always
extracted wrong ("បតិបត្តិការ" or "ប្រតិប្រត្តិការ"). No ToUnicode map can be right for both.

The fix the PDF format provides is a marked-content span carrying /ActualText, which readers (poppler's
pdftotext, Acrobat, screen readers) use instead of the glyphs' mapping. In a tagged PDF WeasyPrint already
wraps every text box it draws in `/Span <</MCID n>> BDC … EMC`; this module adds the box's text as /ActualText
to that property list, for boxes holding text in a script that is shaped. The text is written while the PDF is
made, so it is covered by the signature like the rest. It needs tagged output (pdf_tags or a tagged variant).
"""
from __future__ import annotations

import unicodedata
from contextlib import contextmanager

# Scripts whose shaping reorders, splits or merges glyphs (Indic and South-East Asian scripts, Arabic, Hebrew…):
# from U+0590 on, every letter or mark. Latin, Greek and Cyrillic text maps glyph by glyph and is left alone.
_SHAPED_FROM = 0x0590


def needs_actual_text(text: str) -> bool:
    """Whether glyph-by-glyph extraction of `text` may differ from the text (a shaped script or a combining mark)."""
    for char in text:
        category = unicodedata.category(char)
        if category in ("Mn", "Mc", "Me"):
            return True
        if ord(char) >= _SHAPED_FROM and category[0] == "L":
            return True
    return False


def install() -> None:
    """Make WeasyPrint's marked text spans carry /ActualText for shaped text (once per process)."""
    import pydyf
    from weasyprint.formatting_structure.boxes import TextBox
    from weasyprint.pdf.stream import Stream

    if getattr(Stream.marked, "adds_actual_text", False):
        return
    plain_marked = Stream.marked

    @contextmanager
    def marked(self, box, tag):
        with plain_marked(self, box, tag):
            # WeasyPrint has just written `/Span <</MCID n>> BDC`: its property list is the item before BDC.
            if (tag == "Span" and isinstance(box, TextBox) and needs_actual_text(box.text)
                    and len(self.stream) >= 2 and self.stream[-1] == b"BDC"
                    and isinstance(self.stream[-2], pydyf.Dictionary)):
                self.stream[-2]["ActualText"] = pydyf.String(box.text)
            yield

    marked.adds_actual_text = True
    Stream.marked = marked
