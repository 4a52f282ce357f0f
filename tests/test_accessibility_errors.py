"""One error pattern on every form: a summary at the top linking to each field, "Error:" first in the title,
each field aria-invalid with its message in aria-describedby; identity fields carry autocomplete."""
from __future__ import annotations

import re

import pytest

from tests.conftest import attestation, complete_answers, csrf_from, event, login


def summary_of(html: str) -> list[str]:
    """The field ids the error summary links to (and checks there is exactly one summary, as an alert)."""
    summaries = re.findall(r'<div class="notice notice-error error-summary" role="alert" tabindex="-1" '
                           r'id="error-summary">(.*?)</div>', html, re.S)
    assert len(summaries) == 1, "no error summary"
    return re.findall(r'<a href="#([^"]+)">', summaries[0])


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def field_tag(html: str, field_id: str) -> str:
    return re.search(rf'<(?:input|textarea|select|fieldset)[^>]*\bid="{field_id}"[^>]*>', html).group(0)


def assert_one_error_pattern(html: str, field_id: str) -> None:
    assert field_id in summary_of(html)
    assert title_of(html).startswith("Error:")
    tag = field_tag(html, field_id)
    assert 'aria-invalid="true"' in tag
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
    assert f"{field_id}-error" in described
    assert f'id="{field_id}-error"' in html


def submitted(app, api):
    acc = api("acc")
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    assert acc.send(run_id, *complete_answers(protocol), attestation(name="Test Accompanier")).status_code == 200
    return acc, run_id


def test_start_form(client, users):
    login(client, "acc")
    html = client.post("/runs/new", data={"csrf_token": csrf_from(client, "/runs/new"), "label": "",
                                          "protocol": "immigration-separation@1.0.0", "mode": "live",
                                          "language": "en"}).get_data(as_text=True)
    assert_one_error_pattern(html, "label")


def test_check_page(client, app, api):
    acc = api("acc")
    protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    run_id = acc.start_run()
    acc.send(run_id, *complete_answers(protocol))
    login(client, "acc")
    html = client.post(f"/runs/{run_id}/submit", data={"csrf_token": csrf_from(client, f"/runs/{run_id}/check"),
                                                         "name": ""}).get_data(as_text=True)
    assert_one_error_pattern(html, "name")
    assert "confirmed" in summary_of(html)
    confirm = field_tag(html, "confirmed")
    assert 'aria-invalid="true"' in confirm and "confirmed-error" in confirm


def test_review_return(client, app, api):
    from tests.test_review import page_return

    _acc, run_id = submitted(app, api)
    login(client, "sup")
    html = page_return(client, run_id, " ").get_data(as_text=True)
    assert_one_error_pattern(html, "return-comment")


def test_sign_in(client, users):
    html = client.post("/login", data={"csrf_token": csrf_from(client, "/login"), "username": "acc",
                                       "password": "not the password"}).get_data(as_text=True)
    assert_one_error_pattern(html, "password")


def test_protocol_upload_marks_the_yaml_field_invalid(client, users):
    login(client, "trainer")
    html = client.post("/protocols/new", data={"csrf_token": csrf_from(client, "/protocols/new"),
                                               "text": "id: [unclosed"}).get_data(as_text=True)
    assert_one_error_pattern(html, "text")


def test_a_page_without_errors_has_no_summary_and_a_plain_title(client, users):
    login(client, "acc")
    html = client.get("/runs/new").get_data(as_text=True)
    assert 'id="error-summary"' not in html and not title_of(html).startswith("Error:")


@pytest.mark.parametrize("path, field, token", [
    ("/login", "username", "username"), ("/login", "password", "current-password"),
])
def test_sign_in_fields_carry_autocomplete(client, users, path, field, token):
    assert f'autocomplete="{token}"' in field_tag(client.get(path).get_data(as_text=True), field)


def test_new_passwords_and_the_full_name_carry_autocomplete(client, app, api):
    login(client, "admin")
    html = client.get("/account").get_data(as_text=True)  # people choose their own passwords (issue 19)
    assert 'autocomplete="new-password"' in field_tag(html, "password")
    assert 'autocomplete="new-password"' in field_tag(html, "confirm")
    acc = api("acc")
    run_id = acc.start_run()
    acc.send(run_id, *complete_answers(app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")))
    assert 'autocomplete="name"' in field_tag(acc.get(f"/runs/{run_id}/check").get_data(as_text=True), "name")


def test_after_a_return_the_attested_name_is_filled_in(app, api):
    acc, run_id = submitted(app, api)
    assert api("sup").send(run_id, event("review.returned", note="Add the time of the handover.")).status_code == 200
    html = acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    assert 'value="Test Accompanier"' in field_tag(html, "name")
