"""Distribution: share page with a QR code, handout and "what changed" PDFs, the original YAML; and the
"done when" scenario of issue 6 from upload to an accompanier's next run."""
from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import csrf_from, login
from tests.protocol_factory import accompaniment_1_3_0
from tests.test_trainer_pages import SWA, check, publish, signed_in


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def words(text: str) -> str:
    """Collapse whitespace so wrapped lines in a PDF compare equal to the source text."""
    return " ".join(text.split())


def test_share_page_has_a_server_made_qr_code_of_the_version_link(app, users):
    client = signed_in(app, "acc")
    page = client.get(f"/protocols/{SWA}/1.1.0/share").get_data(as_text=True)
    assert f"http://localhost/protocols/{SWA}/1.1.0" in page
    assert f'src="/protocols/{SWA}/1.1.0/qr.svg"' in page
    svg = client.get(f"/protocols/{SWA}/1.1.0/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data and b"<path" in svg.data
    assert client.get(f"/protocols/{SWA}/9.9.9/share").status_code == 404


def test_qr_code_decodes_to_the_version_link(app, users, tmp_path):
    import segno

    # Same content as the server made: segno is deterministic for one text and error level.
    expected = segno.make(f"http://localhost/protocols/{SWA}/1.1.0", error="m")
    svg = signed_in(app, "acc").get(f"/protocols/{SWA}/1.1.0/qr.svg").data
    out = tmp_path / "expected.svg"
    expected.save(str(out), kind="svg", scale=8, border=4, xmldecl=True, title=f"{SWA} 1.1.0")
    assert svg == out.read_bytes()


def test_handout_pdf_has_every_step_with_guidance_and_sources(app, users, tmp_path):
    protocol = app.extensions["donoharm.registry"].get(SWA, "1.1.0")
    response = signed_in(app, "acc").get(f"/protocols/{SWA}/1.1.0/handout.pdf")
    assert response.mimetype == "application/pdf"
    text = words(pdf_text(response.data, tmp_path))
    assert words(protocol.title) in text and "1.1.0" in text
    for step in protocol.steps:
        assert words(step.text) in text, step.id
        if step.guidance:
            assert words(step.guidance)[:60] in text, step.id
    for key in protocol.sources:
        assert key in text


def test_what_changed_pdf_lists_changes_and_every_step(app, users, tmp_path):
    registry = app.extensions["donoharm.registry"]
    new = registry.get(SWA, "1.1.0")
    response = signed_in(app, "acc").get(f"/protocols/{SWA}/changes.pdf?from=1.0.0&to=1.1.0")
    assert response.mimetype == "application/pdf"
    text = words(pdf_text(response.data, tmp_path))
    assert "What changed from 1.0.0 to 1.1.0" in text
    assert "Added steps" in text and "Changed steps" in text
    for step in new.steps:
        assert words(step.text) in text, step.id


def test_original_yaml_is_exported_unchanged(app, users):
    client = signed_in(app, "trainer")
    shipped = (Path(app.config["PROTOCOLS_DIR"]) / SWA / "1.1.0.yaml").read_text("utf-8")
    assert client.get(f"/protocols/{SWA}/1.1.0/source.yaml").get_data(as_text=True) == shipped
    uploaded = accompaniment_1_3_0() + "# a trainer's comment is kept too\n"
    publish(client, uploaded)
    exported = client.get(f"/protocols/{SWA}/1.3.0/source.yaml")
    assert exported.get_data(as_text=True) == uploaded
    assert "attachment" in exported.headers["Content-Disposition"]


def test_done_when_trainer_publishes_1_3_0_and_the_next_run_uses_it(app, users, api, tmp_path):
    accompanier = api("acc")
    older_run = accompanier.start_run(SWA, "1.1.0", label="OP-TEST-001")
    older_sha = accompanier.get(f"/api/v1/runs/{older_run}").get_json()["run"]["protocol_sha256"]

    trainer = signed_in(app, "trainer")
    # Sees the redline against 1.1.0 before publishing, and on the compare page after.
    preview = check(trainer, accompaniment_1_3_0(), against="1.1.0").get_data(as_text=True)
    assert "Check social-worker-accompaniment 1.3.0 before publishing" in preview
    assert "Compared with 1.1.0" in preview
    assert "NGO team arrive</del>" in preview.replace('<span class="visually-hidden">]</span>', "")
    assert 'id="added-water-and-food-offered"' in preview
    assert publish(trainer, accompaniment_1_3_0()).status_code == 302
    compare = trainer.get(f"/protocols/{SWA}/compare?from=1.1.0&to=1.3.0").get_data(as_text=True)
    assert "NGO team arrive" in compare and "social worker reach the venue" in compare
    assert 'id="added-water-and-food-offered"' in compare
    handout = words(pdf_text(trainer.get(f"/protocols/{SWA}/1.3.0/handout.pdf").data, tmp_path))
    assert "Were water and food offered to everyone found?" in handout

    # The accompanier's next run defaults to the current version, 1.3.0 ...
    registry = app.extensions["donoharm.registry"]
    assert registry.current(SWA).version == "1.3.0"
    listed = {(p["id"], p["version"]): p["status"] for p in accompanier.get("/api/v1/protocols").get_json()}
    assert listed[(SWA, "1.3.0")] == "current"
    next_run = accompanier.start_run(SWA, "1.3.0", label="OP-TEST-002")
    assert accompanier.get(f"/api/v1/runs/{next_run}").get_json()["run"]["protocol_version"] == "1.3.0"
    # ... while the older run still shows 1.1.0 with its pinned hash, and still takes events.
    older = accompanier.get(f"/api/v1/runs/{older_run}").get_json()
    assert (older["run"]["protocol_version"], older["run"]["protocol_sha256"]) == ("1.1.0", older_sha)
    assert "water-and-food-offered" not in older["state"]["steps"]


def test_retired_version_starts_no_runs_but_started_runs_continue(app, users, api):
    from tests.conftest import event

    accompanier = api("acc")
    started = accompanier.start_run(SWA, "1.0.0")
    trainer = app.test_client()
    login(trainer, "trainer")
    token = csrf_from(trainer, f"/protocols/{SWA}/1.0.0")
    assert trainer.post(f"/protocols/{SWA}/1.0.0/retire", data={"csrf_token": token}).status_code == 302
    refused = accompanier.put("/api/v1/runs/6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d01", json={
        "protocol_id": SWA, "protocol_version": "1.0.0", "label": "OP-TEST-003"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "retired_protocol"
    sent = accompanier.send(started, event("step.set", "arrival-time", "21:30"))
    assert sent.status_code == 200, sent.get_json()


def test_run_started_offline_before_its_version_was_retired_is_still_accepted(app, users, api):
    accompanier = api("acc")
    trainer = app.test_client()
    login(trainer, "trainer")
    # The phone started the run with no signal; the trainer retired the version before it came back.
    started_on_phone = "2026-01-10T21:00:00Z"
    token = csrf_from(trainer, f"/protocols/{SWA}/1.0.0")
    assert trainer.post(f"/protocols/{SWA}/1.0.0/retire", data={"csrf_token": token}).status_code == 302
    run_id = "6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d02"
    sent = accompanier.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": SWA, "protocol_version": "1.0.0", "label": "OP-TEST-004", "created_at": started_on_phone})
    assert sent.status_code == 201, sent.get_json()
    run = accompanier.get(f"/api/v1/runs/{run_id}").get_json()["run"]
    assert (run["protocol_version"], run["created_at"]) == ("1.0.0", started_on_phone)
    # Within the span the server accepts (at most a day ahead of its clock), and after the retirement.
    after = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    # Started after the retirement, but from a start form the phone saved before it: the phone could not know.
    chosen_earlier = accompanier.put("/api/v1/runs/6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d04", json={
        "protocol_id": SWA, "protocol_version": "1.0.0", "label": "OP-TEST-006", "created_at": after,
        "versions_listed_at": started_on_phone})
    assert chosen_earlier.status_code == 201, chosen_earlier.get_json()
    # A start claimed after the retirement, from a list made after it: a new run on a retired version, refused.
    for listed in ({}, {"versions_listed_at": after}):
        later = accompanier.put("/api/v1/runs/6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d03", json={
            "protocol_id": SWA, "protocol_version": "1.0.0", "label": "OP-TEST-005",
            "created_at": after, **listed})
        assert later.status_code == 422 and later.get_json()["error"]["code"] == "retired_protocol"
    for key in ("created_at", "versions_listed_at"):  # a time that is not one is named, and nothing is created
        garbled = accompanier.put("/api/v1/runs/6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d05", json={
            "protocol_id": SWA, "protocol_version": "1.1.0", "label": "OP-TEST-007", key: "yesterday"})
        assert garbled.status_code == 422 and key in garbled.get_json()["error"]["message"]
    assert accompanier.get("/api/v1/runs/6f1c1f4e-8d7b-4c55-9a55-2b4b7b8c9d05").status_code == 404


def test_uploaded_file_with_windows_line_ends_is_exported_byte_for_byte(app, users):
    import re

    client = signed_in(app, "trainer")
    text = accompaniment_1_3_0().replace("\n", "\r\n")
    page = check(client, file=text).get_data(as_text=True)
    form = page.split('action="/protocols/new/publish">')[1].split("</form>")[0]
    data = dict(re.findall(r'<input id="(csrf_token|payload)" name="[^"]+" type="hidden" value="([^"]*)"', form))
    assert client.post("/protocols/new/publish", data=data).status_code == 302
    exported = client.get(f"/protocols/{SWA}/1.3.0/source.yaml").data
    assert exported == text.encode("utf-8")
