"""Each follow-up answer re-issues the run's signed record, through the same queue as every status change."""
from __future__ import annotations

from tests.conftest import Api, attestation, event, expected_answer
from tests.test_record_queue import _rows


def test_each_follow_up_answer_re_issues_the_record(signed_app, users, signals_protocol):
    acc, sup = Api(signed_app, "acc"), Api(signed_app, "sup")
    run_id = acc.start_run(protocol_id="signals-test", version="1.0.0")
    answers = [event("step.set", s.id, expected_answer(s)) for s in signals_protocol.steps if not s.follow_up]
    assert acc.send(run_id, *answers, attestation()).status_code == 200
    assert sup.send(run_id, event("review.approved")).status_code == 200
    assert [r["status"] for r in _rows(signed_app, "records", run_id)] == ["submitted", "follow_up"]

    assert acc.send(run_id, event("step.set", "no-removal-72h", "no")).status_code == 200
    records = _rows(signed_app, "records", run_id)
    assert [r["status"] for r in records] == ["submitted", "follow_up", "follow_up"]
    assert records[1]["head_hash"] != records[2]["head_hash"]  # the record of the answer, not the approval again

    assert acc.send(run_id, event("step.set", "services-reachable", True)).status_code == 200
    assert [r["status"] for r in _rows(signed_app, "records", run_id)][-1] == "closed"
    assert _rows(signed_app, "records_due", run_id) == []
    page = acc.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "follow-up done, closed" in page
