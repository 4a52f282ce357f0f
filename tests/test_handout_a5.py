"""Handouts for training as an A5 pocket booklet as well as A4 (issue 21, part 5)."""
from __future__ import annotations

import subprocess

from .test_trainer_pages import SWA


def page_size(data: bytes, tmp_path) -> str:
    path = tmp_path / "handout.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Page size"))


def test_the_handout_is_a4_by_default_and_a5_on_request(client, tmp_path):
    a4 = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf")
    assert a4.status_code == 200 and page_size(a4.data, tmp_path).startswith("595.276 x 841.89")
    a5 = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf?format=a5")
    assert a5.status_code == 200 and a5.mimetype == "application/pdf"
    assert page_size(a5.data, tmp_path).startswith("419.528 x 595.276")  # A5: 148 x 210 mm
    assert "handout-a5.pdf" in a5.headers["Content-Disposition"]
    assert client.get(f"/protocols/{SWA}/1.1.0/handout.pdf?format=A4").data == a4.data  # any case; cached


def test_a_format_not_offered_is_a_clear_400_naming_the_choices(client):
    response = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf?format=letter")
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "No such handout format" in page and "letter" in page and "a4" in page and "a5" in page


def test_the_protocol_page_offers_both_formats(client, users):
    from .conftest import login

    login(client, "acc")
    page = client.get(f"/protocols/{SWA}/1.1.0").get_data(as_text=True)
    assert f'href="/protocols/{SWA}/1.1.0/handout.pdf"' in page
    assert f'href="/protocols/{SWA}/1.1.0/handout.pdf?format=a5"' in page and "Pocket booklet handout, A5" in page


def test_a_handout_cached_by_an_earlier_way_of_making_pdfs_is_made_again(app, monkeypatch):
    """Handouts are cached by their HTML; when the way PDFs are made changes (tags, ActualText), a file made the
    old way must not be served: the cache key names the pipeline."""
    from donoharm.web import protocol_share

    html = "<html lang='en'><title>OP-TEST handout</title><h1>SYNTHETIC</h1></html>"
    with app.test_request_context("/"):
        first = protocol_share.cached_pdf(html)
        assert protocol_share.cached_pdf(html) == first  # the same pipeline: from the cache
        stale = sorted(protocol_share.cache_dir().glob("*.pdf"))
        assert len(stale) == 1
        stale[0].write_bytes(b"%PDF-1.7 made the old way")
        monkeypatch.setattr(protocol_share, "PIPELINE", "a later way of making PDFs")
        again = protocol_share.cached_pdf(html)
    assert again.startswith(b"%PDF") and b"made the old way" not in again
