"""Signed receipts (issue 15, part 3): every append answers with one, and anyone holding it can check it
is genuine and still contained in the run's chain, through the API or the command line."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from donoharm.db import connect
from donoharm.db import runs as runs_db
from donoharm.records import receipts
from donoharm.records.receipts import FORMAT, check_receipt, make_receipt, shape_problems
from donoharm.records.signing import generate_keys, load_signing_key
from donoharm.runs.chain import genesis_hash, seal, text_commitment
from tests.conftest import event

# --- the pure module: building and checking, with certificates made here (EC keys: fast) ---


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(subject_key, subject, issuer_key, issuer, ca, days=30):
    # Valid from a day back: NOW below is taken when the module is collected, which in a full run is many
    # minutes before this module's tests (and its certificates) run.
    now = datetime.now(UTC) - timedelta(days=1)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


class EcKey:
    """What make_receipt needs of a signing key."""

    def __init__(self, key, certificate):
        self.key, self.certificate = key, certificate

    @property
    def certificate_der(self):
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign_bytes(self, data):
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def pki():
    """A root, an intermediate CA it issued, a leaf each of them issued, and a stranger's self-signed root."""
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ("root", "mid", "leaf", "direct", "other")}
    root = _cert(keys["root"], "Test root", keys["root"], "Test root", ca=True)
    mid = _cert(keys["mid"], "Test intermediate", keys["root"], "Test root", ca=True)
    leaf = _cert(keys["leaf"], "Test signer", keys["mid"], "Test intermediate", ca=False)
    direct = _cert(keys["direct"], "Test direct signer", keys["root"], "Test root", ca=False)
    other = _cert(keys["other"], "Test root", keys["other"], "Test root", ca=True)  # same name, other key
    return {"root": root, "mid": mid, "leaf": EcKey(keys["leaf"], leaf), "direct": EcKey(keys["direct"], direct),
            "other": EcKey(keys["other"], other), "mid_key": keys["mid"]}


HEAD = "a" * 64
NOW = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> str:
    """The time now: receipts signed with the session's key (valid from 5 minutes before it was made, which in a
    full run can be long after NOW was taken) are dated by it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
LATER = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
RUN = "0b9a6f1e-3d5c-4f7a-9b2e-1c8d7e6f5a40"


def chain_with(seq, head=HEAD):
    """A lookup for one run whose chain has `head` at position `seq`."""
    hashes = ["0" * 64] * seq + [head]
    return lambda run_id: hashes if run_id == RUN else None


def test_genuine_receipt_signed_directly_under_the_root_checks(pki):
    receipt = make_receipt(pki["direct"], RUN, 3, HEAD, NOW)
    verdict = check_receipt(receipt, [pki["root"]], chain_with(3))
    assert verdict.valid and verdict.genuine and verdict.contained, verdict.problems
    assert verdict.signer == "Test direct signer" and verdict.seq == 3 and "chain" not in receipt
    assert receipt["format"] == FORMAT


def test_the_signature_covers_every_field_but_itself(pki):
    receipt = make_receipt(pki["direct"], RUN, 3, HEAD, NOW)
    for name, value in (("run", str(uuid.uuid4())), ("seq", 2), ("head", "b" * 64), ("received_at", LATER),
                        ("extra", "added later")):
        verdict = check_receipt({**receipt, name: value}, [pki["root"]], chain_with(3))
        assert not verdict.valid and not verdict.genuine, name
        assert any("signature does not match" in p for p in verdict.problems), (name, verdict.problems)


def test_receipt_through_an_intermediate_checks_only_with_the_chain_it_carries(pki):
    receipt = make_receipt(pki["leaf"], RUN, 0, HEAD, NOW, [_der(pki["mid"])])
    assert check_receipt(receipt, [pki["root"]], chain_with(0)).valid
    unsigned_chain = {k: v for k, v in receipt.items() if k != "chain"}
    without = make_receipt(pki["leaf"], RUN, 0, HEAD, NOW)
    for broken in (without, unsigned_chain):
        verdict = check_receipt(broken, [pki["root"]], chain_with(0))
        assert not verdict.genuine
    assert any("root issued" in p for p in check_receipt(without, [pki["root"]], chain_with(0)).problems)


def test_a_certificate_that_is_not_a_ca_cannot_vouch_for_another(pki):
    """The root's ordinary signing certificate (not a CA) issues itself a subordinate: that must not count."""
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = EcKey(key, _cert(key, "Test sub-signer", pki["direct"].key, "Test direct signer", ca=False))
    receipt = make_receipt(leaf, RUN, 0, HEAD, NOW, [pki["direct"].certificate_der])
    verdict = check_receipt(receipt, [pki["root"]], chain_with(0))
    assert not verdict.genuine and any("root issued" in p for p in verdict.problems)


def test_a_self_signed_certificate_that_is_itself_the_root_checks(pki):
    receipt = make_receipt(pki["other"], RUN, 1, HEAD, NOW)
    assert check_receipt(receipt, [pki["other"].certificate], chain_with(1)).valid
    stranger = check_receipt(receipt, [pki["root"]], chain_with(1))  # same name as our root, other key
    assert not stranger.genuine and any("root issued" in p for p in stranger.problems)


def test_a_receipt_dated_outside_its_certificate_is_not_genuine(pki):
    receipt = make_receipt(pki["direct"], RUN, 1, HEAD, "2099-01-01T00:00:00.000Z")
    verdict = check_receipt(receipt, [pki["root"]], chain_with(1))
    assert not verdict.genuine and any("not valid at the receipt's time" in p for p in verdict.problems)


def test_the_chain_is_looked_at_only_for_a_genuine_receipt(pki):
    looked = []
    forged = {**make_receipt(pki["direct"], RUN, 1, HEAD, NOW), "seq": 5}
    verdict = check_receipt(forged, [pki["root"]], lambda run_id: looked.append(run_id))
    assert looked == [] and not verdict.contained
    assert not any("no such run" in p for p in verdict.problems)


@pytest.mark.parametrize("lookup, reason", [
    (lambda run_id: None, "no such run"),
    (lambda run_id: ["0" * 64, HEAD], "shorter than this receipt's position"),
    (lambda run_id: ["0" * 64] * 5, "no longer contains this head at this position"),
])
def test_genuine_but_not_contained(pki, lookup, reason):
    verdict = check_receipt(make_receipt(pki["direct"], RUN, 3, HEAD, NOW), [pki["root"]], lookup)
    assert verdict.genuine and not verdict.contained and not verdict.valid
    assert any(reason in p for p in verdict.problems), verdict.problems


@pytest.mark.parametrize("receipt, problem", [
    ([1, 2], "a receipt is a JSON object"),
    ({}, "'run' is missing"),
    ({"seq": "3"}, "'seq' must be a whole number"),
    ({"seq": True}, "'seq' must be a whole number"),
    ({"seq": -1}, "'seq' must be 0 or more"),
    ({"head": "A" * 64}, "'head' must be a sha256"),
    ({"head": "a" * 64 + "\n"}, "'head' must be a sha256"),
    ({"format": "donoharm-receipt/9"}, "'format' must be"),
    ({"run": 7}, "'run' must be text"),
    ({"chain": "MIIB"}, "'chain' must be a list"),
    ({"run": "\ud800"}, "not valid Unicode"),
])
def test_what_is_not_a_receipt_at_all_is_named(pki, receipt, problem):
    genuine = make_receipt(pki["direct"], RUN, 3, HEAD, NOW)
    candidate = receipt if isinstance(receipt, list) or receipt == {} else {**genuine, **receipt}
    assert any(problem in p for p in shape_problems(candidate)), shape_problems(candidate)
    assert not check_receipt(candidate, [pki["root"]], chain_with(3)).valid


def test_unreadable_certificate_or_signature_is_a_verdict_not_an_error(pki):
    genuine = make_receipt(pki["direct"], RUN, 3, HEAD, NOW)
    for change in ({"certificate": "not base64!"}, {"certificate": "AAAA"}, {"signature": "%%%"},
                   {"chain": ["AAAA"]}):
        verdict = check_receipt({**genuine, **change}, [pki["root"]], chain_with(3))
        assert not verdict.valid and verdict.problems, change


# --- through the app: receipts on every append, POST /api/v1/receipts/verify, the command line ---


def db_of(app):
    return connect(app.config["DATABASE"])


def rewrite_history(app, run_id, note):
    """Change the first event's note and re-seal the whole chain with the app's own sealing function,
    consistently, as someone with write access to the database could."""
    db = db_of(app)
    run = runs_db.get_run(db, run_id)
    prev = genesis_hash(run)
    for index, stored in enumerate(runs_db.events_of(db, run_id)):
        content = {**stored, "note": note} if index == 0 else stored
        if content.get("text_salt"):  # its texts' commitment too, with the salt stored beside them
            content = {**content, "text_commitment": text_commitment(content["text_salt"], content)}
        changed = seal(content, prev)
        db.execute("UPDATE events SET note = ?, text_commitment = ?, prev_hash = ?, hash = ? WHERE id = ?",
                   [changed["note"], changed.get("text_commitment"), changed["prev_hash"], changed["hash"],
                    stored["id"]])
        prev = changed["hash"]
    db.execute("UPDATE runs SET head_hash = ? WHERE id = ?", [prev, run_id])
    db.conn.close()


def verify(app, receipt, **kwargs):
    """Ask the API as someone who is not signed in (an auditor), without any CSRF token."""
    body = receipt if isinstance(receipt, bytes) else json.dumps(receipt).encode()
    return app.test_client().post("/api/v1/receipts/verify", data=body, content_type="application/json", **kwargs)


@pytest.fixture
def acc(signed_app, api):
    return api("acc")


@pytest.fixture
def sent(acc):
    """A run with three notes sent in two batches; its id and both receipts."""
    run_id = acc.start_run(label="OP-TEST-001")
    first = acc.send(run_id, event("note", note="Arrived at the staging area."),
                     event("note", note="Briefing held."))
    second = acc.send(run_id, event("note", note="Handover done."))
    assert first.status_code == second.status_code == 200
    return run_id, first.get_json()["receipt"], second.get_json()["receipt"]


def test_every_append_answers_with_a_receipt_for_its_head(signed_app, sent):
    run_id, first, second = sent
    assert (first["run"], first["seq"], second["seq"]) == (run_id, 2, 3)
    db = db_of(signed_app)
    stored = runs_db.events_of(db, run_id)
    db.conn.close()
    assert first["head"] == stored[1]["hash"] and second["head"] == stored[2]["hash"]
    assert second["received_at"] == stored[2]["received_at"]
    with signed_app.app_context():
        from donoharm.records.signing import signing_key

        assert base64.b64decode(first["certificate"]) == signing_key().certificate_der


def test_a_batch_of_replays_still_gets_a_receipt_for_the_current_head(acc):
    run_id = acc.start_run()
    note = event("note", note="Arrived.")
    acc.send(run_id, note, event("note", note="Left."))
    replay = acc.send(run_id, note).get_json()
    assert replay["accepted"] == [] and replay["duplicates"] == [note["id"]]
    assert replay["receipt"]["seq"] == 2 and replay["receipt"]["head"] == replay["head"]


def test_receipts_match_the_documented_schema(signed_app, sent):
    document = signed_app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    answer = document["paths"]["/api/v1/runs/{run_id}/events"]["post"]["responses"]["200"]
    assert "receipt" in answer["content"]["application/json"]["schema"]["required"]
    jsonschema.validate(sent[1], schemas["Receipt"])
    operation = document["paths"]["/api/v1/receipts/verify"]["post"]
    assert operation["security"] == []  # public: an auditor holding a receipt needs no account
    verdict = verify(signed_app, sent[1]).get_json()
    jsonschema.validate(verdict, schemas["ReceiptVerdict"])


def test_anyone_can_check_a_receipt_and_learns_nothing_else_about_the_run(signed_app, sent):
    run_id, first, second = sent
    for receipt in (first, second):  # an earlier receipt stays contained: the chain only grows
        response = verify(signed_app, receipt)
        assert response.status_code == 200
        body = response.get_json()
        assert body["valid"] and body["genuine"] and body["contained"] and body["problems"] == [], body
        assert "OP-TEST-001" not in response.get_data(as_text=True)
        assert set(body) == {"valid", "genuine", "contained", "signer", "run", "seq", "head", "received_at",
                             "problems"}


def test_a_changed_receipt_is_not_valid_and_says_why(signed_app, sent):
    _run_id, first, second = sent
    body = verify(signed_app, {**first, "seq": 3, "head": second["head"]}).get_json()
    assert body["valid"] is False and body["genuine"] is False
    assert any("signature does not match" in p for p in body["problems"])


def test_a_receipt_signed_with_another_key_is_not_valid(signed_app, sent, tmp_path):
    run_id, first, _ = sent
    generate_keys(tmp_path / "other", "Other Organisation")
    other = load_signing_key(tmp_path / "other", "Other Organisation")
    forged = make_receipt(other, run_id, first["seq"], first["head"], first["received_at"])
    body = verify(signed_app, forged).get_json()
    assert body["valid"] is False and body["genuine"] is False
    assert any("root issued" in p for p in body["problems"])


def test_a_receipt_still_checks_after_the_signing_certificate_is_replaced(signed_app, sent):
    """The receipt carries its certificate: a new signing certificate from the same root changes nothing."""
    _run_id, first, _ = sent
    _replace_signing_certificate(signed_app)
    with signed_app.app_context():
        from donoharm.records.signing import signing_key

        assert base64.b64decode(first["certificate"]) != signing_key().certificate_der
    assert verify(signed_app, first).get_json()["valid"] is True


def _replace_signing_certificate(app):
    """Issue a new signing certificate from the instance's root, as a renewal would, and reload the key."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = Path(app.instance_path)
    root_key = serialization.load_pem_private_key((folder / "signing-root.key").read_bytes(), None)
    root = x509.load_pem_x509_certificate((folder / "signing-root.pem").read_bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC) - timedelta(minutes=5)
    leaf = (x509.CertificateBuilder().subject_name(_name("Test Organisation audit records, renewed"))
            .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    (folder / "signing.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    (folder / "signing.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    app.extensions.pop("donoharm_signing", None)


def test_a_receipt_from_before_a_rewrite_is_no_longer_contained(signed_app, sent):
    run_id, first, second = sent
    rewrite_history(signed_app, run_id, "Arrived somewhere else.")
    for receipt in (first, second):
        body = verify(signed_app, receipt).get_json()
        assert body["genuine"] is True and body["contained"] is False and body["valid"] is False
        assert any("no longer contains this head at this position" in p for p in body["problems"]), body


def test_an_event_changed_without_resealing_is_not_contained_either(signed_app, sent):
    """The chain is recomputed from the stored content, not read from the stored hashes."""
    run_id, first, second = sent
    db = db_of(signed_app)
    db.execute("UPDATE events SET note = ? WHERE run_id = ? AND seq = 2", ["Nothing was briefed.", run_id])
    db.conn.close()
    assert verify(signed_app, second).get_json()["contained"] is False
    body = verify(signed_app, first).get_json()
    assert body["contained"] is False and any("no longer contains" in p for p in body["problems"])


def test_a_receipt_beyond_the_chain_says_events_are_gone(signed_app, sent):
    run_id, first, second = sent
    db = db_of(signed_app)
    last = runs_db.events_of(db, run_id)[-1]
    db.execute("DELETE FROM events WHERE id = ?", [last["id"]])
    db.execute("UPDATE runs SET head_hash = ?, event_count = 2 WHERE id = ?", [first["head"], run_id])
    db.conn.close()
    body = verify(signed_app, second).get_json()
    assert body["genuine"] and not body["contained"]
    assert any("shorter than this receipt's position" in p for p in body["problems"]), body
    assert verify(signed_app, first).get_json()["valid"] is True


def test_a_genuine_receipt_for_a_run_the_server_does_not_have(signed_app, sent):
    with signed_app.app_context():
        from donoharm.records.receipting import intermediates
        from donoharm.records.signing import signing_key

        key = signing_key()
        assert intermediates(key) == []  # the generated key: the root issued the signing certificate
        receipt = make_receipt(key, str(uuid.uuid4()), 1, HEAD, now())
    body = verify(signed_app, receipt).get_json()
    assert body["genuine"] and not body["valid"]
    assert any("no such run" in p for p in body["problems"]), body


def test_a_forged_receipt_says_nothing_about_whether_the_run_exists(signed_app, sent, tmp_path):
    generate_keys(tmp_path / "other", "Other Organisation")
    other = load_signing_key(tmp_path / "other", "Other Organisation")
    known = verify(signed_app, make_receipt(other, sent[0], 1, HEAD, now())).get_json()
    unknown = verify(signed_app, make_receipt(other, str(uuid.uuid4()), 1, HEAD, now())).get_json()
    assert known["problems"] == unknown["problems"] and known["contained"] is unknown["contained"] is False


@pytest.mark.parametrize("body, status, code", [
    (b"", 400, "empty_body"),
    (b"not json at all", 400, "not_json"),
    (b"\xff\xfe\x00garbage", 400, "not_json"),
    (b"[" * 100_000, 413, "too_large"),
    (b"[" * 50_000, 400, "not_json"),
    (b'"a receipt"', 422, "invalid_receipt"),
    (b'{"format": "donoharm-receipt/1"}', 422, "invalid_receipt"),
    (b'{"run": "\\ud800"}', 422, "invalid_receipt"),
])
def test_what_is_not_a_receipt_gets_a_clear_4xx(signed_app, users, body, status, code):
    response = verify(signed_app, body)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_missing_fields_are_listed(signed_app, sent):
    response = verify(signed_app, {k: v for k, v in sent[1].items() if k not in ("head", "signature")})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]) == {"'head' is missing", "'signature' is missing"}


def test_receipt_checks_are_rate_limited_per_client(signed_app, sent, monkeypatch):
    from donoharm.web import rate_limit

    monkeypatch.setattr(rate_limit, "_clock", lambda: 1_800_000_030.0)  # mid-window: one window for all three
    signed_app.config["VERIFY_RATE_LIMIT"] = 2
    client = signed_app.test_client()
    answers = [client.post("/api/v1/receipts/verify", json=sent[1]) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_an_append_whose_receipt_cannot_be_signed_still_succeeds(acc, monkeypatch, caplog):
    from donoharm.records import receipting

    def broken(*args, **kwargs):
        raise OSError("the key file is unreadable")

    monkeypatch.setattr(receipting, "make_receipt", broken)
    run_id = acc.start_run()
    response = acc.send(run_id, event("note", note="Arrived."))
    assert response.status_code == 200 and response.get_json()["receipt"] is None
    assert len(response.get_json()["accepted"]) == 1
    assert "could not sign a receipt" in caplog.text


# --- flask --app app records check-receipt FILE.json ---


def check_file(app, tmp_path, content):
    path = tmp_path / "receipt.json"
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return app.test_cli_runner().invoke(args=["records", "check-receipt", str(path)])


def test_cli_genuine_receipt_exits_0(signed_app, sent, tmp_path):
    result = check_file(signed_app, tmp_path, sent[2])
    assert result.exit_code == 0, result.output
    assert "receipt.json: VALID" in result.output and "yes  still in the run's chain" in result.output
    assert f"position: {sent[2]['seq']}" in result.output


def test_cli_after_a_rewrite_exits_1_and_says_why(signed_app, sent, tmp_path):
    rewrite_history(signed_app, sent[0], "Arrived somewhere else.")
    result = check_file(signed_app, tmp_path, sent[2])
    assert result.exit_code == 1
    assert "NOT VALID" in result.output and "NO   still in the run's chain" in result.output
    assert "no longer contains this head" in result.output


def test_cli_changed_receipt_exits_1(signed_app, sent, tmp_path):
    result = check_file(signed_app, tmp_path, {**sent[2], "received_at": now()})
    assert result.exit_code == 1 and "NO   signed by this server" in result.output
    assert "signature does not match" in result.output


@pytest.mark.parametrize("content, says", [
    (b"this is not json", "not a receipt: not JSON"),
    (b"\xff\xfe\xfd", "not a receipt: not JSON"),
    (b"[" * 100_000, "larger than 64 KB"),
    (b"[" * 60_000, "nested too deeply"),
    (b"[]", "a receipt is a JSON object"),
    (b'{"seq": 1}', "'run' is missing"),
])
def test_cli_what_is_not_a_receipt_exits_1_without_a_traceback(signed_app, users, tmp_path, content, says):
    result = check_file(signed_app, tmp_path, content)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "NOT VALID" in result.output and says in result.output, result.output
    assert "Traceback" not in result.output


def test_receipts_module_stays_free_of_flask_and_sql():
    import ast

    tree = ast.parse(Path(receipts.__file__).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not [name for name in imported if name.split(".")[0] in ("flask", "sqlite3", "sqlite_utils")
                or name.split(".")[0] == "db"], imported  # from ..db import …: the SQL module
