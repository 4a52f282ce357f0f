"""What the signature's incremental update writes besides the signature: consistent metadata, a legible stamp.

Metadata: pyHanko's update appends itself to the document information's Producer ("WeasyPrint 70.0; pyHanko
0.38.0") but writes only itself into the XMP's pdf:Producer, and dates the XMP (xmp:ModifyDate) but not the
document information. PDF/A requires the two to agree, so the writer here makes the XMP say what the document
information says, and gives the document information the XMP's modification date, in the same revision.

Stamp: the text is set at 9 pt (8 pt if a word would not fit the width otherwise) and the box is
measured from the text, anchored at the top-right corner of the space the record keeps free for it.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

STAMP_FONT_SIZES = (9, 8)  # points (pyHanko writes whole sizes): the first at which every word fits the width
STAMP_MARGIN = 5  # points between the border and the text, left and right
TOP, BOTTOM = 3, 6  # points above the first line and below the last (room for descenders: it looks even)
SLACK = 2  # points: pyHanko kerns and rounds its own measure of the text
LINE_GAP = 2  # points between lines: the line height is the font size plus this


def consistent_writer_class():
    """An IncrementalPdfFileWriter whose update keeps the document information and the XMP in agreement."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.metadata import model, xmp_xml

    class ConsistentMetadataWriter(IncrementalPdfFileWriter):
        def _update_meta(self):
            super()._update_meta()  # pyHanko's own update: Producer appended, xmp:ModifyDate now
            metadata = self.root.get("/Metadata")
            metadata = metadata.get_object() if metadata is not None else None
            if self._info is None or not isinstance(metadata, xmp_xml.MetadataStream):
                return
            info = self._info.get_object()
            fields = {name: value for root in metadata.xmp for name, value in root}
            if "/Producer" in info:
                fields[model.PDF_PRODUCER] = model.XmpValue(str(info["/Producer"]))
            modified = fields.get(model.XMP_MODDATE)
            if modified is not None:
                info["/ModDate"] = generic.pdf_date(datetime.fromisoformat(str(modified.value)))
            # As MetadataStream.update_xmp_with_meta does, with the fields chosen here.
            metadata._xmp = [model.XmpStructure(fields)]
            metadata._reserialise()
            metadata._encoded_data = None
            self.update_container(metadata)
            self.mark_update(self._info)

    return ConsistentMetadataWriter


@lru_cache(maxsize=1)
def _metrics(font_path: str) -> tuple[dict[int, int], int]:
    from fontTools.ttLib import TTFont

    font = TTFont(font_path)
    hmtx, cmap = font["hmtx"], font.getBestCmap()
    widths = {code: hmtx[glyph][0] for code, glyph in cmap.items()}
    return widths, font["head"].unitsPerEm


def text_width(text: str, size: float, font_path: str) -> float:
    """The advance width of `text` in points (characters the font lacks count as an em)."""
    widths, units = _metrics(font_path)
    return sum(widths.get(ord(char), units) for char in text) * size / units


def wrap(template: str, measure, width: float) -> list[str]:
    """The stamp template's lines, each long line broken between words so that it fits `width` points.

    `measure` gives a piece of the template's width as shown (placeholders such as %(ts)s filled in); words are
    kept whole, placeholders included, so the result is still a template for pyHanko."""
    lines = []
    for line in template.splitlines():
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and measure(candidate) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def stamp_layout(template: str, params: dict, reserved: tuple[float, float, float, float], font_path: str):
    """(font size, template with its lines wrapped, box) for the stamp: the largest size at which the wrapped
    text fits the reserved space (else the smallest, 8 pt, the box growing down or left), and a box sized to the text
    at the top-right corner of the reserved one."""
    x1, y1, x2, y2 = reserved
    inner = (x2 - x1) - 2 * STAMP_MARGIN - SLACK
    for size in STAMP_FONT_SIZES:
        def measure(piece: str, size: float = size) -> float:
            return text_width(piece % params, size, font_path)

        lines = wrap(template, measure, inner)
        height = len(lines) * (size + LINE_GAP) + TOP + BOTTOM
        if height <= y2 - y1 and all(measure(line) <= inner for line in lines):
            break
    width = max(measure(line) for line in lines) + 2 * STAMP_MARGIN + SLACK
    box = (int(x2 - width - 1), int(y2 - height - 1), int(x2), int(y2))  # whole points, rounded outwards
    return size, "\n".join(lines), box


def alternative_text(template: str, params: dict) -> str:
    """The stamp as one line for a screen reader (the signature field's /TU): its lines joined."""
    shown = template % params
    return "; ".join(line.strip() for line in shown.splitlines() if line.strip())
