"""Issue 15, part 4: RFC 3161 timestamps on record signatures (PAdES B-T), so the organisation cannot back-date them;
part 5: records carry their validation material (PAdES B-LT) and verify after their certificate expired.

The timestamp authority is tests/tsa.py, started on 127.0.0.1 by each test: never an outside service.
"""
from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from donoharm.config import tsa_settings
from donoharm.db import connect
from donoharm.db import records as records_db
from donoharm.records import timestamps

from .test_records import pdfsig, submitted_run, verify_api, verify_page
from .tsa import make_tsa_certificates, start_tsa

PYHANKO = str(Path(sys.executable).with_name("pyhanko"))


@pytest.fixture
def tsa(tmp_path):
    authority = start_tsa(tmp_path / "tsa")
    yield authority
    authority.stop()


@pytest.fixture
def stamped_app(signed_app, tsa):
    """The signed app with the test authority configured, as DONOHARM_TSA_URL and DONOHARM_TSA_ROOT would."""
    signed_app.config.update(TSA_URL=tsa.url, TSA_ROOT=str(tsa.root_pem), TSA_TIMEOUT=5)
    return signed_app


def record_of(app, api) -> tuple[str, bytes]:
    acc, run_id, _ = submitted_run(app, api)
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)
    return run_id, response.data


def signature_contents(data: bytes) -> tuple[int, int, cms.ContentInfo]:
    """Where the (last) signature's /Contents hex string is in the file, and the CMS object it holds."""
    match = list(re.finditer(rb"/Contents\s*<([0-9A-Fa-f]+)>", data))[-1]
    raw = bytes.fromhex(match.group(1).decode())
    return match.start(1), match.end(1), cms.ContentInfo.load(raw)  # the zero padding after it is ignored


def timestamp_in(data: bytes) -> tsp.TSTInfo:
    signer_info = signature_contents(data)[2]["content"]["signer_infos"][0]
    token = next(a for a in signer_info["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token")
    return token["values"][0]["content"]["encap_content_info"]["content"].parsed


def test_timestamped_record_shows_the_authoritys_time_everywhere(stamped_app, api, tsa, tmp_path):
    run_id, data = record_of(stamped_app, api)
    stamped = timestamp_in(data)["gen_time"].native
    assert stamped in tsa.issued  # the authority's token, over this record's signature
    verdict = verify_api(stamped_app, data).get_json()
    assert verdict["valid"] is True, verdict
    assert verdict["timestamped_at"] == stamped.isoformat() and verdict["timestamp_authority"] == "Test TSA"
    page = verify_page(stamped_app, data).get_data(as_text=True)
    assert "Timestamped at" in page and stamped.isoformat() in page and "Test TSA" in page
    (tmp_path / "record.pdf").write_bytes(data)
    result = stamped_app.test_cli_runner().invoke(args=["records", "verify", str(tmp_path / "record.pdf")])
    assert result.exit_code == 0 and f"timestamped at: {stamped.isoformat()}" in result.output, result.output


def test_a_timestamp_from_an_authority_not_trusted_here_proves_no_time(stamped_app, api, tmp_path):
    """Say DONOHARM_TSA_ROOT was later changed and left the old authority out: its timestamps show no time, but
    the records they are on stay valid (they were signed and issued here)."""
    _, data = record_of(stamped_app, api)
    stranger = make_tsa_certificates("Stranger TSA")[0]
    (tmp_path / "stranger.pem").write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
    stamped_app.config.update(TSA_URL=None, TSA_ROOT=str(tmp_path / "stranger.pem"))
    verdict = verify_api(stamped_app, data).get_json()
    assert verdict["valid"] is True and verdict["timestamped_at"] is None, verdict
    stamped_app.config.update(TSA_ROOT=None)
    verdict = verify_api(stamped_app, data).get_json()
    assert verdict["valid"] is True and verdict["timestamped_at"] is None, verdict


def test_a_record_without_authority_has_no_timestamp(signed_app, api):
    _, data = record_of(signed_app, api)
    verdict = verify_api(signed_app, data).get_json()
    assert verdict["valid"] is True and verdict["timestamped_at"] is None and verdict["timestamp_authority"] is None


def test_pyhanko_and_pdfsig_accept_the_timestamped_record(stamped_app, api, tsa, tmp_path):
    _, data = record_of(stamped_app, api)
    path, root = tmp_path / "record.pdf", tmp_path / "root.pem"
    path.write_bytes(data)
    root.write_bytes(stamped_app.test_client().get("/verify/root.pem").data)
    out = subprocess.run([PYHANKO, "sign", "validate", "--pretty-print", "--trust", str(root), "--trust",
                          str(tsa.root_pem), "--trust-replace", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    stamped = timestamp_in(data)["gen_time"].native
    assert f"Signature timestamp token: {stamped.isoformat()}" in out.stdout
    for said in ("The TSA certificate is trusted.", "The signer's certificate is trusted.",
                 "The signature covers the entire file.", "The signature is judged VALID."):
        assert said in out.stdout, out.stdout
    assert "Signature Validation: Signature is Valid." in pdfsig(data, tmp_path)


def test_record_carries_its_chain_and_outlives_its_certificate(stamped_app, signed_app, api, tsa, tmp_path):
    """PAdES B-LT: the chain is in the document security store, in the signature's own revision. With the
    timestamp, pyHanko's AdES validation still accepts the record half a year after the signing certificate
    expired; the same record without a timestamp it refuses then (so the timestamp is what carries it)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    _, data = record_of(stamped_app, api)
    reader = PdfFileReader(io.BytesIO(data))
    stored = {cert.subject.native["common_name"] for cert in DocumentSecurityStore.read_dss(reader).load_certs()}
    assert {"Test Organisation audit records", "Test Organisation records root", "Test TSA"} <= stored
    assert reader.xrefs.total_revisions == 2  # WeasyPrint's, then the signature with its DSS: nothing after
    root = tmp_path / "root.pem"
    root.write_bytes(stamped_app.test_client().get("/verify/root.pem").data)
    leaf = x509.load_pem_x509_certificate((Path(stamped_app.instance_path) / "signing.pem").read_bytes())
    later = (leaf.not_valid_after_utc + timedelta(days=180)).isoformat()
    stamped_app.config.update(TSA_URL=None, TSA_ROOT=None)
    _, plain = record_of(signed_app, api)
    for name, pdf, expected in (("stamped.pdf", data, 0), ("plain.pdf", plain, 1)):
        (tmp_path / name).write_bytes(pdf)
        out = subprocess.run([PYHANKO, "sign", "adesverify", "--pretty-print", "--no-revocation-check",
                              "--validation-time", later, "--trust", str(root), "--trust", str(tsa.root_pem),
                              "--trust-replace", str(tmp_path / name)], capture_output=True, text=True)
        assert out.returncode == expected, f"{name}: {out.stdout}{out.stderr}"
    assert "The signature is judged VALID." in subprocess.run(
        [PYHANKO, "sign", "adesverify", "--pretty-print", "--no-revocation-check", "--validation-time", later,
         "--trust", str(root), "--trust", str(tsa.root_pem), "--trust-replace", str(tmp_path / "stamped.pdf")],
        capture_output=True, text=True).stdout


def test_a_moved_timestamp_is_caught(stamped_app, api, tsa):
    """Changing the time inside the authority's token (it sits outside the part the organisation signs) breaks
    the token's signature: the record is refused, not shown with the new time."""
    _, data = record_of(stamped_app, api)
    start, end, content = signature_contents(data)
    signer_info = content["content"]["signer_infos"][0]
    attribute = next(a for a in signer_info["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token")
    token = attribute["values"][0]
    info = token["content"]["encap_content_info"]["content"].parsed
    earlier = info["gen_time"].native - timedelta(days=30)
    info["gen_time"] = earlier
    token["content"]["encap_content_info"]["content"] = cms.ParsableOctetString(info.dump(force=True))
    forged_hex = content.dump(force=True).hex().upper().encode()
    assert len(forged_hex) <= end - start
    forged = data[:start] + forged_hex.ljust(end - start, b"0") + data[end:]
    verdict = verify_api(stamped_app, forged).get_json()
    assert verdict["valid"] is False and verdict["timestamped_at"] is None, verdict
    assert "the signature's timestamp does not match the signature: it was changed" in verdict["problems"]


def test_unreachable_authority_issues_no_record_until_it_answers(stamped_app, api, tsa, caplog):
    """Decided behaviour: never a record without the timestamp asked for. The submission is kept, the record is
    not issued (a warning is logged), /record.pdf answers 503 with Retry-After, and the record is issued, with
    its timestamp, as soon as the authority answers again."""
    tsa.failing = True
    with caplog.at_level(logging.WARNING, logger="donoharm.records.issuing"):
        acc, run_id, _ = submitted_run(stamped_app, api)  # the submission itself succeeds
    assert "gave no timestamp" in caplog.text and run_id in caplog.text
    db = connect(stamped_app.config["DATABASE"])
    assert records_db.records_of(db, run_id) == []
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "did not answer" in response.get_data(as_text=True)
    assert records_db.records_of(db, run_id) == []
    tsa.failing = False
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200
    verdict = verify_api(stamped_app, response.data).get_json()
    assert verdict["valid"] is True and verdict["timestamped_at"] is not None
    assert len(records_db.records_of(db, run_id)) == 1
    db.conn.close()


def test_timestamp_token_for_checkpoints(stamped_app, tsa, tmp_path):
    data = b"checkpoint OP-TEST-001 merkle root"
    with stamped_app.app_context():
        token = timestamps.timestamp_token(data)
        assert timestamps.check_timestamp_token(token, data) == tsa.issued[-1].isoformat()
        with pytest.raises(timestamps.TimestampError, match="not made over this data"):
            timestamps.check_timestamp_token(token, data + b"!")
        with pytest.raises(timestamps.TimestampError, match="not an RFC 3161 timestamp token"):
            timestamps.check_timestamp_token(b"not a token", data)
        stranger = make_tsa_certificates("Stranger TSA")[0]  # a root we do not name
        (tmp_path / "stranger.pem").write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
        stamped_app.config["TSA_ROOT"] = str(tmp_path / "stranger.pem")
        with pytest.raises(timestamps.TimestampError, match="not from an authority named in DONOHARM_TSA_ROOT"):
            timestamps.check_timestamp_token(token, data)
        stamped_app.config["TSA_ROOT"] = str(tsa.root_pem)
        tsa.stop()
        with pytest.raises(timestamps.TimestampError, match=f"authority at {re.escape(tsa.url)} gave no timestamp"):
            timestamps.timestamp_token(data)
        stamped_app.config["TSA_URL"] = None
        assert timestamps.timestamp_token(data) is None


def test_tsa_settings_are_checked_at_start(tmp_path):
    root, broken = tmp_path / "tsa-root.pem", tmp_path / "broken.pem"
    root.write_bytes(make_tsa_certificates()[0].public_bytes(serialization.Encoding.PEM))
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert tsa_settings(None, None, None) == {"TSA_URL": None, "TSA_ROOT": None, "TSA_TIMEOUT": 10}
    assert tsa_settings("https://tsa.example.org/", str(root), "30")["TSA_TIMEOUT"] == 30
    with pytest.raises(ValueError, match="DONOHARM_TSA_ROOT must name"):
        tsa_settings("https://tsa.example.org/", None, None)
    with pytest.raises(ValueError, match="DONOHARM_TSA_URL must be"):
        tsa_settings("ftp://tsa.example.org/", str(root), None)
    with pytest.raises(ValueError, match="names no file"):
        tsa_settings("https://tsa.example.org/", str(tmp_path / "missing.pem"), None)
    with pytest.raises(ValueError, match="must be a PEM file of certificates"):
        tsa_settings("https://tsa.example.org/", str(broken), None)
    with pytest.raises(ValueError, match="DONOHARM_TSA_TIMEOUT"):
        tsa_settings("https://tsa.example.org/", str(root), "0")


def test_a_cas_revocation_lists_are_embedded_when_fetching_is_allowed(app, api, tsa, tmp_path):
    """DONOHARM_SIGNING_FETCH_REVOCATION=1 with an organisation certificate from a CA that publishes a CRL: the
    CA's and the timestamp authority's CRLs go into the record, so that it verifies offline with revocation
    checking required (full PAdES B-LT). Off by default: then nothing is fetched."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    from .tsa import empty_crl, issue, make_root

    ca_root, ca_key = make_root("Test CA root")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test NGO records"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test NGO")])
    leaf = issue(ca_root, ca_key, subject, key.public_key(), [ExtendedKeyUsageOID.EMAIL_PROTECTION],
                 tsa.crl_url("/ca.crl"))
    tsa.crls["/ca.crl"] = empty_crl(ca_root, ca_key)
    p12, ca_pem = tmp_path / "org.p12", tmp_path / "ca-root.pem"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"org", key, leaf, [ca_root], serialization.NoEncryption()))
    ca_pem.write_bytes(ca_root.public_bytes(serialization.Encoding.PEM))
    app.config.update(SIGNING_P12=str(p12), TSA_URL=tsa.url, TSA_ROOT=str(tsa.root_pem))

    _, unfetched = record_of(app, api)
    assert tsa.crl_requests == 0 and DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(unfetched))).crls == []

    app.config["SIGNING_FETCH_REVOCATION"] = True
    _, data = record_of(app, api)
    assert tsa.crl_requests >= 2
    assert len(DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data))).crls) == 2
    verdict = verify_api(app, data).get_json()
    assert verdict["valid"] is True and verdict["signer"] == "Test NGO records" and verdict["timestamped_at"]
    tsa.stop()  # offline from here on: everything needed is in the file
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    out = subprocess.run([PYHANKO, "sign", "adesverify", "--pretty-print", "--trust", str(ca_pem), "--trust",
                          str(tsa.root_pem), "--trust-replace", str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "The signature is judged VALID." in out.stdout, out.stdout + out.stderr
    path.write_bytes(unfetched)
    out = subprocess.run([PYHANKO, "sign", "adesverify", "--pretty-print", "--trust", str(ca_pem), "--trust",
                          str(tsa.root_pem), "--trust-replace", str(path)], capture_output=True, text=True)
    assert out.returncode == 1, out.stdout  # without the embedded lists, and offline, revocation is unknown


def test_checkpoints_carry_the_authoritys_timestamp_and_a_changed_one_is_named(stamped_app, api, tsa, tmp_path):
    import base64
    import json

    acc = api("acc")
    run_id = acc.start_run(label="OP-TEST-001")
    runner = stamped_app.test_cli_runner()
    made = runner.invoke(args=["db", "checkpoint"])
    assert made.exit_code == 0 and "with a timestamp" in made.output, made.output
    path = next((tmp_path / "instance" / "checkpoints").glob("checkpoint-*.json"))
    checkpoint = json.loads(path.read_text())
    assert checkpoint["leaves"][0]["run"] == run_id and checkpoint["timestamp"]
    assert runner.invoke(args=["db", "verify"]).exit_code == 0

    token = bytearray(base64.b64decode(checkpoint["timestamp"]))
    token[-40] ^= 0xFF  # inside the authority's signature
    path.write_text(json.dumps({**checkpoint, "timestamp": base64.b64encode(bytes(token)).decode()}))
    verified = runner.invoke(args=["db", "verify"])
    assert verified.exit_code == 1 and "the checkpoint's timestamp is not valid" in verified.output

    tsa.failing = True
    refused = runner.invoke(args=["db", "checkpoint"])
    assert refused.exit_code == 1 and "no checkpoint was made" in refused.output
    assert len(list((tmp_path / "instance" / "checkpoints").glob("checkpoint-*.json"))) == 1
