"""Times as text in one place (donoharm/timefmt.py): what is stored, and what people read."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from donoharm import timefmt


def test_stored_times_are_utc_ending_in_z_to_the_chosen_precision():
    moment = datetime(2026, 5, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))
    assert timefmt.iso_z(moment) == "2026-05-01T03:30:15Z"
    assert timefmt.iso_z(moment, "milliseconds") == "2026-05-01T03:30:15.123Z"
    assert timefmt.parse("2026-05-01T03:30:15Z") == moment.replace(microsecond=0)
    assert timefmt.parse("2026-05-01T03:30:15").tzinfo == UTC  # a time without an offset is UTC


def test_clock_reads_as_the_device_recorded_it_or_in_utc():
    assert timefmt.clock("2026-05-01T10:30:00+07:00") == "10:30"
    assert timefmt.clock("2026-05-01T10:30:00+07:00", in_utc=True) == "03:30"
    assert timefmt.clock(None) == "" and timefmt.clock("not a time") == ""


def test_a_localised_time_falls_back_to_the_text_that_is_not_a_time(app):
    with app.test_request_context():
        assert timefmt.medium("not a time") == "not a time" and timefmt.medium(None) == ""
        shown = timefmt.medium("2026-05-01T03:30:15Z")
        assert shown != "2026-05-01T03:30:15Z" and "2026" in shown and "Z" not in shown  # read, not passed through


def test_a_time_as_written_keeps_its_own_offset_or_its_lack_of_one():
    """Records show a time written without a zone as it is, and receipts refuse one: neither may guess UTC."""
    assert timefmt.parse_as_written("2026-05-01T10:30:00+07:00").utcoffset() == timedelta(hours=7)
    assert timefmt.parse_as_written("2026-05-01T03:30:00Z").tzinfo == UTC
    assert timefmt.parse_as_written("2026-05-01T03:30:00").tzinfo is None


def test_no_module_reads_iso_times_by_hand():
    """Every stored or sent time is read through timefmt, so a change of format is made in one place."""
    root = Path(__file__).resolve().parent.parent / "donoharm"
    by_hand = [str(path.relative_to(root)) for path in root.rglob("*.py")
               if path.name != "timefmt.py" and '.replace("Z", "+00:00")' in path.read_text("utf-8")]
    assert by_hand == []
