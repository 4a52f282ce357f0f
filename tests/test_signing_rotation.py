"""Rotating the signing certificate as the README says keeps older records verifying."""
from __future__ import annotations

import runpy
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from donoharm import create_app
from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers

ROTATE = runpy.run_path("deploy/rotate-signing-cert.py")["rotate"]


def _submitted_record(app, label: str) -> bytes:
    acc = Api(app, "acc")
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id = acc.start_run(label=label)
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200
    return response.get_data()


def test_records_signed_before_and_after_a_rotation_both_verify(app, users, tmp_path):
    before = _submitted_record(app, "OP-TEST-001")
    instance = tmp_path / "instance"
    old_cert = (instance / "signing.pem").read_bytes()
    kept = ROTATE(instance)
    assert (instance / "signing.pem").read_bytes() != old_cert
    assert stat.S_IMODE((instance / "signing.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.with_suffix(".key").stat().st_mode) == 0o600

    restarted = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test"})
    after = _submitted_record(restarted, "OP-TEST-002")
    runner = restarted.test_cli_runner()
    for name, data in (("before.pdf", before), ("after.pdf", after)):
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(args=["records", "verify", str(tmp_path / name)])
        assert result.exit_code == 0, f"{name}: {result.output}"


def _short_lived_certificate(instance, seconds: int) -> datetime:
    """Replace the signing certificate with one from the same root that expires in `seconds`; return when."""
    root_key = serialization.load_pem_private_key((instance / "signing-root.key").read_bytes(), None)
    root = x509.load_pem_x509_certificate((instance / "signing-root.pem").read_bytes())
    key = serialization.load_pem_private_key((instance / "signing.key").read_bytes(), None)
    now = datetime.now(UTC)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Short lived")]))
            .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(seconds=seconds))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(root_key, hashes.SHA256()))
    (instance / "signing.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return leaf.not_valid_after_utc


def test_records_still_verify_after_their_signing_certificate_expired(signed_app, api, tmp_path):
    """Validated as at their timestamp, or else as at their signing time, not as at today."""
    from .test_records import submitted_run, verify_api
    from .tsa import start_tsa

    expires = _short_lived_certificate(Path(signed_app.instance_path), seconds=8)
    tsa = start_tsa(tmp_path / "tsa")
    records = {}
    for timestamped in (True, False):
        signed_app.config.update(TSA_URL=tsa.url if timestamped else None,
                                 TSA_ROOT=str(tsa.root_pem) if timestamped else None)
        acc, run_id, _ = submitted_run(signed_app, api, label=f"OP-TEST-00{int(timestamped)}")
        records[timestamped] = acc.get(f"/runs/{run_id}/record.pdf").data
    tsa.stop()
    signed_app.config.update(TSA_ROOT=str(tsa.root_pem))  # the authority is still trusted for verifying
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1.5)
    assert datetime.now(UTC) > expires + timedelta(seconds=1)  # past pyHanko's tolerance of one second
    for timestamped, data in records.items():
        verdict = verify_api(signed_app, data).get_json()
        assert verdict["valid"] is True and verdict["signer"] == "Short lived", verdict
        assert (verdict["timestamped_at"] is not None) is timestamped


def test_an_expired_signing_certificate_signs_nothing_and_says_why(signed_app):
    import pytest
    from pyhanko.sign.general import SigningError

    from donoharm.records.signing import sign_pdf, signing_key

    from .test_hardening_verify import blank_pdf

    _short_lived_certificate(Path(signed_app.instance_path), seconds=-60)
    with signed_app.app_context(), pytest.raises(SigningError, match="cannot sign now: .*expired.*rotate-signing"):
        sign_pdf(blank_pdf(), signing_key(), "Signed", (20, 20, 180, 60))
