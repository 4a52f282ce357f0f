"""Signed audit records: issued on status changes, readable, signed, verifiable, and tamper-evident."""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText

from donoharm.records.signing import generate_keys
from donoharm.services.library import get_registry

from .conftest import attestation, complete_answers

PROTOCOLS = Path(__file__).resolve().parent.parent / "protocols"
SHIPPED = sorted((path.parent.name, path.stem) for path in PROTOCOLS.glob("*/*.yaml"))


def submitted_run(app, api, protocol_id="immigration-separation", version="1.0.0", mode="live",
                  label="OP-TEST-001"):
    acc = api("acc")
    run_id = acc.start_run(protocol_id, version, label=label, mode=mode)
    with app.app_context():
        protocol = get_registry().get(protocol_id, version)
    response = acc.send(run_id, *complete_answers(protocol), attestation())
    assert response.status_code == 200, response.get_json()
    return acc, run_id, protocol


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def attachment(data: bytes) -> dict:
    return json.loads(PdfReader(io.BytesIO(data)).attachments["audit-record.json"][0])


def verify_api(app, data: bytes):
    return app.test_client().post("/api/v1/verify", data=data, content_type="application/pdf")


def flipped(data: bytes) -> bytes:
    """The PDF with one byte changed inside the signed page content (not in the signature itself)."""
    position = data.index(b"stream\n", len(data) // 4) + 40
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:]


def annotated(data: bytes) -> bytes:
    """The PDF with an annotation added after signing, as an incremental update (signature bytes untouched)."""
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.add_annotation(0, FreeText(text="changed", rect=(50, 50, 200, 100)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("protocol_id,version", SHIPPED)
def test_each_shipped_protocol_gets_a_signed_verifiable_record(signed_app, api, tmp_path, protocol_id, version):
    acc, run_id, protocol = submitted_run(signed_app, api, protocol_id, version)
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    data = response.data
    text = pdf_text(data, tmp_path)
    for expected in ("OP-TEST-001", protocol.id, protocol.version, protocol.sha256, "Test Organisation"):
        assert expected in text.replace("\n", " ") or expected in text.replace(" ", "").replace("\n", "")
    assert "page 1 of" in text
    verdict = verify_api(signed_app, data).get_json()
    assert verdict["valid"] is True, verdict
    assert verdict["run_id"] == run_id and verdict["matches_record"] is True


def test_embedded_json_is_the_api_representation(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    document = acc.get(f"/api/v1/runs/{run_id}").get_json()
    record = document.pop("record")["latest"]
    assert record["status"] == "submitted"  # the record cannot embed its own status
    embedded = attachment(data)
    # Beside the API document, the internal record names its shareable profile (tests/test_records_profiles.py).
    assert embedded.pop("disclosure")["profile"] == "internal"
    assert embedded == document


def test_answers_show_as_words(signed_app, api, tmp_path):
    acc, run_id, protocol = submitted_run(signed_app, api, "social-worker-accompaniment", "1.1.0")
    text = pdf_text(acc.get(f"/runs/{run_id}/record.pdf").data, tmp_path)
    choice = next(s for s in protocol.steps if s.kind == "choice")
    assert choice.options[0].label.split()[0] in text
    if any(s.kind == "yesno" for s in protocol.steps):
        assert "Yes" in text


def test_practice_record_is_marked_on_every_page(signed_app, api, tmp_path):
    acc, run_id, _ = submitted_run(signed_app, api, mode="practice")
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    pages = pdf_text(data, tmp_path).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    assert all("PRACTICE" in page for page in pages)


def test_live_record_is_not_marked_practice(signed_app, api, tmp_path):
    acc, run_id, _ = submitted_run(signed_app, api)
    assert "PRACTICE" not in pdf_text(acc.get(f"/runs/{run_id}/record.pdf").data, tmp_path)


@pytest.mark.parametrize("tamper", [flipped, annotated], ids=["flipped-byte", "annotation-after-signing"])
def test_tampering_fails_api_cli_and_page(signed_app, api, tmp_path, tamper):
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    bad = tamper(data)
    assert bad != data
    verdict = verify_api(signed_app, bad)
    assert verdict.status_code == 200
    assert verdict.get_json()["valid"] is False and verdict.get_json()["problems"]
    if tamper is annotated:  # the digest of the signed revision still matches: only the analysis sees it
        assert verdict.get_json()["signatures_intact"] is True
        assert verdict.get_json()["unmodified_since_signing"] is False
    path = tmp_path / "bad.pdf"
    path.write_bytes(bad)
    result = signed_app.test_cli_runner().invoke(args=["records", "verify", str(path)])
    assert result.exit_code == 1 and "NOT VALID" in result.output
    good = tmp_path / "good.pdf"
    good.write_bytes(data)
    result = signed_app.test_cli_runner().invoke(args=["records", "verify", str(good)])
    assert result.exit_code == 0 and "VALID" in result.output, result.output
    page = verify_page(signed_app, bad)
    verdict_first = {flipped: "This file was changed after it was signed.",
                     annotated: "Something was added to this file after it was signed."}[tamper]
    assert page.status_code == 422 and verdict_first in page.get_data(as_text=True)
    page = verify_page(signed_app, data)
    assert page.status_code == 200 and "This is a genuine record" in page.get_data(as_text=True)


def verify_page(app, data: bytes, filename="record.pdf"):
    from .conftest import csrf_from

    client = app.test_client()
    token = csrf_from(client, "/verify")
    return client.post("/verify", data={"csrf_token": token, "pdf": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_tampered_embedded_json_is_caught(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.add_attachment("audit-record.json", b'{"run": {"id": "forged"}}')
    out = io.BytesIO()
    writer.write(out)
    verdict = verify_api(signed_app, out.getvalue()).get_json()
    assert verdict["valid"] is False


def pdfsig(data: bytes, tmp_path) -> str:
    path = tmp_path / "sig.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def test_pdfsig_reports_genuine_valid_and_flipped_invalid(signed_app, api, tmp_path):
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    assert "Signature Validation: Signature is Valid." in pdfsig(data, tmp_path)
    bad = pdfsig(flipped(data), tmp_path)
    assert "Signature is Valid." not in bad and "Digest Mismatch" in bad


@pytest.mark.parametrize("body,why", [(b"hello, not a pdf", "not a PDF"), (b"%PDF-1.7\n%trunc", "truncated"),
                                      (b"", "empty")])
def test_bad_uploads_get_a_clear_verdict(signed_app, body, why):
    response = verify_api(signed_app, body)
    assert 400 <= response.status_code < 500 or response.get_json()["valid"] is False, why
    assert response.is_json and response.status_code != 500


def test_unsigned_and_foreign_pdfs_are_not_valid(signed_app, api, tmp_path):
    from donoharm.pdf import html_to_pdf

    unsigned = html_to_pdf("<p>Not a record</p>")
    verdict = verify_api(signed_app, unsigned).get_json()
    assert verdict["valid"] is False and "no digital signature" in " ".join(verdict["problems"])
    # A record from another organisation's server: same software, different keys.
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    from donoharm import create_app
    other = create_app({"TESTING": True, "INSTANCE": tmp_path / "other", "SECRET_KEY": "x"})
    generate_keys(tmp_path / "other", "Other Organisation")
    verdict = verify_api(other, data).get_json()
    assert verdict["valid"] is False and verdict["signed_by_organisation"] is False
    assert verdict["signatures_intact"] is True and verdict["unmodified_since_signing"] is True
    assert verdict["problems"] == ["the signature was not made with this organisation's certificate"]


def test_oversize_upload_is_413(signed_app):
    response = verify_api(signed_app, b"%PDF-" + b"0" * (21 * 1024 * 1024))
    assert response.status_code == 413 and response.is_json


def test_khmer_run_record_uses_the_bundled_khmer_font(signed_app, api, tmp_path):
    import uuid

    acc = api("acc")
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={"protocol_id": "immigration-separation",
                                                      "protocol_version": "1.0.1", "label": "OP-TEST-KM-1",
                                                      "mode": "live", "language": "km"})
    assert response.status_code == 201
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.1")
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    path = tmp_path / "km.pdf"
    path.write_bytes(acc.get(f"/runs/{run_id}/record.pdf").data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Noto-Sans-Khmer" in fonts
    # pdftotext reorders Khmer clusters, so check that the texts are not the English ones instead.
    assert protocol.in_language("km").title != protocol.title
    text = pdf_text(path.read_bytes(), tmp_path)
    assert protocol.title not in text and protocol.steps[0].text not in text


def test_pdfsig_trusts_the_signer_once_the_root_is_imported(signed_app, api, tmp_path):
    """The README's recipe: import /verify/root.pem into an NSS database, then pdfsig trusts the record."""
    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    assert "Certificate is Trusted." not in pdfsig(data, tmp_path)
    (tmp_path / "root.pem").write_bytes(signed_app.test_client().get("/verify/root.pem").data)
    nss = tmp_path / "nssdb"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-A", "-t", "CT,C,C", "-n", "donoharm-root",
                    "-i", str(tmp_path / "root.pem")], check=True)
    (tmp_path / "trusted.pdf").write_bytes(data)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "trusted.pdf")],
                         capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out and "Certificate is Trusted." in out
