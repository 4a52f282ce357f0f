"""GET /api/v1/runs/<id> says whether the record of the latest change is being issued (issue 14.1)."""
from __future__ import annotations

from donoharm.services.library import get_registry
from tests.conftest import Api, attestation, complete_answers


def test_the_api_says_a_record_is_being_issued_until_it_exists(signed_app, users):
    signed_app.config["RECORDS_WORKER"] = "off"
    acc = Api(signed_app, "acc")
    run_id = acc.start_run(label="OP-TEST-001")
    assert acc.get(f"/api/v1/runs/{run_id}").get_json()["record"] == {"latest": None, "being_issued": None}
    with signed_app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    record = acc.get(f"/api/v1/runs/{run_id}").get_json()["record"]
    assert record["latest"] is None
    assert record["being_issued"]["status"] == "submitted" and record["being_issued"]["attempts"] == 0

    assert signed_app.test_cli_runner().invoke(args=["records", "issue-due"]).exit_code == 0
    record = acc.get(f"/api/v1/runs/{run_id}").get_json()["record"]
    assert record["being_issued"] is None and record["latest"]["status"] == "submitted"
    pdf = acc.get(record["latest"]["url"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
