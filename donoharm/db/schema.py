"""Schema migrations, applied in order on start and by `flask db migrate`."""
from sqlite_utils.migrations import Migrations

migrations = Migrations("donoharm")


@migrations()
def m001_initial(db):
    db.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('accompanier', 'supervisor', 'trainer', 'admin')),
            active INTEGER NOT NULL DEFAULT 1,
            language TEXT,
            protocols_seen_at TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            protocol_sha256 TEXT NOT NULL,
            label TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('live', 'practice')),
            language TEXT NOT NULL DEFAULT 'en',
            created_by INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            genesis_hash TEXT NOT NULL,
            -- Cached from the event fold, updated in the same transaction as each append.
            status TEXT NOT NULL DEFAULT 'in_progress',
            head_hash TEXT NOT NULL,
            event_count INTEGER NOT NULL DEFAULT 0,
            submitted_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX runs_by_creator ON runs (created_by, updated_at);
        CREATE INDEX runs_by_status ON runs (mode, status, submitted_at);
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            step TEXT,
            value TEXT,
            note TEXT,
            at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            actor TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            UNIQUE (run_id, seq)
        );
        CREATE TABLE records (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            issued_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            status TEXT NOT NULL,
            head_hash TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            path TEXT NOT NULL
        );
        CREATE INDEX records_by_run ON records (run_id, issued_at);
        CREATE TABLE protocol_uploads (
            protocol_id TEXT NOT NULL,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            yaml_text TEXT NOT NULL,
            uploaded_by INTEGER REFERENCES users(id),
            uploaded_at TEXT NOT NULL,
            PRIMARY KEY (protocol_id, version)
        );
        CREATE TABLE protocol_lifecycle (
            protocol_id TEXT NOT NULL,
            version TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('current', 'retired')),
            set_by INTEGER REFERENCES users(id),
            set_at TEXT NOT NULL,
            PRIMARY KEY (protocol_id, version, state)
        );
        CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL,
            address TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX login_failures_by_user ON login_failures (username, at);
        CREATE INDEX login_failures_by_address ON login_failures (address, at);
        CREATE TABLE setup_tokens (
            token_hash TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            used_at TEXT
        );
        """
    )


@migrations()
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


@migrations()
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


@migrations()
def review_m003_covering_start_index(db):
    # With created_at itself in the index, counting runs started in a period never reads the table.
    db.executescript(
        """
        DROP INDEX runs_by_start_day;
        CREATE INDEX runs_by_start_day ON runs (mode, date(created_at), protocol_id, protocol_version, created_at);
        """
    )


@migrations()
def review_m004_pending_summaries(db):
    # Runs with events stored before the summary tables existed; summarised at the next start (it needs the protocols).
    db.executescript(
        """
        CREATE TABLE review_pending (run_id TEXT PRIMARY KEY REFERENCES runs(id));
        INSERT INTO review_pending SELECT id FROM runs
            WHERE event_count > 0 AND id NOT IN (SELECT run_id FROM run_facts);
        """
    )


@migrations()
def auth_m001_sign_ins(db):
    # One row per signed-in browser, so signing out, deactivation and the idle timeout end it on the
    # server too: the session cookie alone cannot be taken back once a copy of it exists.
    db.executescript(
        """
        CREATE TABLE sign_ins (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            last_seen REAL NOT NULL
        );
        CREATE INDEX sign_ins_by_user ON sign_ins (user_id);
        """
    )


@migrations()
def hardening_m001_rate_hits(db):
    # Fixed-window request counts shared by all gunicorn workers (see donoharm/rate_limit.py): one row per
    # bucket (e.g. 'verify'), client key and window number; windows older than the current one are pruned.
    db.executescript(
        """
        CREATE TABLE rate_hits (
            bucket TEXT NOT NULL,
            window INTEGER NOT NULL,
            key TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (bucket, window, key)
        ) WITHOUT ROWID;
        """
    )


@migrations()
def hardening_m002_login_failures_by_time(db):
    # Failures are kept a day and the old ones are deleted on every checked sign-in: by time, not by a scan.
    db.executescript("CREATE INDEX login_failures_by_time ON login_failures (at);")


@migrations()
def integrity_m001_faults(db):
    # Runs whose stored history stopped matching its seals (issue 15): one row per run, kept until an
    # administrator has dealt with it, so the fault stays visible after the page that found it.
    db.executescript(
        """
        CREATE TABLE integrity_faults (
            run_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            problem TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        );
        """
    )


@migrations()
def ops_m001_maintenance_log(db):
    # The last outcome of each maintenance task (backup, verify, checkpoint), for /healthz and monitors.
    db.executescript(
        """
        CREATE TABLE maintenance_log (
            task TEXT PRIMARY KEY,
            finished_at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            last_ok_at TEXT
        );
        -- One row the health check writes and reads back: the database takes writes, not only reads.
        CREATE TABLE health_probe (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at TEXT NOT NULL
        );
        """
    )


@migrations()
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


@migrations()
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


@migrations()
def operations_m001_operations(db):
    # An operation (issue 17) groups the runs of several protocols, by one or several staff, on one UTC day.
    # The link is organisational metadata kept beside the run: it is not part of the run's header, so the
    # genesis hash (runs/chain.py) does not cover it and runs stored before keep verifying unchanged.
    db.executescript(
        """
        CREATE TABLE operations (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            day TEXT NOT NULL,
            created_by INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX operations_by_day ON operations (day, created_at);
        ALTER TABLE runs ADD COLUMN operation_id TEXT REFERENCES operations(id);
        CREATE INDEX runs_by_operation ON runs (operation_id) WHERE operation_id IS NOT NULL;
        """
    )


@migrations()
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


@migrations()
def accounts_m001_invitations_two_factor_audit(db):
    # Accounts an organisation can run (issue 19). An invited person has a user row whose password_hash is
    # the marker '!' (no password can match it) until they choose one through their link. account_links holds
    # the SHA-256 of each one-time invitation or reset token, never the token. The TOTP secret is stored
    # readable (the server computes the codes): it is as sensitive as the rest of this database.
    # totp_last_step: the last time step accepted, so a code works once. Recovery codes are stored hashed.
    db.executescript(
        """
        ALTER TABLE users ADD COLUMN full_name TEXT;
        ALTER TABLE users ADD COLUMN totp_secret TEXT;
        ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
        ALTER TABLE users ADD COLUMN totp_enrolled_at TEXT;
        CREATE TABLE account_links (
            token_hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reset')),
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            voided_at TEXT
        );
        CREATE INDEX account_links_by_user ON account_links (user_id, kind, created_at);
        CREATE TABLE recovery_codes (
            user_id INTEGER NOT NULL REFERENCES users(id),
            code_hash TEXT NOT NULL,
            used_at TEXT,
            PRIMARY KEY (user_id, code_hash)
        ) WITHOUT ROWID;
        CREATE TABLE second_factor_failures (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            address TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX second_factor_failures_by_user ON second_factor_failures (user_id, at);
        CREATE INDEX second_factor_failures_by_time ON second_factor_failures (at);
        CREATE TABLE account_audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor_id INTEGER,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject_id INTEGER,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX account_audit_by_subject ON account_audit (subject_id, id);
        """
    )


@migrations()
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


@migrations()
def retention_m001_deletion_register(db):
    # Whole closed runs deleted by retention (issue 18, donoharm/retention.py): what stays of each shows that it
    # existed and where its history ended, never what it said. No label, no staff: a label can name an operation
    # and, with a date, the people in it.
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


@migrations()
def organisation_m001_settings(db):
    # The organisation's own settings (issue 19, donoharm/organisation.py): chosen at /setup and changed on
    # /admin/settings. One row; until it exists the environment's DONOHARM_ORGANISATION and DONOHARM_PAGE_SIZE
    # apply, so deployments configured by environment keep working.
    db.executescript(
        """
        CREATE TABLE organisation_settings (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            name TEXT NOT NULL,
            time_zone TEXT NOT NULL DEFAULT 'UTC',
            page_size TEXT NOT NULL DEFAULT 'A4' CHECK (page_size IN ('A4', 'Letter')),
            updated_at TEXT NOT NULL,
            updated_by TEXT
        );
        """
    )


@migrations()
def transparency_m001_reports(db):
    # Published transparency reports (issue 22, donoharm/reports.py). `heads` (the chain heads of the runs a
    # report counted, JSON) is never published: `reports check` uses it to show whether those runs changed.
    # The instance id names this instance in its reports; made once here, so it stays with the database.
    import uuid

    db.executescript(
        """
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            period_label TEXT NOT NULL,
            published_at TEXT NOT NULL,
            published_by TEXT NOT NULL,
            json_sha256 TEXT NOT NULL,
            pdf_sha256 TEXT NOT NULL,
            data_sha256 TEXT NOT NULL,
            heads TEXT NOT NULL,
            json_path TEXT NOT NULL,
            pdf_path TEXT NOT NULL
        );
        CREATE INDEX reports_by_period ON reports (period_start, period_end);
        CREATE TABLE instance_identity (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            instance_id TEXT NOT NULL
        );
        """
    )
    db.execute("INSERT INTO instance_identity (id, instance_id) VALUES (1, ?)", [str(uuid.uuid4())])


@migrations()
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
