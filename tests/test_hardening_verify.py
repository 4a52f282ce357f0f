"""Issue 13, item 3: anonymous verification must cost little, whatever is uploaded and however often.

Classes of problem: decompression bombs in an uploaded PDF; CPU exhaustion by many signatures, revisions,
pages or objects; unthrottled anonymous requests (rate limits shared by every worker through SQLite).
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject, TextStringObject

from donoharm.db import connect
from donoharm.db import rate_limits as rate_limits_db
from donoharm.records import verify as verify_module
from donoharm.records.signing import signing_key

from .conftest import csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024



@pytest.fixture(autouse=True)
def clock_mid_window(monkeypatch):
    """Rate limits count in one-minute windows: hold the clock mid-window so that no test straddles two."""
    from donoharm.web import rate_limit

    monkeypatch.setattr(rate_limit, "_clock", lambda: 1_800_000_030.0)

def blank_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attachment_bomb_pdf(inflated: int = 200 * MiB) -> bytes:
    """A one-page PDF whose audit-record.json is a Flate stream of `inflated` zero bytes (~200 KB on disk)."""
    compressor, chunk = zlib.compressobj(9), bytes(MiB)
    bomb = b"".join(compressor.compress(chunk) for _ in range(inflated // MiB)) + compressor.flush()
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    stream = StreamObject()
    stream._data = bomb  # written as is: already Flate-encoded
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    spec = DictionaryObject({NameObject("/Type"): NameObject("/Filespec"),
                             NameObject("/F"): TextStringObject("audit-record.json"),
                             NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)})})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/EmbeddedFiles"): DictionaryObject({
        NameObject("/Names"): ArrayObject([TextStringObject("audit-record.json"), writer._add_object(spec)])})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_times(pdf: bytes, key, times: int) -> bytes:
    """Sign a PDF `times` times (invisible signatures, one incremental update each), as an attacker could."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    from donoharm.records.blocking import outside_event_loop

    for number in range(times):
        out = io.BytesIO()
        signer = signers.PdfSigner(signers.PdfSignatureMetadata(field_name=f"Signature{number}", md_algorithm="sha256"),
                                   signer=key.signer)
        # pyHanko's sync API runs its own event loop: not in the thread of Playwright's (earlier browser tests).
        outside_event_loop(signer.sign_pdf, IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
        pdf = out.getvalue()
    return pdf


CHILD = """
import json, resource, sys, time
from pathlib import Path
limit = int(sys.argv[3]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from donoharm import create_app
app = create_app({"TESTING": True, "INSTANCE": Path(sys.argv[1]), "SECRET_KEY": "test"})
client = app.test_client()
data = Path(sys.argv[2]).read_bytes()
started = time.perf_counter()
response = client.post("/api/v1/verify", data=data, content_type="application/pdf")
seconds = time.perf_counter() - started
print(json.dumps({"status": response.status_code, "body": response.get_json(), "seconds": seconds}))
"""


def verify_in_a_bounded_process(app, pdf: bytes, tmp_path: Path, memory_mb: int = 512) -> dict:
    """POST /api/v1/verify in a child process limited to `memory_mb` of address space and 60 s in all."""
    path = tmp_path / "upload.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([sys.executable, "-c", CHILD, app.instance_path, str(path), str(memory_mb)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_decompression_bomb_attachment_is_refused_in_bounded_time_and_memory(signed_app, tmp_path):
    pdf = signed_times(attachment_bomb_pdf(), signing_key(signed_app), 1)
    assert len(pdf) < MiB
    answer = verify_in_a_bounded_process(signed_app, pdf, tmp_path)
    assert answer["status"] == 200 and answer["body"]["valid"] is False
    assert any("audit-record.json is larger than 4 MB" in p for p in answer["body"]["problems"]), answer
    assert answer["seconds"] < 2.0, answer


def test_attachment_read_stops_at_the_limit_without_inflating_the_rest():
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(attachment_bomb_pdf(64 * MiB)), strict=False)
    with pytest.raises(verify_module.TooCostly, match="larger than 4 MB"):
        verify_module.embedded_record(reader)
    budget = reader._decode_context.remaining_budget
    with pytest.raises(verify_module.TooCostly):
        verify_module.embedded_record(reader)
    assert reader._decode_context.remaining_budget == budget  # inflated outside pyHanko, bounded, not cached


def test_many_signatures_are_refused_before_any_is_validated(signed_app, tmp_path, monkeypatch):
    pdf = signed_times(blank_pdf(), signing_key(signed_app), 50)
    answer = verify_in_a_bounded_process(signed_app, pdf, tmp_path)
    assert answer["body"]["valid"] is False
    assert any("more than 10 signatures" in p for p in answer["body"]["problems"]), answer
    assert answer["seconds"] < 1.5, answer
    # In this process: not one of the 50 is handed to the validator.
    import pyhanko.sign.validation

    calls = []
    real = pyhanko.sign.validation.validate_pdf_signature
    monkeypatch.setattr(pyhanko.sign.validation, "validate_pdf_signature",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    verdict = verify_module.verify_pdf(pdf, signing_key(signed_app))
    assert calls == [] and verdict.valid is False


def test_a_few_signatures_are_still_all_validated(signed_app, monkeypatch):
    import pyhanko.sign.validation

    pdf = signed_times(blank_pdf(), signing_key(signed_app), 3)
    calls = []
    real = pyhanko.sign.validation.validate_pdf_signature
    monkeypatch.setattr(pyhanko.sign.validation, "validate_pdf_signature",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    verdict = verify_module.verify_pdf(pdf, signing_key(signed_app))
    assert len(calls) == 3 and verdict.signatures == 3 and verdict.intact
    assert "the file carries no audit-record.json" in verdict.problems
    assert not any("could have issued" in problem for problem in verdict.problems)


def test_many_revisions_are_refused(signed_app):
    pdf = blank_pdf()
    for number in range(verify_module.MAX_REVISIONS + 1):
        writer = PdfWriter(io.BytesIO(pdf), incremental=True)
        writer.add_annotation(0, FreeText(text=str(number), rect=(10, 10, 50, 30)))
        out = io.BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    verdict = verify_module.verify_pdf(pdf, signing_key(signed_app))
    assert verdict.valid is False
    assert verdict.problems == ["the file is not a record this server could have issued: "
                                f"it was changed more than {verify_module.MAX_REVISIONS} times"]


def test_many_pages_are_refused(signed_app):
    verdict = verify_module.verify_pdf(blank_pdf(verify_module.MAX_PAGES + 1), signing_key(signed_app))
    assert verdict.problems == ["the file is not a record this server could have issued: it has more than "
                                f"{verify_module.MAX_PAGES:,} pages"]


def test_many_objects_are_refused(signed_app):
    forged = re.sub(rb"/Size \d+", b"/Size 500000", blank_pdf())  # the trailer's object count
    verdict = verify_module.verify_pdf(forged, signing_key(signed_app))
    assert verdict.problems == ["the file is not a record this server could have issued: it has more than "
                                f"{verify_module.MAX_OBJECTS:,} objects"]


def test_a_real_record_is_well_within_every_limit(signed_app, api):
    from .test_records import submitted_run, verify_api

    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    assert verify_api(signed_app, data).get_json()["valid"] is True


# --- rate limits --------------------------------------------------------------------------------------------

def post_verify(client, address: str, body: bytes = b"not a pdf"):
    return client.post("/api/v1/verify", data=body, content_type="application/pdf",
                       environ_base={"REMOTE_ADDR": address})


def test_unthrottled_verification_api_answers_429_with_retry_after(app):
    app.config["VERIFY_RATE_LIMIT"] = 3
    client = app.test_client()
    for _ in range(3):
        assert post_verify(client, "198.51.100.7").status_code == 422  # served: "not a PDF"
    refused = post_verify(client, "198.51.100.7")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited" and error["details"]["retry_after"] == int(refused.headers["Retry-After"])
    assert post_verify(client, "198.51.100.8").status_code == 422  # another address is still served


def test_unthrottled_verification_page_answers_429_with_a_message(app):
    app.config["VERIFY_RATE_LIMIT"] = 1
    client = app.test_client()

    def upload(address):
        token = csrf_from(client, "/verify")
        return client.post("/verify", data={"csrf_token": token, "pdf": (io.BytesIO(b"text"), "notes.txt")},
                           content_type="multipart/form-data", environ_base={"REMOTE_ADDR": address})

    assert upload("203.0.113.9").status_code != 429
    refused = upload("203.0.113.9")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page and "Wait a few minutes and try again." in page
    assert 'type="file"' in page  # the form is still there for later
    assert client.get("/verify", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200  # reading is free
    assert upload("203.0.113.10").status_code != 429


def test_rate_limit_is_shared_by_every_worker(app):
    from donoharm import create_app

    app.config["VERIFY_RATE_LIMIT"] = 4
    other = create_app({"TESTING": True, "INSTANCE": Path(app.instance_path), "SECRET_KEY": "test",
                        "VERIFY_RATE_LIMIT": 4})  # a second worker: its own process state, the same database
    workers = [app.test_client(), other.test_client()]
    statuses = [post_verify(workers[n % 2], "192.0.2.77").status_code for n in range(6)]
    assert statuses == [422, 422, 422, 422, 429, 429]


def test_ipv6_clients_are_counted_by_their_64_network(app):
    app.config["VERIFY_RATE_LIMIT"] = 2
    client = app.test_client()
    assert post_verify(client, "2001:db8:1:2::1").status_code == 422
    assert post_verify(client, "2001:db8:1:2:ffff::9").status_code == 422
    assert post_verify(client, "2001:db8:1:2:abcd::5").status_code == 429  # same /64, another address
    assert post_verify(client, "2001:db8:1:3::1").status_code == 422  # the next /64


def test_old_windows_are_pruned(app):
    from donoharm.web.rate_limit import WINDOW_SECONDS, retry_after

    app.config["VERIFY_RATE_LIMIT"] = 1
    start = 1_700_000_000.0
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.1"}):
        assert retry_after("verify", "VERIFY_RATE_LIMIT", now=start) is None
        wait = retry_after("verify", "VERIFY_RATE_LIMIT", now=start + 1)
        assert wait == WINDOW_SECONDS - (int(start) % WINDOW_SECONDS) - 1
        later = start + 5 * WINDOW_SECONDS
        assert retry_after("verify", "VERIFY_RATE_LIMIT", now=later) is None  # a new window: served again
    db = connect(app.config["DATABASE"])
    try:
        windows = [row[0] for row in db.execute("SELECT window FROM rate_hits").fetchall()]
        assert windows == [int(later // WINDOW_SECONDS)]
        assert rate_limits_db.count(db, "verify", "addr:192.0.2.1", int(start // WINDOW_SECONDS)) == 0
    finally:
        db.conn.close()


def test_a_limit_of_zero_switches_it_off(app):
    app.config["VERIFY_RATE_LIMIT"] = 0
    client = app.test_client()
    assert all(post_verify(client, "192.0.2.3").status_code == 422 for _ in range(25))


def test_signed_in_people_are_counted_by_account_not_address(app, users):
    app.config["VERIFY_RATE_LIMIT"] = 2
    first, second = app.test_client(), app.test_client()
    login(first, "acc")
    login(second, "sup")
    address = "192.0.2.200"  # one office, one address
    assert [post_verify(first, address).status_code for _ in range(3)] == [422, 422, 429]
    assert post_verify(second, address).status_code == 422  # a colleague is not held back
    assert post_verify(app.test_client(), address).status_code == 422  # nor an anonymous visitor


def test_default_limits_and_their_environment_variables(tmp_path, monkeypatch):
    from donoharm import create_app

    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "a", "SECRET_KEY": "test"})
    assert app.config["VERIFY_RATE_LIMIT"] == 20 and app.config["PDF_RATE_LIMIT"] == 10
    monkeypatch.setenv("DONOHARM_VERIFY_PER_MINUTE", "0")
    monkeypatch.setenv("DONOHARM_PDF_PER_MINUTE", "3")
    app = create_app({"TESTING": True, "INSTANCE": tmp_path / "b", "SECRET_KEY": "test"})
    assert app.config["VERIFY_RATE_LIMIT"] == 0 and app.config["PDF_RATE_LIMIT"] == 3
    monkeypatch.setenv("DONOHARM_VERIFY_PER_MINUTE", "twenty")
    with pytest.raises(ValueError, match="DONOHARM_VERIFY_PER_MINUTE must be a whole number"):
        create_app({"TESTING": True, "INSTANCE": tmp_path / "c", "SECRET_KEY": "test"})


def test_openapi_documents_the_429(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    response = spec["paths"]["/api/v1/verify"]["post"]["responses"]["429"]
    assert "Retry-After" in response["headers"]
