"""Issue 15, part 5: `flask records rotate-root` makes a new organisation root; records signed under every earlier
root keep verifying, and /verify lists every root with its period and says which one signed a record."""
from __future__ import annotations

import json
import runpy
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from donoharm import create_app
from donoharm.records.roots import fingerprint, rotate_root
from donoharm.records.signing import load_signing_key, sign_pdf, signing_key, trusted_roots

from .test_hardening_verify import blank_pdf
from .test_records import submitted_run, verify_api, verify_page

ROTATE_SIGNING_CERT = runpy.run_path("deploy/rotate-signing-cert.py")["rotate"]


def root_fingerprint(app) -> str:
    return fingerprint(x509.load_pem_x509_certificate((Path(app.instance_path) / "signing-root.pem").read_bytes()))


def record(app, api, label: str) -> bytes:
    acc, run_id, _ = submitted_run(app, api, label=label)
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200
    return response.data


def rotate(app) -> str:
    result = app.test_cli_runner().invoke(args=["records", "rotate-root", "--yes"])
    assert result.exit_code == 0, result.output
    return result.output


def test_rotated_roots_all_keep_verifying_and_the_page_says_which_signed(signed_app, api, tmp_path):
    instance = Path(signed_app.instance_path)
    first_root, first_key = root_fingerprint(signed_app), (instance / "signing-root.key").read_bytes()
    first = record(signed_app, api, "OP-TEST-001")
    kept_pair = ROTATE_SIGNING_CERT(instance)  # README: a new signing certificate under the same root first
    assert kept_pair.with_suffix(".key").exists()

    output = rotate(signed_app)
    second_root = root_fingerprint(signed_app)
    assert second_root != first_root and second_root in output and first_root in output
    assert not kept_pair.with_suffix(".key").exists() and str(kept_pair.with_suffix(".key")) in output
    second = record(signed_app, api, "OP-TEST-002")
    # As `flask records rotate-root` run in another process: the running app (a worker) notices by itself.
    rotate_root(instance, "Test Organisation")
    third_root = root_fingerprint(signed_app)
    third = record(signed_app, api, "OP-TEST-003")

    # The old roots are kept as certificates with their period; no private key of theirs is left behind.
    kept = sorted((instance / "roots").glob("*.json"))
    assert len(kept) == 2
    assert {json.loads(p.read_text())["fingerprint"] for p in kept} == {first_root, second_root}
    assert all(json.loads(p.read_text())["retired_at"] for p in kept)
    for path in instance.rglob("*"):
        assert not path.is_file() or first_key not in path.read_bytes(), path
    for name in ("signing-root.key", "signing.key"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600

    restarted = create_app({"TESTING": True, "INSTANCE": instance, "SECRET_KEY": "test"})  # roots read from disk
    for app in (signed_app, restarted):
        for data, root, current in ((first, first_root, False), (second, second_root, False),
                                    (third, third_root, True)):
            verdict = verify_api(app, data).get_json()
            assert verdict["valid"] is True, verdict
            assert verdict["root_fingerprint"] == root and verdict["root_current"] is current
        (tmp_path / "first.pdf").write_bytes(first)
        result = app.test_cli_runner().invoke(args=["records", "verify", str(tmp_path / "first.pdf")])
        assert result.exit_code == 0 and first_root in result.output and "earlier root" in result.output
    with restarted.app_context():
        assert [fingerprint(c) for c in trusted_roots(signing_key())] == [third_root, second_root, first_root]

    page = signed_app.test_client().get("/verify").get_data(as_text=True)
    for root in (first_root, second_root, third_root):
        assert root in page
    assert page.count("current: signs new records") == 1 and page.count("retired on") == 2
    shown = verify_page(signed_app, first).get_data(as_text=True)
    assert "This is a genuine record" in shown and first_root in shown
    assert "an earlier root of this organisation" in shown
    for root in json.loads((kept[0]).read_text()), json.loads((kept[1]).read_text()):
        pem = signed_app.test_client().get(f"/verify/roots/{root['fingerprint'].replace(':', '').lower()}.pem")
        assert pem.status_code == 200 and fingerprint(x509.load_pem_x509_certificate(pem.data)) == root["fingerprint"]


def test_an_old_key_cannot_sign_after_its_root_was_retired(signed_app, key_folder, tmp_path):
    """Whoever kept a copy of the old keys cannot make a signature that claims a time after the rotation."""
    old = tmp_path / "old-keys"
    shutil.copytree(key_folder, old)
    rotate_root(Path(signed_app.instance_path), "Test Organisation", now=datetime.now(UTC) - timedelta(hours=1))
    with signed_app.app_context():
        stale = load_signing_key(old, "Test Organisation")
        forged = sign_pdf(blank_pdf(), stale, "Signed\n%(ts)s", (20, 20, 180, 60))
        verdict = verify_api(signed_app, forged).get_json()
    assert verdict["valid"] is False and verdict["root_current"] is False
    assert any("retired on" in problem and "but it was made later" in problem for problem in verdict["problems"])


def test_an_organisation_certificate_is_rotated_by_its_ca_not_here(app, key_folder, tmp_path):
    key = serialization.load_pem_private_key((key_folder / "signing.key").read_bytes(), None)
    leaf = x509.load_pem_x509_certificate((key_folder / "signing.pem").read_bytes())
    root = x509.load_pem_x509_certificate((key_folder / "signing-root.pem").read_bytes())
    p12 = tmp_path / "org.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"org", key, leaf, [root], serialization.NoEncryption()))
    app.config.update(SIGNING_P12=str(p12))
    result = app.test_cli_runner().invoke(args=["records", "rotate-root", "--yes"])
    assert result.exit_code == 1
    assert "certificate authority issues new roots" in result.output and "DONOHARM_SIGNING_P12" in result.output
    # Nothing was made or changed: no roots folder, and the instance's files (the test app's keys) as they were.
    assert not (Path(app.instance_path) / "roots").exists()
    assert (Path(app.instance_path) / "signing.pem").read_bytes() == (key_folder / "signing.pem").read_bytes()


def test_rotation_asks_before_it_replaces_the_root(signed_app):
    before = root_fingerprint(signed_app)
    result = signed_app.test_cli_runner().invoke(args=["records", "rotate-root"], input="n\n")
    assert result.exit_code == 1 and "Make a new root certificate?" in result.output
    assert root_fingerprint(signed_app) == before and not (Path(signed_app.instance_path) / "roots").exists()
