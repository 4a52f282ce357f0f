"""A new user in a real browser: chooses Khmer, starts a run, and works in Khmer with the bundled font."""
from __future__ import annotations

import re

import pytest

from tests.browser import sign_in, site

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with site(tmp_path_factory.mktemp("i18n-browser") / "instance") as value:
        yield value


def test_choose_khmer_then_start_a_run_in_khmer(browser, served):
    app, base, _ = served
    protocol = app.extensions["donoharm.registry"].get("social-worker-accompaniment", "1.1.1").in_language("km")
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    sign_in(page, base, "acc")
    page.get_by_role("link", name="Your account").click()  # the language is set on the account page
    page.get_by_label("ខ្មែរ").check()
    page.get_by_role("button", name="Save language").click()
    assert page.locator("html").get_attribute("lang") == "km"
    assert page.get_by_role("status").first.inner_text().startswith("បានរក្សាទុកភាសា")  # said in Khmer already

    page.goto(f"{base}/runs/new")
    assert page.locator("select[name=language]").input_value() == "km"  # the saved choice is the default
    page.select_option("select[name=protocol]", "social-worker-accompaniment@1.1.1")
    page.fill("input[name=label]", "OP-TEST-009")
    page.locator("main form button[type=submit]").click()
    # Online, the run is created on the server at once and opens at its own address.
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    page.wait_for_selector("html[data-app=ready]", state="attached")
    page.get_by_role("heading", name=f"1. {protocol.phases[0].title}").wait_for()
    assert page.get_by_text(protocol.steps[0].text).count() >= 1
    family = page.evaluate("() => getComputedStyle(document.querySelector('.step-text')).fontFamily")
    assert "Noto Sans Khmer" in family
    assert page.evaluate("""async () => { await document.fonts.ready;
        return [...document.fonts].some(f => f.family.includes('Khmer') && f.status === 'loaded'); }""")
    context.close()
