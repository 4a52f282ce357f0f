"""Draw the app icons (192, 512 and a maskable 512) into static/icons with Pillow.

Run: .venv/bin/python scripts/make_icons.py — the PNGs are committed; rerun only to change the design.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (29, 63, 110)  # --brand in app.css
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"


def draw(size: int, safe: float) -> Image.Image:
    """A white shield with a tick on the brand colour; `safe` is the share of the canvas the mark may use."""
    image = Image.new("RGB", (size, size), BRAND)
    d = ImageDraw.Draw(image)
    mark = size * safe
    left, top = (size - mark) / 2, (size - mark) / 2
    w, h = mark * 0.8, mark
    x0 = left + (mark - w) / 2
    shield = [(x0, top + h * 0.12), (x0 + w / 2, top), (x0 + w, top + h * 0.12),
              (x0 + w, top + h * 0.5), (x0 + w / 2, top + h), (x0, top + h * 0.5)]
    d.polygon(shield, fill=WHITE)
    tick = [(x0 + w * 0.25, top + h * 0.5), (x0 + w * 0.44, top + h * 0.68), (x0 + w * 0.77, top + h * 0.32)]
    d.line(tick, fill=BRAND, width=max(4, int(size * 0.06)), joint="curve")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, 0.7).save(OUT / "icon-192.png", optimize=True)
    draw(512, 0.7).save(OUT / "icon-512.png", optimize=True)
    draw(512, 0.5).save(OUT / "maskable-512.png", optimize=True)  # maskable safe zone is the inner 80% circle


if __name__ == "__main__":
    main()
