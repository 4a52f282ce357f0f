"""The first schema: users, runs and their events, records, protocols, sign-in failures, setup tokens.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


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
