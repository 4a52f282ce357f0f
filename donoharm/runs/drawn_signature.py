"""Drawn signatures: only a small PNG, re-encoded here, ever reaches storage or the PDF renderer.

A signature arrives as a `data:image/png;base64,...` string from the phone. The bytes as sent are never
kept: the PNG's chunks are checked by hand (size before any pixel is decoded, nothing but image data kept),
the pixels decoded with Pillow, and a fresh PNG written with no metadata. Pure: no Flask, no SQL.
"""
from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
import zlib

PREFIX = "data:image/png;base64,"
MAX_CHARS = 100_000  # the whole data URL, as before this module existed
# A signature pad: a phone's canvas is at most ~430 CSS px wide; at a device pixel ratio of 3 that is
# about 1300 px. Allow some margin, not a poster.
MAX_WIDTH = 1600
MAX_HEIGHT = 800
MAX_PIXELS = MAX_WIDTH * MAX_HEIGHT
MODE = "RGBA"  # every signature is stored in one mode, whatever the phone sent
# A signature is a few strokes in one ink: it covers little of the pad and holds few colours (the ink and its
# anti-aliased edges). A photo (a face, an ID card) covers the whole area in many colours; it is refused, so
# a picture of a person can never reach a signed record through the signature pad.
MAX_INK_SHARE = 0.35
MAX_INK_COLOURS = 12  # colour bins (3 bits a channel) needed to hold 90% of the ink

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Chunks needed to draw the image; everything else (text, EXIF, ICC profiles, APNG frames, timestamps,
# private chunks) is dropped before Pillow sees the file.
KEPT_CHUNKS = (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND")


def _chunks(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks as (type, data), CRCs checked; ValueError on anything malformed."""
    if not raw.startswith(PNG_MAGIC):
        raise ValueError("the drawn signature is not a PNG image")
    chunks, position = [], len(PNG_MAGIC)
    while position < len(raw):
        if position + 8 > len(raw):
            raise ValueError("the drawn signature's PNG is truncated")
        length, kind = struct.unpack(">I4s", raw[position:position + 8])
        end = position + 8 + length
        if end + 4 > len(raw):
            raise ValueError("the drawn signature's PNG is truncated")
        data = raw[position + 8:end]
        (crc,) = struct.unpack(">I", raw[end:end + 4])
        if zlib.crc32(kind + data) != crc:
            raise ValueError("the drawn signature's PNG is damaged (checksum mismatch)")
        chunks.append((kind, data))
        position = end + 4
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise ValueError("the drawn signature's PNG has no valid header")
    if chunks[-1][0] != b"IEND":
        raise ValueError("the drawn signature's PNG is truncated")
    if not any(kind == b"IDAT" for kind, _ in chunks):
        raise ValueError("the drawn signature's PNG has no image data")
    return chunks


def _minimal_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = [PNG_MAGIC]
    for kind, data in chunks:
        if kind in KEPT_CHUNKS:
            out.append(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))
    return b"".join(out)


def clean_drawn_signature(data_url: str) -> str:
    """Return the drawn signature re-encoded as a fresh, metadata-free PNG data URL.

    Accepts only `data:image/png;base64,` with strict base64, at most MAX_CHARS characters and
    MAX_WIDTH x MAX_HEIGHT pixels (checked from the header before any pixel is decoded). The result
    depends only on the pixels, so the same input always gives the same output, and cleaning a cleaned
    signature gives it back unchanged. Raises ValueError, with a plain-English message, on anything else.
    """
    if not isinstance(data_url, str):
        raise ValueError("the drawn signature must be a PNG image sent as a data URL")
    if len(data_url) > MAX_CHARS:
        raise ValueError(f"the drawn signature is too large (at most {MAX_CHARS:,} characters)")
    if not data_url.startswith(PREFIX):
        raise ValueError("the drawn signature must be a PNG image (data:image/png;base64,...)")
    try:
        raw = base64.b64decode(data_url[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the drawn signature is not valid base64") from None
    chunks = _chunks(raw)
    width, height = struct.unpack(">II", chunks[0][1][:8])
    if not (1 <= width <= MAX_WIDTH and 1 <= height <= MAX_HEIGHT) or width * height > MAX_PIXELS:
        raise ValueError(f"the drawn signature is {width} x {height} pixels; "
                         f"at most {MAX_WIDTH} x {MAX_HEIGHT} is accepted")
    return PREFIX + base64.b64encode(_reencode(_minimal_png(chunks), width, height)).decode("ascii")


def _reencode(png: bytes, width: int, height: int) -> bytes:
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow's own bomb guard is far above our bound; make its warning an error all the same.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
                pixels = None
                if image.format == "PNG" and image.size == (width, height):
                    image.load()
                    pixels = image.convert(MODE).tobytes()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError("the drawn signature is too large") from None
        except (OSError, SyntaxError, EOFError, ValueError, zlib.error, struct.error, IndexError, TypeError):
            raise ValueError("the drawn signature's PNG could not be read") from None
    if pixels is None:
        raise ValueError("the drawn signature is not a PNG image")
    # A new image from the pixels alone: no info dictionary, so no text, EXIF, ICC profile or DPI is written.
    fresh = Image.frombytes(MODE, (width, height), pixels)
    _refuse_pictures(fresh)
    out = io.BytesIO()
    fresh.save(out, format="PNG", compress_level=9)
    return out.getvalue()


def _refuse_pictures(image) -> None:
    """ValueError unless the image looks like strokes drawn on a pad (see MAX_INK_SHARE, MAX_INK_COLOURS)."""
    from PIL import Image, ImageChops, ImageOps

    red, green, blue, alpha = image.split()
    darkest = ImageChops.darker(ImageChops.darker(red, green), blue)
    # Ink: a pixel that is visible (alpha) and not paper (near white).
    ink = ImageChops.multiply(alpha.point(lambda a: 255 if a >= 32 else 0),
                              darkest.point(lambda v: 255 if v < 224 else 0))
    total = image.width * image.height
    inked = ink.histogram()[255]
    refusal = "the drawn signature looks like a picture, not a signature: draw it again with a finger"
    if inked > MAX_INK_SHARE * total:
        raise ValueError(refusal)
    # Colours of the ink only: everything else is set to magenta, which 3-bit bins of ink never give.
    binned = Image.composite(ImageOps.posterize(image.convert("RGB"), 3),
                             Image.new("RGB", image.size, (255, 0, 255)), ink)
    counts = sorted((count for count, colour in binned.getcolors(maxcolors=total) or []
                     if colour != (255, 0, 255)), reverse=True)
    held = needed = 0
    while held < 0.9 * inked and needed < len(counts):
        held += counts[needed]
        needed += 1
    if needed > MAX_INK_COLOURS:
        raise ValueError(refusal)
