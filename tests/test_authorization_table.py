"""Every route, for anonymous visitors and every role, against an explicit table of who may do what.

A route the table does not list fails the test: a new page must say who may use it.
Codes: ok = allowed (the request reaches the view: 2xx, a redirect that is not to /login, or 400/409/422 for
the deliberately empty input); in = must sign in first (redirect to /login, or 401 in the API);
no = refused (403, or 404 where the app hides that the thing exists).
Routes that change a run are sent a body that is valid for the run's owner (BODIES); there any 4xx is a refusal.
The run is `acc`'s submitted live run, or for those routes `acc`'s complete but unsubmitted one;
`acc2` is another accompanier.
"""
from __future__ import annotations

import uuid

import pytest

from donoharm.db import connect
from donoharm.services.library import get_registry
from tests.conftest import attestation, complete_answers, event, login

WHO = ("anon", "acc", "acc2", "sup", "trainer", "admin")

# "METHOD rule": codes for  anon  acc  acc2  sup  trainer  admin
TABLE = {
    "GET /": "in ok ok ok ok ok",
    "GET /account": "in ok ok ok ok ok",
    "POST /account": "in ok ok ok ok ok",
    "POST /account/password": "in ok ok ok ok ok",  # one's own password (issue 19)
    "GET /account/two-factor": "in ok ok ok ok ok",
    "POST /account/two-factor": "in ok ok ok ok ok",
    "POST /account/two-factor/off": "in ok ok ok ok ok",
    "POST /account/two-factor/recovery-codes": "in ok ok ok ok ok",
    "GET /admin/checkpoints": "in no no no no ok",
    "POST /admin/checkpoints": "in no no no no ok",
    "GET /admin/checkpoints/<name>": "in no no no no ok",
    "GET /admin/redacted-records": "in no no no no ok",
    "GET /admin/reports": "in no no no no ok",  # publish a period's transparency report (issue 22)
    "POST /admin/reports": "in no no no no ok",
    "POST /admin/reports/combine": "in no no no no ok",  # a coalition's roll-up of members' reports
    "GET /admin/users": "in no no no no ok",
    "POST /admin/users": "in no no no no ok",
    "POST /admin/users/<int:user_id>": "in no no no no ok",
    "POST /admin/users/<int:user_id>/invitation": "in no no no no ok",
    "POST /admin/users/<int:user_id>/reset-link": "in no no no no ok",
    "POST /admin/users/<int:user_id>/two-factor/reset": "in no no no no ok",
    "GET /admin/account-log": "in no no no no ok",
    "GET /admin/settings": "in no no no no ok",  # the organisation's name, time zone, paper size (issue 19)
    "POST /admin/settings": "in no no no no ok",
    "GET /admin/users/<int:user_id>/full-name": "in no no no no ok",
    "POST /admin/users/<int:user_id>/full-name": "in no no no no ok",
    "GET /api/v1/openapi.json": "ok ok ok ok ok ok",
    "GET /api/v1/protocols": "in ok ok ok ok ok",
    "GET /api/v1/schemas/report.json": "ok ok ok ok ok ok",  # the transparency reports' schema is public
    "POST /api/v1/protocols": "in no no no ok ok",
    "GET /api/v1/protocols/<protocol_id>/<version>": "in ok ok ok ok ok",
    "GET /api/v1/protocols/<protocol_id>/diff": "in ok ok ok ok ok",
    "PUT /api/v1/runs/<run_id>": "in ok ok ok ok ok",
    "GET /api/v1/runs/<run_id>": "in ok no ok no ok",
    "POST /api/v1/runs/<run_id>/events": "in ok no no no no",  # supervisors append only review events
    "POST /api/v1/runs/<run_id>/redactions": "in no no ok no ok",  # the run's accompanier too is refused
    "GET /api/v1/session": "in ok ok ok ok ok",
    "POST /api/v1/receipts/verify": "ok ok ok ok ok ok",  # public, like /api/v1/verify: auditors hold receipts
    "POST /api/v1/verify": "ok ok ok ok ok ok",
    "GET /healthz": "ok ok ok ok ok ok",  # for monitors: no account, no data
    "GET /invitation": "no no no no no no",  # only with a valid one-time token (tests/test_accounts_invitations.py)
    "POST /invitation": "no no no no no no",
    "GET /login": "ok ok ok ok ok ok",
    "POST /login": "ok ok ok ok ok ok",
    "GET /login/code": "in in in in in in",  # only after the right password of an account with a second factor
    "POST /login/code": "in in in in in in",
    "GET /logout": "ok ok ok ok ok ok",
    "POST /logout": "in in in in in in",  # signing out always ends on the login page
    "GET /manifest.webmanifest": "ok ok ok ok ok ok",
    "GET /offline": "ok ok ok ok ok ok",
    "GET /hidden": "ok ok ok ok ok ok",
    "GET /unlock": "ok ok ok ok ok ok",
    "GET /icon.png": "ok ok ok ok ok ok",
    "GET /offline/precache.json": "in ok ok ok ok ok",
    "GET /offline/runs/<protocol_id>/<version>": "in ok ok ok ok ok",
    "GET /operations/<operation_id>": "in ok no ok no ok",  # staff with a run in it; supervisors, admins
    "GET /oversight": "in no no ok no ok",
    "GET /oversight.csv": "in no no ok no ok",
    "GET /practice": "in no no no ok ok",  # trainers' practice overview
    "GET /protocols": "ok ok ok ok ok ok",
    "GET /protocols/<protocol_id>/<version>": "ok ok ok ok ok ok",
    "POST /protocols/<protocol_id>/<version>/current": "in no no no ok ok",
    "GET /protocols/<protocol_id>/<version>/handout.pdf": "ok ok ok ok ok ok",
    "GET /protocols/<protocol_id>/<version>/qr.svg": "ok ok ok ok ok ok",
    "POST /protocols/<protocol_id>/<version>/reinstate": "in no no no ok ok",
    "POST /protocols/<protocol_id>/<version>/retire": "in no no no ok ok",
    "GET /protocols/<protocol_id>/<version>/share": "ok ok ok ok ok ok",
    "GET /protocols/<protocol_id>/<version>/source.yaml": "ok ok ok ok ok ok",
    "GET /protocols/<protocol_id>/changes.pdf": "ok ok ok ok ok ok",
    "GET /protocols/<protocol_id>/compare": "ok ok ok ok ok ok",
    "GET /protocols/new": "in no no no ok ok",
    "POST /protocols/new": "in no no no ok ok",
    "POST /protocols/new/publish": "in no no no ok ok",
    "GET /reports": "ok ok ok ok ok ok",  # published transparency reports: public, nothing else is
    # A report id this instance never published: 404 for everyone; a published one downloads for anyone, signed
    # in or not (tests/test_reports.py::test_the_public_list_needs_no_account_and_shows_nothing_else).
    "GET /reports/<report_id>.json": "no no no no no no",
    "GET /reports/<report_id>.pdf": "no no no no no no",
    "GET /reset": "no no no no no no",  # only with a valid one-time token
    "POST /reset": "no no no no no no",
    "GET /review": "in no no ok no ok",
    "GET /review/<run_id>": "in no no ok no ok",
    "POST /review/<run_id>/approve": "in no no ok no ok",
    "POST /review/<run_id>/return": "in no no ok no ok",
    "GET /review/<run_id>/texts/<event_id>/remove": "in no no ok no ok",
    "POST /review/<run_id>/texts/<event_id>/remove": "in no no ok no ok",
    "GET /runs/<run_id>": "in ok no ok no ok",
    "GET /runs/<run_id>/check": "in ok no ok no ok",
    "POST /runs/<run_id>/events": "in ok no no no no",
    "GET /runs/<run_id>/record.pdf": "in ok no ok no ok",
    "GET /runs/<run_id>/records/<record_id>.pdf": "in ok no ok no ok",
    "POST /runs/<run_id>/submit": "in ok no no no no",
    "GET /runs/new": "in ok ok ok ok ok",
    "POST /runs/new": "in ok ok ok ok ok",
    "GET /setup": "no no no no no no",  # only with a valid one-time token, while there is no administrator
    "POST /setup": "no no no no no no",
    "GET /static/<path:filename>": "ok ok ok ok ok ok",
    "GET /sw.js": "ok ok ok ok ok ok",
    "GET /verify": "ok ok ok ok ok ok",
    "POST /verify": "ok ok ok ok ok ok",
    "GET /verify/root.pem": "ok ok ok ok ok ok",
    "GET /verify/roots/<file_id>.pem": "ok ok ok ok ok ok",  # every root the records were ever signed under
}



def _note(**_):
    return {"id": str(uuid.uuid4()), "type": "note", "note": "Staff arrived.", "at": "2026-01-01T10:00:00Z"}


# Bodies valid for the owner of the unsubmitted run: (form data, JSON); a 4xx then means refused.
BODIES = {
    # Another protocol than the one the trainer routes retire on the way.
    "PUT /api/v1/runs/<run_id>": lambda: (None, {"protocol_id": "non-coerced-adults", "protocol_version": "1.0.0",
                                                 "label": "OP-TEST-009", "mode": "practice"}),
    "POST /api/v1/runs/<run_id>/events": lambda: (None, {"events": [_note()]}),
    "POST /runs/<run_id>/events": lambda: ({"type": "note", "note": "Staff arrived."}, None),
    "POST /runs/<run_id>/submit": lambda: ({"name": "Test Accompanier", "confirmed": "y"}, None),
}


def classify(response, strict: bool) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 401 or (status in (301, 302, 303) and "/login" in location):
        return "in"
    if status in (403, 404) or (strict and 400 <= status < 500):
        return "no"
    if status < 400 or status in (400, 409, 413, 422):
        return "ok"
    return f"status {status}"


@pytest.fixture
def world(app, api, users):
    """acc's submitted live run (with its record), and a session cookie and CSRF token per visitor."""
    acc = api("acc")
    with app.app_context():
        protocol = get_registry().get("immigration-separation", "1.0.0")
    run_id, operation_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert acc.put(f"/api/v1/runs/{run_id}", json={
        "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001",
        "operation": {"id": operation_id, "label": "OP-TEST-001"}}).status_code == 201
    note = event("note", note="A synthetic note to remove.")
    assert acc.send(run_id, note, *complete_answers(protocol), attestation()).status_code == 200
    unsubmitted = acc.start_run(label="OP-TEST-002")
    assert acc.send(unsubmitted, *complete_answers(protocol)).status_code == 200
    db = connect(app.config["DATABASE"])
    record = db.execute("SELECT id FROM records WHERE run_id = ?", [run_id]).fetchone()
    db.conn.close()
    made = app.test_cli_runner().invoke(args=["db", "checkpoint"])
    checkpoint = made.output.rsplit("/", 1)[-1].strip()
    with app.app_context():
        from donoharm.records import signing_key

        root_id = signing_key().roots[0].file_id
    app.config["HEALTH_MIN_FREE_MB"] = 0  # the health check answers 200 whatever the test machine's disk
    sessions = {}
    for who in WHO:
        client = app.test_client()
        if who == "anon":
            client.get("/login")
            from tests.conftest import csrf_from

            token = csrf_from(client, "/login")
        else:
            login(client, who)
            token = client.get("/api/v1/session").get_json()["csrf_token"]
        sessions[who] = (client.get_cookie("session").value, token)
    values = {"run_id": run_id, "protocol_id": "immigration-separation", "version": "1.0.0",
              "user_id": users["acc2"], "record_id": record["id"] if record else str(uuid.uuid4()),
              "filename": "css/app.css", "name": checkpoint, "file_id": root_id, "operation_id": operation_id,
              "event_id": note["id"], "report_id": str(uuid.uuid4())}
    return sessions, values, unsubmitted


def routes(app) -> list[tuple[str, object]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((f"{method} {rule.rule}", rule))
    return sorted(found, key=lambda item: item[0])


def test_every_route_is_in_the_table(app):
    missing = [key for key, _ in routes(app) if key not in TABLE]
    assert not missing, "add these routes to TABLE with who may use them:\n" + "\n".join(missing)


def test_each_role_gets_what_the_table_says(app, world):
    sessions, values, unsubmitted = world
    mismatches = []
    # Signing out ends the sign-in on the server for every copy of its cookie: walk it last.
    for key, rule in sorted(routes(app), key=lambda item: item[0] == "POST /logout"):
        if key not in TABLE:
            continue
        method = key.split()[0]
        for who, expected in zip(WHO, TABLE[key].split(), strict=True):
            arguments = {**values, "run_id": unsubmitted if key in BODIES else values["run_id"]}
            if key.startswith("PUT /api/v1/runs/"):
                arguments["run_id"] = str(uuid.uuid4())
            path = rule.build({name: arguments[name] for name in rule.arguments}, append_unknown=False)[1]
            form, body = BODIES[key]() if key in BODIES else ({} if method != "GET" else None, None)
            cookie, token = sessions[who]
            client = app.test_client()  # a fresh client per request: one request cannot sign another out
            client.set_cookie("session", cookie)
            if form is not None:
                form = {**form, "csrf_token": token}
            response = client.open(path, method=method, headers={"X-CSRFToken": token}, data=form, json=body)
            got = classify(response, strict=key in BODIES)
            if got != expected:
                mismatches.append(f"{key:55} {who:8} expected {expected}, got {got} ({response.status_code}: "
                                  f"{response.get_data(as_text=True)[:120]!r})")
            response.close()
    assert not mismatches, "\n".join(mismatches)
