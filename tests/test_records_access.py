"""Who may download a run's records, the run page's list, the root certificate, and late issuing."""
# ruff: noqa: F811  (pytest fixtures imported from test_records)
from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader

from donoharm.records import issuing

from .conftest import event
from .test_records import submitted_run


def test_only_creator_supervisors_and_admins_can_download(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 200
    assert api("sup").get(f"/runs/{run_id}/record.pdf").status_code == 200
    assert api("admin").get(f"/runs/{run_id}/record.pdf").status_code == 200
    assert api("acc2").get(f"/runs/{run_id}/record.pdf").status_code == 404
    assert signed_app.test_client().get(f"/runs/{run_id}/record.pdf").status_code in (302, 401)


def test_status_change_issues_a_new_record_and_keeps_the_old(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    first = acc.get(f"/runs/{run_id}/record.pdf").data
    sup = api("sup")
    response = sup.send(run_id, event("review.returned", note="Add the time of handover."))
    assert response.status_code == 200, response.get_json()
    second = acc.get(f"/runs/{run_id}/record.pdf").data
    assert second != first
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "Signed records" in page
    links = [line for line in page.splitlines() if f"/runs/{run_id}/records/" in line]
    assert len(links) == 2
    with signed_app.app_context():
        from donoharm.db import connect
        from donoharm.db import records as records_db

        db = connect(signed_app.config["DATABASE"])
        records = records_db.records_of(db, run_id)
        db.conn.close()
    assert [r["status"] for r in records] == ["returned", "submitted"]
    earlier = acc.get(f"/runs/{run_id}/records/{records[1]['id']}.pdf").data
    assert earlier == first and hashlib.sha256(earlier).hexdigest() == records[1]["sha256"]
    verify = signed_app.test_client().post
    old_verdict = verify("/api/v1/verify", data=first).get_json()
    assert old_verdict["valid"] is True and old_verdict["latest"] is False  # still genuine, but superseded
    assert verify("/api/v1/verify", data=second).get_json()["latest"] is True
    assert "Add the time of handover." in "".join(p.extract_text() for p in PdfReader(io.BytesIO(second)).pages)


def test_a_record_is_issued_late_when_issuing_failed(signed_app, api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(issuing, "issue_record", broken)
    acc, run_id, _ = submitted_run(signed_app, api)  # the submission itself succeeds
    monkeypatch.undo()
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert signed_app.test_client().post("/api/v1/verify", data=response.data).get_json()["valid"] is True


def test_in_progress_run_has_no_record_yet(signed_app, api):
    acc = api("acc")
    run_id = acc.start_run()
    assert acc.get(f"/runs/{run_id}/record.pdf").status_code == 404
    assert "issued when the run is submitted" in acc.get(f"/runs/{run_id}").get_data(as_text=True)


def test_verify_page_offers_root_certificate_and_fingerprint(signed_app):
    client = signed_app.test_client()
    page = client.get("/verify").get_data(as_text=True)
    root = client.get("/verify/root.pem")
    assert root.status_code == 200 and root.data.startswith(b"-----BEGIN CERTIFICATE-----")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    fingerprint = x509.load_pem_x509_certificate(root.data).fingerprint(hashes.SHA256()).hex().upper()
    assert ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)) in page


def test_verify_page_without_a_file_says_so(signed_app):
    from .conftest import csrf_from

    client = signed_app.test_client()
    response = client.post("/verify", data={"csrf_token": csrf_from(client, "/verify")})
    assert response.status_code == 400
    assert "Choose the PDF file to verify." in response.get_data(as_text=True)


def test_submission_issues_the_record_without_anyone_asking(signed_app, api):
    acc, run_id, _ = submitted_run(signed_app, api)
    from donoharm.db import connect
    from donoharm.db import records as records_db

    db = connect(signed_app.config["DATABASE"])
    records = records_db.records_of(db, run_id)
    db.conn.close()
    assert [(r["status"], r["reason"]) for r in records] == [("submitted", "run.submitted")]


def test_organisation_pkcs12_signs_records(app, api, key_folder, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key((key_folder / "signing.key").read_bytes(), None)
    leaf = x509.load_pem_x509_certificate((key_folder / "signing.pem").read_bytes())
    root = x509.load_pem_x509_certificate((key_folder / "signing-root.pem").read_bytes())
    p12 = tmp_path / "org.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"org", key, leaf, [root], serialization.BestAvailableEncryption(b"secret-pass")))
    for name in ("signing.key", "signing.pem", "signing-root.key", "signing-root.pem"):
        (tmp_path / "instance" / name).unlink()  # the test app starts with the session's generated keys
    app.config.update(SIGNING_P12=str(p12), SIGNING_P12_PASSWORD="secret-pass")
    acc, run_id, _ = submitted_run(app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    assert not (tmp_path / "instance" / "signing.key").exists()  # no key was generated
    verdict = app.test_client().post("/api/v1/verify", data=data).get_json()
    assert verdict["valid"] is True, verdict
    assert app.test_client().get("/verify/root.pem").data == root.public_bytes(serialization.Encoding.PEM)


def test_verify_page_bad_uploads_get_a_message_not_an_error_page(signed_app):
    from .test_records import verify_page

    response = verify_page(signed_app, b"just some text", "notes.txt")
    assert response.status_code == 422 and "this is not a PDF file" in response.get_data(as_text=True)
    signed_app.config["MAX_CONTENT_LENGTH"] = 100_000  # a small limit keeps the test client's body in memory
    response = verify_page(signed_app, b"%PDF-1.7\n" + b"0" * 200_000)
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
