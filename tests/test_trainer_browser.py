"""The "done when" of issue 6 in a real browser: a trainer uploads 1.3.0 as a file, sees the redline
against 1.1.0, publishes it as current and opens the handout; an accompanier sees it badged."""
from __future__ import annotations

import pytest

from tests.conftest import browser_login
from tests.protocol_factory import accompaniment_1_3_0
from tests.test_offline import ready

pytestmark = pytest.mark.browser
SWA = "social-worker-accompaniment"


def test_trainer_uploads_compares_publishes_and_prints(context, live_server, tmp_path):
    source = tmp_path / "1.3.0.yaml"
    source.write_text(accompaniment_1_3_0(), encoding="utf-8")
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 800})
    browser_login(page, live_server, "trainer")
    page.goto(f"{live_server}/protocols")
    ready(page)  # as a person would: the page's scripts (the phone's lock among them) have settled
    page.click("text=Upload a new version")
    ready(page)
    page.set_input_files("input[type=file]", str(source))
    page.click("text=Check and preview")
    ready(page)
    page.select_option("#against", "1.1.0")
    page.click("form.compare-form button")
    assert page.locator("#comparison").inner_text() == "Compared with 1.1.0"
    changed = page.locator("#changed-arrival-time")
    # Screen readers hear "[removed: …]" and "[added: …]"; the visible text is struck through or underlined.
    assert changed.locator("del").inner_text().split() == ["[removed:", "NGO", "team", "arrive", "]"]
    assert changed.locator("ins").inner_text().split() == ["[added:", "social", "worker", "reach", "the", "venue", "]"]
    assert page.locator("#added-water-and-food-offered").is_visible()
    assert page.locator("#make_current").is_checked()
    page.click("text=Publish 1.3.0")
    assert page.url.endswith(f"/protocols/{SWA}/1.3.0")
    assert "current" in page.locator("main .tag").first.inner_text()
    with page.expect_download() as download:
        page.click("text=Original YAML")
    assert download.value.path().read_text("utf-8") == accompaniment_1_3_0()
    response = page.request.get(f"{live_server}/protocols/{SWA}/1.3.0/handout.pdf")
    assert response.headers["content-type"] == "application/pdf" and response.body().startswith(b"%PDF")

    reader = context.browser.new_context().new_page()
    browser_login(reader, live_server, "acc")
    reader.goto(f"{live_server}/protocols")
    assert "1 version was published since your last visit." in reader.locator("main").inner_text()
    reader.click(f"main .notice a[href='/protocols/{SWA}/1.3.0']")
    assert reader.locator("h1").inner_text().startswith("Social-worker accompaniment")
