"""/verify tells a non-technical reader in one sentence whether to trust a file (issue 21), then what it is.

A genuine record shows its operation label, protocol, status and profile; a broken one a single plain verdict
first, and no detail line that contradicts it; the JSON API says the same with added fields."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from donoharm.pdf import html_to_pdf

from .conftest import Api, event
from .test_records import flipped, submitted_run, verify_api, verify_page


def verdict_section(page: str) -> str:
    """The verdict part of the /verify page, as HTML."""
    match = re.search(r'<section[^>]*id="verdict"[^>]*>(.*?)</section>', page, re.S)
    assert match, page
    return match.group(1)


def first_thing(section: str) -> str:
    """The first element in the verdict section, as its text."""
    match = re.match(r"\s*<(\w+)[^>]*>(.*?)</\1>", section, re.S)
    assert match, section[:300]
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(2))).split())


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_genuine_record_shows_its_label_protocol_status_and_profile(signed_app, api):
    acc, run_id, protocol = submitted_run(signed_app, api, label="OP-TEST-042")
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    page = verify_page(signed_app, data)
    assert page.status_code == 200
    section = verdict_section(page.get_data(as_text=True))
    assert first_thing(section).startswith("This is a genuine record")
    shown = text_of(section)
    assert "Operation label OP-TEST-042" in shown
    assert f"{protocol.title} — {protocol.id} version {protocol.version}" in shown
    assert "Status when this record was issued Submitted, waiting for review" in shown
    assert "Profile: internal" in shown

    verdict = verify_api(signed_app, data).get_json()
    assert verdict["valid"] is True and verdict["verdict"] == "genuine"
    assert verdict["summary"].startswith("This is a genuine record")
    assert (verdict["label"], verdict["protocol_id"], verdict["protocol_version"], verdict["protocol_title"],
            verdict["run_status"], verdict["mode"]) == ("OP-TEST-042", protocol.id, protocol.version,
                                                        protocol.title, "submitted", "live")
    for kept in ("signer", "signed_at", "run_id", "matches_record", "problems", "signatures_intact",
                 "signed_by_organisation", "unmodified_since_signing", "profile"):
        assert kept in verdict  # nothing the API answered before is gone


def test_a_flipped_byte_gets_one_verdict_first_and_no_contradiction(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    bad = flipped(acc.get(f"/runs/{run_id}/record.pdf").data)
    page = verify_page(signed_app, bad)
    assert page.status_code == 422
    section = verdict_section(page.get_data(as_text=True))
    assert first_thing(section) == "This file was changed after it was signed."
    shown = text_of(section)
    assert "Signatures intact: no" in shown
    # Once the signature does not match, who made it and what came after are unknown: neither is claimed.
    assert "Signed with this organisation" not in shown and "Nothing added after signing" not in shown
    assert "OP-TEST-001" not in shown  # what a changed file says about itself is not shown as fact

    verdict = verify_api(signed_app, bad).get_json()
    assert verdict["verdict"] == "changed" and verdict["summary"] == "This file was changed after it was signed."
    assert verdict["signatures_intact"] is False and verdict["unmodified_since_signing"] is False


def test_a_pdf_not_from_the_app_is_said_to_be_so(signed_app):
    page = verify_page(signed_app, html_to_pdf("<p>SYNTHETIC letter, not a record</p>"), "letter.pdf")
    assert page.status_code == 422
    section = verdict_section(page.get_data(as_text=True))
    assert first_thing(section) == "This is not a record from this app."
    assert "Signatures intact" not in text_of(section)  # there is no signature to speak of
    verdict = verify_api(signed_app, html_to_pdf("<p>SYNTHETIC</p>")).get_json()
    assert verdict["valid"] is False and verdict["verdict"] == "not_a_record"


def test_a_record_superseded_by_a_redaction_says_so_first(signed_app, users):
    from .test_redaction import _records, _redact, _submitted_run

    acc, sup = Api(signed_app, "acc"), Api(signed_app, "sup")
    run_id, note = _submitted_run(signed_app, acc)
    earlier = _records(signed_app, run_id)[0]
    data = (Path(signed_app.instance_path) / earlier["path"]).read_bytes()
    assert _redact(sup, run_id, note["id"]).status_code == 201
    page = verify_page(signed_app, data)
    section = verdict_section(page.get_data(as_text=True))
    assert first_thing(section) == ("This record was superseded by a redaction: it is genuine, but destroy copies "
                                    "of this file.")
    assert "Operation label OP-TEST-001" in text_of(section)
    verdict = verify_api(signed_app, data).get_json()
    assert verdict["valid"] is True and verdict["verdict"] == "superseded_by_redaction"


def test_a_record_with_a_newer_one_is_genuine_but_superseded(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    first = acc.get(f"/runs/{run_id}/record.pdf").data
    assert api("sup").send(run_id, event("review.returned", note="Add the time")).status_code == 200
    acc.get(f"/runs/{run_id}/record.pdf")  # the record issued on return
    section = verdict_section(verify_page(signed_app, first).get_data(as_text=True))
    assert first_thing(section).startswith("This is a genuine record, but the run has a newer one")
    assert verify_api(signed_app, first).get_json()["verdict"] == "superseded"


def test_the_command_line_says_the_verdict_first(signed_app, api, tmp_path):
    acc, run_id, _ = submitted_run(signed_app, api)
    path = tmp_path / "changed.pdf"
    path.write_bytes(flipped(acc.get(f"/runs/{run_id}/record.pdf").data))
    result = signed_app.test_cli_runner().invoke(args=["records", "verify", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].endswith("NOT VALID") and lines[1].strip() == "This file was changed after it was signed."
    assert "yes  nothing added after signing" not in result.output
