"""A photo sent as the drawn signature never reaches a signed record (issue 18: a 300 x 300 photo was embedded).

The signature pad gives a few strokes in one ink; a picture of a person or a document covers the area in many
colours. Such an image is refused in plain words at submission, and nothing is stored."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from donoharm.runs.drawn_signature import clean_drawn_signature
from donoharm.services.library import get_registry
from tests.conftest import Api, complete_answers, event


def _url(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def photo_like() -> Image.Image:
    """300 x 300 of smooth colour everywhere, as a photo (small as a PNG, so only the content can refuse it)."""
    image = Image.new("RGB", (300, 300))
    image.putdata([(x * 255 // 299, y * 255 // 299, (x + y) * 255 // 598) for y in range(300) for x in range(300)])
    return image


def small_colour_picture() -> Image.Image:
    """A picture covering a small part of a transparent pad, in many colours (e.g. a face pasted in)."""
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    for x in range(40, 120):
        for y in range(40, 120):
            image.putpixel((x, y), (x * 3 % 256, y * 5 % 256, (x * y) % 256, 255))
    return image


def drawn_strokes() -> Image.Image:
    """What the pad gives: a dark anti-aliased stroke on transparency."""
    image = Image.new("RGBA", (1200, 400), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(40, 300), (200, 80), (400, 320), (600, 100), (1000, 240)],
                               fill=(17, 17, 17, 255), width=9)
    return image.resize((600, 200), Image.LANCZOS)


@pytest.mark.parametrize("picture", [photo_like, small_colour_picture])
def test_a_picture_is_not_a_signature(picture):
    with pytest.raises(ValueError, match="looks like a picture"):
        clean_drawn_signature(_url(picture()))


def test_strokes_from_the_pad_are_accepted():
    assert clean_drawn_signature(_url(drawn_strokes())).startswith("data:image/png;base64,")


def test_submitting_a_photo_as_the_signature_is_refused_and_nothing_is_stored(app, users):
    acc = Api(app, "acc")
    run_id = acc.start_run()
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    assert acc.send(run_id, *complete_answers(protocol)).status_code == 200
    submission = event("run.submitted", value={"name": "Test Accompanier", "confirmed": True,
                                               "signature": _url(photo_like())})
    response = acc.send(run_id, submission)
    assert response.status_code == 422
    assert "looks like a picture" in response.get_json()["error"]["message"]
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]["status"] == "in_progress"
