"""A coalition's roll-up: three instances (own folders, own keys) each publish 2026-Q2; a coordinator combines the
three signed reports, verified against their roots, into one report it signs.

Per instance, computed by hand (immigration-separation 1.0.0, threshold 5; see test_reports.add_run):

instance | submitted | with a deviation | with a flagged answer | published red_flags row (answer, deviation, all)
North    | 6         | 5                | 0                     | <5, suppressed, 5   (0 alone under 5 in the row:
         |           |                  |                       |  the smaller of 5 and 5, deviation, goes too)
South    | 7         | 0                | 0                     | (no row)
East     | 5         | 0                | 3                     | <5, <5, <5
Combined: operations 6 + 7 + 5 = 18; submitted 18; flagged_runs: North 5, South <5, East <5: at least 5 (">=5");
approved: every member "<5": "suppressed" (nothing of it is known); red flags, all: North 5 + East <5: ">=5".
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from donoharm.records.detached import signature_problem
from donoharm.transparency.document import document_sha256, schema_problems
from tests.conftest import csrf_from, login
from tests.test_reports import add_run, make_instance, publish, published_document, root_of

PLAN = {"North": {"runs": 6, "deviation": 5, "flagged": 0}, "South": {"runs": 7, "deviation": 0, "flagged": 0},
        "East": {"runs": 5, "deviation": 0, "flagged": 3}}


@pytest.fixture(scope="module")
def coalition(tmp_path_factory):
    """Three instances with their runs and their published Q2 report, each report and root written to files."""
    folder = tmp_path_factory.mktemp("coalition")
    members = {}
    for name, plan in PLAN.items():
        app = make_instance(folder / name, f"{name} Organisation SYNTHETIC")
        for number in range(plan["runs"]):
            add_run(app, f"2026-05-{number + 1:02d}", f"OP-TEST-{name}-{number}",
                    deviation=number < plan["deviation"], flagged=number < plan["flagged"])
        result = publish(app, "--period", "2026-Q2")
        assert result.exit_code == 0, result.output
        report = folder / f"{name}.json"
        report.write_text(json.dumps(published_document(app)))
        root = folder / f"{name}-root.pem"
        root.write_bytes((Path(app.instance_path) / "signing-root.pem").read_bytes())
        members[name] = {"app": app, "report": report, "root": root}
    return folder, members


def combine(app, files, roots, out=None):
    args = ["reports", "combine", *map(str, files)]
    for root in roots:
        args += ["--trust", str(root)]
    if out:
        args += ["--out", str(out)]
    return app.test_cli_runner().invoke(args=args)


def everything(members):
    return [m["report"] for m in members.values()], [m["root"] for m in members.values()]


def test_each_member_publishes_its_own_figures(coalition):
    _folder, members = coalition
    north = json.loads(members["North"]["report"].read_text())
    assert north["figures"]["tables"]["red_flags"]["rows"][0]["cells"] == {
        "answer": "<5", "deviation": "suppressed", "all": 5}
    east = json.loads(members["East"]["report"].read_text())
    assert east["figures"]["tables"]["red_flags"]["rows"][0]["cells"] == {"answer": "<5", "deviation": "<5",
                                                                           "all": "<5"}
    assert json.loads(members["South"]["report"].read_text())["figures"]["tables"]["red_flags"]["rows"] == []
    assert len({json.loads(m["report"].read_text())["instance"]["id"] for m in members.values()}) == 3


def test_the_combined_figures_equal_the_hand_computed_ones(coalition):
    folder, members = coalition
    coordinator = members["North"]["app"]
    files, roots = everything(members)
    out = folder / "combined.json"
    result = combine(coordinator, files, roots, out)
    assert result.exit_code == 0, result.output
    combined = json.loads(out.read_text())
    assert schema_problems(combined) == []
    assert combined["kind"] == "combined" and combined["period"]["label"] == "2026-Q2"
    assert signature_problem(combined, [root_of(coordinator)]) is None
    figures = combined["figures"]
    assert figures["operations"] == 18
    runs = figures["tables"]["runs_by_protocol"]
    assert runs["rows"][0]["cells"] == {"submitted": 18, "returned": "suppressed", "approved": "suppressed",
                                        "flagged_runs": ">=5"}
    assert runs["total"]["submitted"] == 18
    assert figures["tables"]["red_flags"]["total"]["all"] == ">=5"
    inputs = {json.loads(f.read_text())["instance"]["name"]: document_sha256(json.loads(f.read_text()))
              for f in files}
    assert sorted(i["sha256"] for i in combined["inputs"]) == sorted(inputs.values())
    # The order the reports are given in does not change the figures.
    again = combine(coordinator, list(reversed(files)), roots, folder / "again.json")
    assert again.exit_code == 0
    assert json.loads((folder / "again.json").read_text())["figures"] == figures


def refused(result, *words):
    assert result.exit_code == 1, result.output
    for word in words:
        assert word in result.output, result.output


def test_a_tampered_report_is_refused(coalition):
    folder, members = coalition
    files, roots = everything(members)
    tampered = json.loads(members["South"]["report"].read_text())
    tampered["figures"]["tables"]["runs_by_protocol"]["rows"][0]["cells"]["submitted"] = 70
    path = folder / "South-tampered.json"
    path.write_text(json.dumps(tampered))
    out = folder / "not-made.json"
    refused(combine(members["North"]["app"], [files[0], path, files[2]], roots, out), "South-tampered.json",
            "changed after signing")
    assert not out.exists()


def test_untrusted_duplicate_overlapping_and_weaker_reports_are_refused(coalition):
    folder, members = coalition
    files, roots = everything(members)
    coordinator = members["North"]["app"]
    refused(combine(coordinator, files, roots[:2]), "East.json", "trusted roots given")
    refused(combine(coordinator, [*files, files[1]], roots), "the same report as")
    # The same instance's report for an overlapping period, genuinely signed by it.
    with coordinator.app_context():
        from donoharm.records.signing import signing_key
        from donoharm.transparency.document import sign

        north = json.loads(files[0].read_text())
        unsigned = {k: v for k, v in north.items() if k not in ("certificate", "signature")}
        overlapping = sign({**unsigned, "period": {"start": "2026-06-01", "end": "2026-08-31",
                                                   "label": "2026-06-01/2026-08-31"}}, signing_key())
        weaker = sign({**unsigned, "threshold": 3}, signing_key())
        broken = sign({k: v for k, v in unsigned.items() if k != "figures"}, signing_key())
    for name, document in (("overlap", overlapping), ("weaker", weaker), ("broken", broken)):
        (folder / f"{name}.json").write_text(json.dumps(document))
    refused(combine(coordinator, [*files, folder / "overlap.json"], roots), "overlap.json", "overlaps")
    refused(combine(coordinator, [files[1], folder / "weaker.json"], roots), "threshold (3) is lower")
    refused(combine(coordinator, [folder / "broken.json"], roots), "report schema", "figures")
    (folder / "not-json.json").write_text("{not json")
    refused(combine(coordinator, [folder / "not-json.json"], roots), "not a JSON document")


def test_the_admin_page_combines_uploads_and_refuses_a_tampered_one(coalition):
    _folder, members = coalition
    files, roots = everything(members)
    coordinator = members["North"]["app"]
    admin = coordinator.test_client()
    login(admin, "admin")
    token = csrf_from(admin, "/admin/reports")

    def post(report_bytes):
        data = {"csrf_token": token,
                "reports": [(io.BytesIO(b), name) for name, b in report_bytes],
                "roots": [(io.BytesIO(r.read_bytes()), r.name) for r in roots]}
        return admin.post("/admin/reports/combine", data=data, content_type="multipart/form-data")

    done = post([(f.name, f.read_bytes()) for f in files])
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    assert done.get_json()["figures"]["operations"] == 18
    tampered = json.loads(files[2].read_bytes())
    tampered["instance"]["name"] = "Someone else SYNTHETIC"
    refusal = post([(files[0].name, files[0].read_bytes()), ("East.json", json.dumps(tampered).encode())])
    assert refusal.status_code == 422 and "changed after signing" in refusal.get_data(as_text=True)



def test_a_regional_roll_up_combines_again_but_never_with_one_of_its_members(coalition):
    """North and South combined by North (a region), then the region with East: the same national figures. The
    region with South again would count South's runs twice: refused."""
    folder, members = coalition
    files, roots = everything(members)
    coordinator = members["North"]["app"]
    assert combine(coordinator, files[:2], roots, folder / "region.json").exit_code == 0
    national = combine(coordinator, [folder / "region.json", files[2]], roots, folder / "national.json")
    assert national.exit_code == 0, national.output
    figures = json.loads((folder / "national.json").read_text())["figures"]
    assert figures["operations"] == 18
    assert figures["tables"]["runs_by_protocol"]["total"]["submitted"] == 18
    refused(combine(coordinator, [folder / "region.json", files[1]], roots), "South.json",
            "South Organisation SYNTHETIC", "count twice")
