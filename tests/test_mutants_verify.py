"""The verdict logic of record verification (records/verification.py), written for mutants `make mutate` found alive
(issue 14): what the JSON verdict says, how a file is matched against the records this server issued, the time a
certificate must have been valid at, and how an attachment is read within its limit. No PDF is signed here:
pyHanko's part is covered by tests/test_records*.py and tests/test_hardening_verify.py."""
from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from donoharm.records import verification as verify
from donoharm.records.verify import TooCostly, Verdict, bounded_stream_data, verdict_lines

DATA = b"%PDF-1.7 a record"
DB = object()  # the database handle, passed through to every query
RECORD = {"id": "rec-1", "run_id": "run-1", "head_hash": "h" * 64, "profile": "internal", "sha256": "s" * 64}


def test_the_json_verdict_names_every_finding():
    verdict = Verdict(intact=True, trusted=True, unmodified=True, matches_record=True, signer="Signer",
                      signed_at="2026-03-01T10:00:00+00:00", run_id="run-1", record_id="rec-1", head_hash="h",
                      signatures=2, latest=False, root_fingerprint="AB:CD", root_current=True,
                      timestamped_at="2026-03-01T10:00:05+00:00", timestamp_authority="TSA", profile="shareable",
                      other_profile_record_id="rec-2", other_profile_sha256="o", redacted_at="2026-04-01",
                      label="OP-TEST-001", protocol_id="proto", protocol_version="1.0.0", run_status="approved",
                      mode="live")
    assert verdict.to_json() == {
        "valid": True, "signer": "Signer", "signed_at": "2026-03-01T10:00:00+00:00", "run_id": "run-1",
        "record_id": "rec-1", "head_hash": "h", "matches_record": True, "signatures_intact": True,
        "signed_by_organisation": True, "unmodified_since_signing": True, "signatures": 2, "latest": False,
        "root_fingerprint": "AB:CD", "root_current": True, "timestamped_at": "2026-03-01T10:00:05+00:00",
        "timestamp_authority": "TSA", "profile": "shareable", "other_profile_record_id": "rec-2",
        "other_profile_sha256": "o", "redacted_at": "2026-04-01", "label": "OP-TEST-001", "protocol_id": "proto",
        "protocol_version": "1.0.0", "run_status": "approved", "mode": "live", "problems": []}
    verdict.problems.append("a problem")
    assert verdict.to_json()["valid"] is False and verdict.to_json()["problems"] == ["a problem"]


@pytest.fixture
def records(monkeypatch):
    """The records table, as the four queries verification makes see it."""
    found = {"by_sha": {hashlib.sha256(DATA).hexdigest(): RECORD}, "pair": None, "latest": RECORD, "redaction": None}

    def record_by_sha256(db, sha):
        assert db is DB
        return found["by_sha"].get(sha)

    def pair_of(db, record):
        assert db is DB and record == RECORD
        return found["pair"]

    def latest_record(db, run_id, profile):
        assert db is DB
        return found["latest"] if (run_id, profile) == ("run-1", "internal") else None

    def redaction_of(db, record_id):
        assert db is DB
        return found["redaction"] if record_id == "rec-1" else None

    for query in (record_by_sha256, pair_of, latest_record, redaction_of):
        monkeypatch.setattr(verify.records_db, query.__name__, query)
    return found


def matched(**fields) -> Verdict:
    verdict = Verdict(run_id="run-1", head_hash="h" * 64, profile="shareable", **fields)
    verify._match(DB, DATA, verdict)
    return verdict


def test_a_file_this_server_issued_matches_its_record(records):
    verdict = matched()
    assert (verdict.matches_record, verdict.record_id, verdict.profile, verdict.latest) == (True, "rec-1",
                                                                                            "internal", True)
    assert (verdict.other_profile_record_id, verdict.other_profile_sha256, verdict.redacted_at) == (None, None, None)
    assert verdict.problems == []


def test_a_matched_file_says_its_pair_a_newer_record_and_a_redaction(records):
    records.update(pair={"id": "rec-2", "sha256": "p" * 64}, latest={**RECORD, "id": "rec-9"},
                   redaction={"redacted_at": "2026-04-01T09:00:00+00:00"})
    verdict = matched()
    assert (verdict.other_profile_record_id, verdict.other_profile_sha256) == ("rec-2", "p" * 64)
    assert verdict.latest is False and verdict.redacted_at == "2026-04-01T09:00:00+00:00"
    records.update(latest=None)
    assert matched().latest is False


def test_a_file_not_issued_here_or_not_matching_its_record_is_refused(records):
    records["by_sha"] = {}
    verdict = matched()
    assert verdict.problems == ["this server did not issue this exact file"] and not verdict.matches_record
    records["by_sha"] = {hashlib.sha256(DATA).hexdigest(): RECORD}
    for fields in ({"run_id": "run-2"}, {"head_hash": "x" * 64}):
        verdict = Verdict(**{"run_id": "run-1", "head_hash": "h" * 64, **fields})
        verify._match(DB, DATA, verdict)
        assert verdict.problems == ["the run or chain head in the file differs from the record this server issued"]
        assert verdict.matches_record is False and verdict.record_id == "rec-1" and verdict.latest is None


def test_the_certificate_is_judged_at_the_proven_time_else_the_claimed_one_never_later_than_now():
    proven, claimed = datetime(2026, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    assert verify._moment(proven, claimed) == proven
    assert verify._moment(None, claimed) == claimed
    before = datetime.now(UTC)
    for moment in (verify._moment(None, None), verify._moment(None, datetime.now(UTC) + timedelta(days=30))):
        assert before <= moment <= datetime.now(UTC)


def test_fingerprints_and_embedded_texts_are_shown_safely():
    assert verify._colons("ABCDEF12") == "AB:CD:EF:12" and verify._colons("ABC") == "AB:C"
    assert verify._text("x" * 250) == "x" * 200 and verify._text("OP-TEST-001") == "OP-TEST-001"
    assert verify._text(42) is None and verify._text(None) is None


def test_the_command_line_adds_the_profile_its_pair_and_a_redaction():
    assert verdict_lines(Verdict()) == []
    internal = Verdict(profile="internal", other_profile_record_id="rec-2", other_profile_sha256="p" * 8,
                       redacted_at="2026-04-01T09:00:00+00:00")
    assert verdict_lines(internal) == [
        "Profile: internal — the complete record, for this organisation only",
        f"shareable profile of the same record: rec-2, sha256 {'p' * 8}",
        "superseded by a redaction on 2026-04-01: destroy copies of this file"]
    shareable = Verdict(profile="shareable", other_profile_record_id="rec-1", other_profile_sha256="q")
    assert verdict_lines(shareable) == [
        "Profile: shareable — no free text, roles instead of names, small counts hidden",
        "internal profile of the same record: rec-1, sha256 q"]


class Stream(dict):
    """A PDF stream as pyHanko gives it: its dictionary, and its data as stored."""

    def __init__(self, encoded: bytes, **entries):
        super().__init__({f"/{key}": value for key, value in entries.items()})
        self.encoded_data = encoded


MiB = 1024 * 1024


def test_an_attachment_is_read_plain_or_deflated_within_its_limit():
    text = b'{"run": {"id": "run-1"}}'
    assert bounded_stream_data(Stream(text), MiB) == text
    assert bounded_stream_data(Stream(zlib.compress(text), Filter="/FlateDecode"), MiB) == text
    assert bounded_stream_data(Stream(zlib.compress(text), Filter=["/FlateDecode"]), MiB) == text
    assert bounded_stream_data(Stream(zlib.compress(text), Filter="/Fl"), MiB) == text
    assert bounded_stream_data(Stream(b"x" * MiB), MiB) == b"x" * MiB  # exactly at the limit
    exactly = zlib.compress(b"x" * MiB)
    assert bounded_stream_data(Stream(exactly, Filter="/FlateDecode", Params={"/Size": MiB}), MiB) == b"x" * MiB


@pytest.mark.parametrize("stream", [
    Stream(b"x" * (MiB + 1)),
    Stream(zlib.compress(b"x" * (MiB + 1)), Filter="/FlateDecode"),
    Stream(zlib.compress(b"{}"), Filter="/FlateDecode", Params={"/Size": MiB + 1}),
    Stream(b"{}", Params={"/Size": MiB + 1}),
])
def test_an_attachment_past_its_limit_is_too_costly(stream):
    with pytest.raises(TooCostly, match=r"^its audit-record.json is larger than 1 MB once decompressed$"):
        bounded_stream_data(stream, MiB)


@pytest.mark.parametrize(("stream", "message"), [
    (Stream(b"x", Filter="/LZWDecode"), "unsupported attachment encoding"),
    (Stream(b"x", Filter=["/FlateDecode", "/ASCIIHexDecode"]), "unsupported attachment encoding"),
    (Stream(zlib.compress(b"{}"), Filter="/FlateDecode", DecodeParms={"/Predictor": 12}),
     "unsupported attachment encoding"),
    (Stream(b"not deflated", Filter="/FlateDecode"), "damaged attachment"),
])
def test_an_attachment_encoded_otherwise_than_this_server_writes_is_refused(stream, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        bounded_stream_data(stream, MiB)


def test_a_deflated_attachment_is_never_inflated_past_its_limit(monkeypatch):
    """A small file that inflates to gigabytes (a zip bomb) must be stopped at the limit, not inflated first."""
    real, produced = zlib.decompressobj, []

    class Counting:
        def __init__(self):
            self.inner = real()

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            produced.append(len(out))
            return out

    monkeypatch.setattr(verify.zlib, "decompressobj", Counting)
    with pytest.raises(TooCostly):
        bounded_stream_data(Stream(zlib.compress(b"\0" * (8 * MiB)), Filter="/FlateDecode"), MiB)
    assert produced == [MiB + 1]
