"""Migrations of running the instance: integrity faults, the maintenance log, operations, transparency
reports.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


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


def transparency_m001_reports(db):
    # Published transparency reports (issue 22, donoharm/services/reports.py). `heads` (the chain heads of the runs a
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
