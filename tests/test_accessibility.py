"""WCAG 2.2 AA in a real browser: axe-core on every page for each role in English and Khmer, plus what axe
cannot see: reflow at 320 px, target sizes, visible focus, reduced motion and announced step statuses."""
from __future__ import annotations

import pytest

from tests.browser import ROLE_USERS, axe_violations, describe, is_html_page, page_paths, sign_in, site

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with site(tmp_path_factory.mktemp("a11y") / "instance") as value:
        yield value


def visit_every_page(browser, served, role, language, width=360, **context_args):
    """Yield (path, page) for every HTML page the role can reach, in the language, at the width."""
    app, base, sample = served
    context = browser.new_context(locale=language, viewport={"width": width, "height": 800}, **context_args)
    page = context.new_page()
    if role:
        sign_in(page, base, ROLE_USERS[role])
    seen = set()
    try:
        for path in page_paths(app, sample):
            if not is_html_page(page, base + path):
                continue
            response = page.goto(base + path)
            if page.url in seen:  # e.g. every private page redirecting an anonymous visitor to /login
                continue
            seen.add(page.url)
            yield f"{path} ({response.status})", page
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "km"])
@pytest.mark.parametrize("role", [None, *ROLE_USERS])
def test_every_page_passes_axe(browser, served, role, language):
    problems, checked = {}, []
    for path, page in visit_every_page(browser, served, role, language):
        assert page.locator("html").get_attribute("lang") == language, path
        checked.append(path)
        violations = axe_violations(page)
        if violations:
            problems[path] = describe(violations)
    assert len(checked) >= (4 if role is None else 8), checked
    assert not problems, "\n".join(f"{path}\n{text}" for path, text in problems.items())


TARGETS = """() => {
  const small = [];
  const selector = 'button, select, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), '
    + 'textarea, summary, nav a, .button, .actions a';
  for (const el of document.querySelectorAll(selector)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;            // not shown (closed details, hidden)
    if (el.closest('.visually-hidden, .skip-link, .skip-link-inline')) continue;  // shown only on focus, then large
    if (r.height < 43.5 || r.width < 43.5) small.push(el.outerHTML.slice(0, 90) + ` ${r.width}x${r.height}`);
  }
  // A link that stands alone (its block holds nothing else) is a target of its own, unlike a link in a sentence.
  for (const el of document.querySelectorAll('main a')) {
    const r = el.getBoundingClientRect();
    if (!r.height || el.closest('.visually-hidden, .skip-link-inline, table')) continue;
    if (el.parentElement.textContent.trim() !== el.textContent.trim()) continue;
    if (r.height < 43.5) small.push(el.outerHTML.slice(0, 90) + ` ${r.width}x${r.height}`);
  }
  for (const el of document.querySelectorAll('input[type=radio], input[type=checkbox]')) {
    const row = el.closest('.choice') || el.parentElement;     // the label beside it is part of the target
    const r = row.getBoundingClientRect();
    if (r.height && r.height < 43.5) small.push(row.outerHTML.slice(0, 90) + ` ${r.width}x${r.height}`);
  }
  return small;
}"""


@pytest.mark.parametrize("role", ["accompanier", "supervisor", "trainer", "admin"])
def test_reflows_at_320_px_with_large_targets(browser, served, role):
    """320 CSS px is also what a 1280 px screen shows at 400 % zoom (WCAG 1.4.10), and 200 % on a 640 px one."""
    problems = {}
    for path, page in visit_every_page(browser, served, role, "km", width=320):
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        small = page.evaluate(TARGETS)
        if wide > 320 or small:
            problems[path] = f"page width {wide}px; small targets: {small[:5]}"
    assert not problems, "\n".join(f"{path}: {text}" for path, text in problems.items())


FOCUS_RING = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || el.value || '').trim().slice(0, 40),
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          shadow: s.boxShadow !== 'none'};
}"""


@pytest.mark.parametrize("path", ["/login", "/", "/account", "/runs/{open}"])
def test_keyboard_focus_is_always_visible(browser, served, path):
    app, base, sample = served
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    if path != "/login":
        sign_in(page, base, "acc")
    page.goto(base + path.format(open=sample["open"]))
    seen = []
    for _ in range(25):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_RING)
        if focus["tag"] == "BODY":
            break
        seen.append(focus)
        assert focus["outline"] or focus["shadow"], focus
    context.close()
    assert len(seen) >= 3, seen  # the page can be worked through with the keyboard
    assert seen[0]["tag"] == "A" and "main content" in seen[0]["text"].lower()  # skip link first


MOVING = """() => [...document.querySelectorAll('*')].filter(el => {
  const s = getComputedStyle(el);
  const longest = v => Math.max(...v.split(',').map(parseFloat));
  return longest(s.transitionDuration) > 0.01 || (s.animationName !== 'none' && longest(s.animationDuration) > 0.01)
    || s.scrollBehavior === 'smooth';
}).map(el => el.tagName + '.' + el.className)"""


def test_reduced_motion_is_respected(browser, served):
    app, base, sample = served
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    sign_in(page, base, "acc")
    for path in ["/", f"/runs/{sample['open']}", "/protocols", "/account"]:
        page.goto(base + path)
        assert page.evaluate(MOVING) == [], path
    context.close()


def test_step_statuses_are_announced(browser, served):
    """The run's task list: each step's status is read with the step, and a change is announced."""
    app, base, sample = served
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    sign_in(page, base, "acc")
    page.goto(f"{base}/runs/{sample['open']}")
    steps = page.locator("li.run-step")
    assert steps.count() > 10
    for i in range(steps.count()):
        snapshot = steps.nth(i).aria_snapshot()
        assert "Status:" in snapshot and any(w in snapshot for w in ("To do", "Done", "Not applicable")), snapshot
    assert page.locator("[role=status][aria-live=polite], [aria-live=polite]").count() >= 1
    context.close()
