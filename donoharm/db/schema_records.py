"""Migrations of signed records and what is kept of deleted text and runs: the issue queue, disclosure
profiles, text commitments, the deletion register.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


def records_m001_due(db):
    # Signed records are issued off the request (records/queue.py): the append that changes a run's status
    # writes a row here in its own transaction; a worker issues the record and deletes the row, or notes the
    # failure and when to try again. Runs whose current status has no record yet (an issue that failed before
    # this table existed) are queued now.
    db.executescript(
        """
        CREATE TABLE records_due (
            run_id TEXT PRIMARY KEY REFERENCES runs(id),
            status TEXT NOT NULL,
            head_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            due_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_until TEXT,
            last_error TEXT
        );
        CREATE INDEX records_due_by_time ON records_due (next_attempt_at);
        INSERT INTO records_due (run_id, status, head_hash, reason, due_at, next_attempt_at)
            SELECT r.id, r.status, r.head_hash, 'late issue (' || r.status || ')', r.updated_at, r.updated_at
            FROM runs r
            WHERE r.status IN ('submitted', 'returned', 'approved')
              AND NOT EXISTS (SELECT 1 FROM records c
                              WHERE c.run_id = r.id AND c.status = r.status AND c.head_hash = r.head_hash);
        """
    )


def records_m002_profiles(db):
    # Two disclosure profiles of every record (issue 18, records/profiles.py): the internal record and its
    # shareable profile are issued together for the same chain head and status, each row naming the other by
    # pair_id. Records issued before are internal and have no pair.
    db.executescript(
        """
        ALTER TABLE records ADD COLUMN profile TEXT NOT NULL DEFAULT 'internal'
            CHECK (profile IN ('internal', 'shareable'));
        ALTER TABLE records ADD COLUMN pair_id TEXT;
        CREATE INDEX records_by_run_profile ON records (run_id, profile, issued_at);
        """
    )


def privacy_m001_text_commitments(db):
    # Data that does no harm (issue 18). Events sealed from now on chain their free text as a salted commitment
    # (runs/chain.py), so a redaction can delete text and salt while every hash still verifies; events stored
    # before keep their columns NULL and verify as they were sealed. text_confirmed: the person confirmed that a
    # text the personal-data guard questioned identifies nobody; text_flagged: the guard found something (the
    # supervisor sees it). redacted_records: records whose file held a text removed since (copies to destroy).
    db.executescript(
        """
        ALTER TABLE events ADD COLUMN text_salt TEXT;
        ALTER TABLE events ADD COLUMN text_commitment TEXT;
        ALTER TABLE events ADD COLUMN value_is_text INTEGER;
        ALTER TABLE events ADD COLUMN text_confirmed INTEGER;
        ALTER TABLE events ADD COLUMN text_flagged INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX events_text_flagged ON events (run_id) WHERE text_flagged = 1;
        CREATE TABLE redacted_records (
            record_id TEXT NOT NULL REFERENCES records(id),
            redaction_event TEXT NOT NULL,
            redacted_at TEXT NOT NULL,
            file_removed_at TEXT,
            PRIMARY KEY (record_id, redaction_event)
        );
        """
    )


def retention_m001_deletion_register(db):
    # Whole closed runs deleted by retention (issue 18, donoharm/services/retention.py): what stays of each
    # shows that it existed and where its history ended, never what it said. No label, no staff: a label can
    # name an operation and, with a date, the people in it.
    db.executescript(
        """
        CREATE TABLE deleted_runs (
            run_id TEXT PRIMARY KEY,
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            created_at TEXT NOT NULL,
            locked_at TEXT NOT NULL,
            deleted_at TEXT NOT NULL,
            head_hash TEXT NOT NULL,
            event_count INTEGER NOT NULL
        );
        """
    )
