"""Trainers' view of practice runs: who practised which version, critical steps missed or marked N/A."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from donoharm.web import practice
from tests.conftest import event
from tests.test_trainer_pages import signed_in

PROTOCOL = "immigration-separation"


def test_practice_runs_show_missed_and_na_critical_steps(app, users, api, monkeypatch):
    registry = app.extensions["donoharm.registry"]
    protocol = registry.get(PROTOCOL, "1.0.0")
    critical = protocol.critical_steps
    trainee = api("acc")
    run_id = trainee.start_run(PROTOCOL, "1.0.0", label="TRAINING-01", mode="practice")
    answers = [event("step.set", s.id, s.option_ids()[0] if s.kind == "choice" else
                     {"check": True, "yesno": "yes", "count": 1, "time": "10:00", "text": "Done."}[s.kind])
               for s in critical[2:]]
    answers.append(event("step.na", critical[1].id, note="No such venue in the exercise."))
    assert trainee.send(run_id, *answers).status_code == 200
    live = api("acc2").start_run(PROTOCOL, "1.0.0", label="OP-TEST-LIVE-1", mode="live")

    # Two days later, the run left in progress: its open critical steps count as missed.
    monkeypatch.setattr(practice, "_now", lambda: datetime.now(UTC) + timedelta(days=2))
    page = signed_in(app, "trainer").get("/practice").get_data(as_text=True)
    assert "TRAINING-01" in page and "acc" in page
    assert "OP-TEST-LIVE-1" not in page and live not in page  # live runs are not practice
    missed_part = page.split("Critical steps missed (left open):")[1].split("Critical steps marked N/A:")[0]
    na_part = page.split("Critical steps marked N/A:")[1].split("</ul>")[0]
    assert critical[0].text in missed_part and critical[1].text not in missed_part
    assert critical[1].text in na_part
    assert "1 practice run" in page


def test_only_trainers_and_admins_see_practice_runs(app, users):
    for name, status in [("acc", 403), ("sup", 403), ("trainer", 200), ("admin", 200)]:
        assert signed_in(app, name).get("/practice").status_code == status, name
