"""Rotating the signing certificate as the README says keeps older records verifying."""
from __future__ import annotations

import runpy
import stat

from donoharm import create_app
from donoharm.library import get_registry
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
