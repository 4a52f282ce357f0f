"""Migrations of the summaries kept beside each run by the append: review figures, day totals, harm signals,
fold snapshots.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


def review_m001_summaries(db):
    # Per-run and per-run-per-step figures cached from the fold, written in the same transaction as
    # each append, so the review queue and oversight never fold events per request.
    db.executescript(
        """
        CREATE TABLE run_facts (
            run_id TEXT PRIMARY KEY REFERENCES runs(id),
            live INTEGER NOT NULL,
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            submitted INTEGER NOT NULL DEFAULT 0,
            returned INTEGER NOT NULL DEFAULT 0,
            approved INTEGER NOT NULL DEFAULT 0,
            seconds_to_submit REAL,
            done_count INTEGER NOT NULL DEFAULT 0,
            na_count INTEGER NOT NULL DEFAULT 0,
            deviation_count INTEGER NOT NULL DEFAULT 0,
            returned_comment TEXT,
            returned_by TEXT,
            returned_at TEXT
        );
        CREATE INDEX run_facts_by_period ON run_facts (live, protocol_id, start_day);
        CREATE TABLE run_steps (
            run_id TEXT NOT NULL REFERENCES runs(id),
            step_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('todo', 'done', 'na')),
            deviated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, step_id)
        ) WITHOUT ROWID;
        CREATE INDEX runs_by_start ON runs (mode, protocol_id, date(created_at), protocol_version);
        CREATE INDEX runs_by_status_creator ON runs (mode, status, created_by);
        """
    )


def review_m002_day_totals(db):
    # Oversight figures per protocol version, start day and step, kept up to date by the same append
    # (add the run's new contribution, subtract its old one), so a year of figures is a few thousand rows.
    db.executescript(
        """
        CREATE TABLE run_days (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            submitted INTEGER NOT NULL DEFAULT 0,
            returned INTEGER NOT NULL DEFAULT 0,
            approved INTEGER NOT NULL DEFAULT 0,
            deviations INTEGER NOT NULL DEFAULT 0,
            na INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, start_day, protocol_version)
        ) WITHOUT ROWID;
        CREATE TABLE step_days (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            step_id TEXT NOT NULL,
            runs INTEGER NOT NULL DEFAULT 0,
            answered INTEGER NOT NULL DEFAULT 0,
            na INTEGER NOT NULL DEFAULT 0,
            deviated INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, start_day, protocol_version, step_id)
        ) WITHOUT ROWID;
        CREATE INDEX step_days_by_day ON step_days (start_day);
        CREATE INDEX run_days_by_day ON run_days (start_day);
        CREATE INDEX runs_by_start_day ON runs (mode, date(created_at), protocol_id, protocol_version);
        CREATE INDEX run_facts_durations ON run_facts (live, start_day, protocol_id, submitted, protocol_version,
                                                       seconds_to_submit);
        """
    )
    # For runs summarised before this migration (frozen here: the live code knows later columns).
    db.executescript(
        """
        INSERT INTO run_days SELECT protocol_id, protocol_version, start_day, sum(submitted), sum(returned > 0),
               sum(approved), sum(CASE WHEN submitted THEN deviation_count ELSE 0 END),
               sum(CASE WHEN submitted THEN na_count ELSE 0 END)
        FROM run_facts WHERE live = 1 GROUP BY protocol_id, protocol_version, start_day;
        INSERT INTO step_days SELECT f.protocol_id, f.protocol_version, f.start_day, s.step_id, count(*),
               sum(s.status = 'done'), sum(s.status = 'na'), sum(s.deviated)
        FROM run_facts f JOIN run_steps s ON s.run_id = f.run_id WHERE f.live = 1 AND f.submitted = 1
        GROUP BY f.protocol_id, f.protocol_version, f.start_day, s.step_id;
        """
    )


def review_m003_covering_start_index(db):
    # With created_at itself in the index, counting runs started in a period never reads the table.
    db.executescript(
        """
        DROP INDEX runs_by_start_day;
        CREATE INDEX runs_by_start_day ON runs (mode, date(created_at), protocol_id, protocol_version, created_at);
        """
    )


def review_m004_pending_summaries(db):
    # Runs with events stored before the summary tables existed; summarised at the next start (it needs the protocols).
    db.executescript(
        """
        CREATE TABLE review_pending (run_id TEXT PRIMARY KEY REFERENCES runs(id));
        INSERT INTO review_pending SELECT id FROM runs
            WHERE event_count > 0 AND id NOT IN (SELECT run_id FROM run_facts);
        """
    )


def signals_m001_flags_follow_ups_measures(db):
    # Harm signals (issue 16): red flags per run and step, follow-ups and their due dates, and outcome measures,
    # kept by the append like the other summaries. Every run with events is summarised again at the next start.
    db.executescript(
        """
        ALTER TABLE run_facts ADD COLUMN flag_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_facts ADD COLUMN follow_up_flag_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_facts ADD COLUMN follow_up_due_at TEXT;
        ALTER TABLE run_facts ADD COLUMN first_submitted_at TEXT;
        ALTER TABLE run_facts ADD COLUMN follow_ups_due INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_facts ADD COLUMN follow_ups_on_time INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_facts ADD COLUMN follow_ups_late INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_steps ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_days ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_days ADD COLUMN flagged_runs INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_days ADD COLUMN follow_ups_due INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_days ADD COLUMN follow_ups_on_time INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE run_days ADD COLUMN follow_ups_late INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE step_days ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE run_measures (
            run_id TEXT NOT NULL REFERENCES runs(id),
            measure TEXT NOT NULL,
            value INTEGER NOT NULL,
            of_value INTEGER,
            PRIMARY KEY (run_id, measure)
        ) WITHOUT ROWID;
        CREATE TABLE measure_days (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            measure TEXT NOT NULL,
            runs INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            paired_runs INTEGER NOT NULL DEFAULT 0,
            paired_total INTEGER NOT NULL DEFAULT 0,
            paired_of_total INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, start_day, protocol_version, measure)
        ) WITHOUT ROWID;
        CREATE INDEX measure_days_by_day ON measure_days (start_day);
        CREATE INDEX run_facts_follow_ups ON run_facts (follow_up_due_at) WHERE follow_up_due_at IS NOT NULL;
        CREATE INDEX run_facts_follow_up_flags ON run_facts (run_id) WHERE follow_up_flag_count > 0;
        INSERT OR IGNORE INTO review_pending SELECT id FROM runs WHERE event_count > 0;
        """
    )


def runs_m001_fold_snapshots(db):
    # Constant-time appends (issue 14, run_service): what validating the next events needs (RunState.snapshot),
    # written in each append's transaction, so an append never re-reads or re-folds the run's earlier events.
    # Any change to a stored event other than an append (an UPDATE or DELETE, the app's own redactions included)
    # drops the run's snapshot, so the next append reads and verifies the whole chain again (runs/integrity.py).
    db.executescript(
        """
        CREATE TABLE run_folds (
            run_id TEXT PRIMARY KEY REFERENCES runs(id),
            head_hash TEXT NOT NULL,
            event_count INTEGER NOT NULL,
            state TEXT NOT NULL
        );
        CREATE TRIGGER events_updated_drop_fold AFTER UPDATE ON events
        BEGIN DELETE FROM run_folds WHERE run_id = OLD.run_id; END;
        CREATE TRIGGER events_deleted_drop_fold AFTER DELETE ON events
        BEGIN DELETE FROM run_folds WHERE run_id = OLD.run_id; END;
        """
    )

