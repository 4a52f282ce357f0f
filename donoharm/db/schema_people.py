"""Migrations of people and access: sign-ins, rate limits, invitations and two-step sign-in, the
organisation's settings.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


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


def hardening_m001_rate_hits(db):
    # Fixed-window request counts shared by all gunicorn workers (see donoharm/web/rate_limit.py): one row per
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


def hardening_m002_login_failures_by_time(db):
    # Failures are kept a day and the old ones are deleted on every checked sign-in: by time, not by a scan.
    db.executescript("CREATE INDEX login_failures_by_time ON login_failures (at);")


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


def organisation_m001_settings(db):
    # The organisation's own settings (issue 19, donoharm/services/organisation.py): chosen at /setup and changed on
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
