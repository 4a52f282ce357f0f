"""An instance upgraded to harm signals: runs stored before are summarised with their red flags at the next start."""
from __future__ import annotations

import json
import shutil

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import summaries as summaries_db
from donoharm.db.schema import migrations
from donoharm.runs.chain import genesis_hash, seal
from tests.conftest import attestation, complete_answers


def sealed_before_commitments(run: dict, events: list[dict]) -> tuple[list[dict], str]:
    """The run's events as the code before text commitments sealed them (texts in the hash, no salt), and the
    head: what an instance from before the signals migration holds."""
    resealed, prev = [], genesis_hash({**run, "created_by": "acc"})
    for event in sorted(events, key=lambda e: e["seq"]):
        content = {k: v for k, v in event.items() if not k.startswith("text_") and k != "value_is_text"}
        content["run"] = content.pop("run_id")
        content["value"] = json.loads(content["value"]) if content["value"] is not None else None
        sealed = seal({k: v for k, v in content.items() if k not in ("prev_hash", "hash")}, prev)
        resealed.append({**event, "prev_hash": sealed["prev_hash"], "hash": sealed["hash"]})
        prev = sealed["hash"]
    return resealed, prev


def test_runs_stored_before_the_signals_migration_get_their_red_flags(app, api, tmp_path, key_folder):
    acc = api("acc")
    with app.app_context():
        protocol = app.extensions["donoharm.registry"].get("immigration-separation", "1.0.0")
    answers = [e if e["step"] != "family-contact-risk-assessed" else {**e, "value": "no"}
               for e in complete_answers(protocol)]
    run_id = acc.start_run()
    assert acc.send(run_id, *answers, attestation()).status_code == 200
    source = connect(app.config["DATABASE"])
    tables = {name: [dict(r) for r in source.execute(f"SELECT * FROM {name}").fetchall()]
              for name in ("users", "runs", "events", "run_facts", "run_steps", "run_days", "step_days")}
    source.conn.close()
    tables["events"], head = sealed_before_commitments(tables["runs"][0], tables["events"])
    tables["runs"][0]["head_hash"] = head

    # The same rows in a database at the schema before the signals migration.
    old = tmp_path / "old-instance"
    old.mkdir()
    for path in key_folder.iterdir():
        shutil.copy(path, old)
    db = connect(str(old / "donoharm.db"))
    migrations.apply(db, stop_before="signals_m001_flags_follow_ups_measures")
    for name, rows in tables.items():
        columns = set(db[name].columns_dict)  # the summaries as the code before the migration wrote them
        for row in rows:
            db[name].insert({key: value for key, value in row.items() if key in columns})
    db.conn.close()

    upgraded = create_app({"TESTING": True, "INSTANCE": old, "SECRET_KEY": "test"})
    db = connect(upgraded.config["DATABASE"])
    facts = summaries_db.run_facts_of(db, run_id)
    assert facts["flag_count"] == 1
    assert summaries_db.run_steps_of(db, run_id)["family-contact-risk-assessed"] == ("done", False, True)
    assert db.execute("SELECT sum(submitted), sum(flags), sum(flagged_runs) FROM run_days").fetchone()[:] == (1, 1, 1)
    assert db.execute("SELECT sum(runs), sum(flagged) FROM step_days WHERE step_id = 'family-contact-risk-assessed'"
                      ).fetchone()[:] == (1, 1)
    assert summaries_db.pending_runs(db) == []
    db.conn.close()
