"""Issue 19 in a real browser on a 360-pixel phone screen: an administrator invites a supervisor, who opens the
link, chooses a password, sets up two-step sign-in by the QR code's key, keeps the recovery codes and signs in
again with a code. Screenshots are kept in /tmp/shots-accounts/ for a person to look at."""
from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest

from tests.browser import axe_violations, describe, unlock_phone
from tests.conftest import browser_login

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots-accounts")
PASSWORD = "harbour violet seventeen"


def fits(page) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, page.url


def clean(page) -> None:
    violations = axe_violations(page)
    assert not violations, describe(violations)


def code_now(secret: str) -> str:
    # Not in the last seconds of a step: the code typed is still the current one when the server checks it.
    while time.time() % 30 > 27:
        time.sleep(0.5)
    return pyotp.TOTP(secret).now()


def test_an_invited_supervisor_sets_a_password_and_two_step_sign_in_on_a_phone(app, context, live_server):
    SHOTS.mkdir(exist_ok=True)
    admin = context.new_page()
    admin.set_viewport_size({"width": 360, "height": 800})
    browser_login(admin, live_server, "admin")
    admin.goto(f"{live_server}/admin/users")
    admin.fill("#username", "nadia")
    admin.fill("#full_name", "Nadia Okafor")
    admin.select_option("#role", "supervisor")
    admin.click("#invite-form button[type=submit]")
    assert admin.locator("h1").inner_text() == "Invitation link for nadia"
    qr = admin.locator("figure.link-qr img")
    assert qr.get_attribute("src").startswith("data:image/svg+xml") and qr.evaluate("i => i.naturalWidth") > 0
    fits(admin)
    admin.screenshot(path=str(SHOTS / "1-admin-invitation-link.png"), full_page=True)
    link = admin.input_value("#one-time-link")
    assert "/invitation?token=" in link
    app.config["REQUIRE_2FA"] = "reviewers"  # supervisors must set up two-step sign-in from here on

    phone_context = context.browser.new_context(viewport={"width": 360, "height": 740})
    phone = phone_context.new_page()
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "Choose your password"
    fits(phone)
    clean(phone)
    phone.screenshot(path=str(SHOTS / "2-invitation.png"), full_page=True)
    phone.fill("#password", PASSWORD)
    phone.fill("#confirm", "not the same password")
    phone.click("main button[type=submit]")
    assert "The passwords do not match." in phone.locator("#error-summary").inner_text()
    assert phone.title().startswith("Error:")
    phone.screenshot(path=str(SHOTS / "3-invitation-error.png"), full_page=True)
    phone.fill("#password", PASSWORD)
    phone.fill("#confirm", PASSWORD)
    phone.click("main button[type=submit]")
    phone.wait_for_url("**/account/two-factor")
    unlock_phone(phone)  # signed in on this phone for the first time: the phone's PIN first
    assert phone.locator("h1").inner_text() == "Set up two-step sign-in"
    img = phone.locator("figure.enrol-qr img")
    assert img.evaluate("i => i.naturalWidth") > 0 and img.bounding_box()["width"] <= 360
    fits(phone)
    clean(phone)
    phone.screenshot(path=str(SHOTS / "4-enrolment.png"), full_page=True)
    secret = phone.locator("#totp-key").inner_text().replace(" ", "")
    phone.fill("#code", code_now(secret))
    phone.click("main button[type=submit]")
    assert phone.locator("h1").inner_text() == "Your recovery codes"
    codes = phone.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    fits(phone)
    clean(phone)
    phone.screenshot(path=str(SHOTS / "5-recovery-codes.png"), full_page=True)
    phone.click("text=I have kept my recovery codes")
    phone.goto(f"{live_server}/review")
    assert phone.url.endswith("/review")

    # Signing in again on another phone: the password, then the code page.
    second = context.browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    second.goto(f"{live_server}/login")
    second.fill("input[name=username]", "nadia")
    second.fill("input[name=password]", PASSWORD)
    second.click("main button[type=submit]")
    second.wait_for_url("**/login/code")
    fits(second)
    clean(second)
    second.screenshot(path=str(SHOTS / "6-sign-in-code.png"), full_page=True)
    second.fill("#code", codes[0])
    second.click("main button[type=submit]")
    second.wait_for_url(lambda url: "/login" not in url)
    unlock_phone(second)
    assert "You signed in with a recovery code" in second.locator("main").inner_text()
    second.goto(f"{live_server}/account")
    assert "9 recovery codes are left." in second.locator("main").inner_text()
    fits(second)
    second.screenshot(path=str(SHOTS / "7-account.png"), full_page=True)
    phone_context.close()

    # The administrator's pages at the phone's width: the users with their sign-in, and the account log.
    app.config["REQUIRE_2FA"] = "none"  # this administrator has not set up a second factor
    admin.goto(f"{live_server}/admin/users")
    assert "Two-step sign-in on" in admin.locator("main").inner_text()
    fits(admin)
    clean(admin)
    admin.screenshot(path=str(SHOTS / "8-admin-users.png"), full_page=True)
    admin.goto(f"{live_server}/admin/account-log")
    assert "Signed in with a recovery code" in admin.locator("main").inner_text()
    fits(admin)
    clean(admin)
    admin.screenshot(path=str(SHOTS / "9-account-log.png"), full_page=True)
