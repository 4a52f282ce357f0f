"""Migrations of the oversight figures kept so that a period's figures do not grow with history (issue 14): month
totals beside the day totals, runs started per day, the times to submission behind the medians, and the index
behind the review page's list of accompaniers.

Registered, in their global order, by donoharm/db/schema.py; a migration's function name is what the database
records as applied, so it never changes."""


def oversight_m001_month_totals_and_starts(db):
    # Oversight in time that does not grow with history (issue 14). Beside each day total, the total of its month,
    # moved by the same append (db/summaries.py): a year of figures reads twelve month rows and the days of the
    # partial months at its ends. Runs started per day (runs with no events too), counted by triggers as runs are
    # stored and deleted, so the page never counts the runs table.
    db.executescript(
        """
        CREATE TABLE run_months (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            month TEXT NOT NULL,
            submitted INTEGER NOT NULL DEFAULT 0,
            returned INTEGER NOT NULL DEFAULT 0,
            approved INTEGER NOT NULL DEFAULT 0,
            deviations INTEGER NOT NULL DEFAULT 0,
            na INTEGER NOT NULL DEFAULT 0,
            flags INTEGER NOT NULL DEFAULT 0,
            flagged_runs INTEGER NOT NULL DEFAULT 0,
            follow_ups_due INTEGER NOT NULL DEFAULT 0,
            follow_ups_on_time INTEGER NOT NULL DEFAULT 0,
            follow_ups_late INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, month, protocol_version)
        ) WITHOUT ROWID;
        CREATE TABLE step_months (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            month TEXT NOT NULL,
            step_id TEXT NOT NULL,
            runs INTEGER NOT NULL DEFAULT 0,
            answered INTEGER NOT NULL DEFAULT 0,
            na INTEGER NOT NULL DEFAULT 0,
            deviated INTEGER NOT NULL DEFAULT 0,
            flagged INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, month, protocol_version, step_id)
        ) WITHOUT ROWID;
        CREATE TABLE measure_months (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            month TEXT NOT NULL,
            measure TEXT NOT NULL,
            runs INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            paired_runs INTEGER NOT NULL DEFAULT 0,
            paired_total INTEGER NOT NULL DEFAULT 0,
            paired_of_total INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, month, protocol_version, measure)
        ) WITHOUT ROWID;
        CREATE INDEX run_months_by_month ON run_months (month);
        CREATE INDEX step_months_by_month ON step_months (month);
        CREATE INDEX measure_months_by_month ON measure_months (month);
        INSERT INTO run_months
            SELECT protocol_id, protocol_version, substr(start_day, 1, 7), sum(submitted), sum(returned),
                   sum(approved), sum(deviations), sum(na), sum(flags), sum(flagged_runs), sum(follow_ups_due),
                   sum(follow_ups_on_time), sum(follow_ups_late)
            FROM run_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7);
        INSERT INTO step_months
            SELECT protocol_id, protocol_version, substr(start_day, 1, 7), step_id, sum(runs), sum(answered), sum(na),
                   sum(deviated), sum(flagged)
            FROM step_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7), step_id;
        INSERT INTO measure_months
            SELECT protocol_id, protocol_version, substr(start_day, 1, 7), measure, sum(runs), sum(total),
                   sum(paired_runs), sum(paired_total), sum(paired_of_total)
            FROM measure_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7), measure;
        CREATE TABLE run_starts (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            started INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (protocol_id, start_day, protocol_version)
        ) WITHOUT ROWID;
        CREATE INDEX run_starts_by_day ON run_starts (start_day);
        INSERT INTO run_starts
            SELECT protocol_id, protocol_version, date(created_at), count(*) FROM runs WHERE mode = 'live'
            GROUP BY protocol_id, protocol_version, date(created_at);
        CREATE TRIGGER runs_stored_count_start AFTER INSERT ON runs WHEN NEW.mode = 'live'
        BEGIN
            INSERT INTO run_starts (protocol_id, protocol_version, start_day, started)
            VALUES (NEW.protocol_id, NEW.protocol_version, date(NEW.created_at), 1)
            ON CONFLICT DO UPDATE SET started = started + 1;
        END;
        CREATE TRIGGER runs_deleted_count_start AFTER DELETE ON runs WHEN OLD.mode = 'live'
        BEGIN
            UPDATE run_starts SET started = started - 1 WHERE protocol_id = OLD.protocol_id
                AND protocol_version = OLD.protocol_version AND start_day = date(OLD.created_at);
        END;
        """
    )


def review_m005_runs_by_creator_and_mode(db):
    # The review page's list of accompaniers (users with a live run): answered from this index alone, it no longer
    # reads each person's runs (issue 14: /review at 100,000 runs).
    db.executescript("CREATE INDEX runs_by_creator_mode ON runs (created_by, mode);")


def oversight_m002_submit_times(db):
    # The medians of time to submission without a row per run (issue 14): each day's and month's times, per
    # protocol version, as a sorted array of little-endian doubles, kept by the append (db/submit_times.py).
    import sys
    from array import array

    db.executescript(
        """
        CREATE TABLE submit_days (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            start_day TEXT NOT NULL,
            seconds BLOB NOT NULL,
            PRIMARY KEY (protocol_id, start_day, protocol_version)
        ) WITHOUT ROWID;
        CREATE TABLE submit_months (
            protocol_id TEXT NOT NULL,
            protocol_version TEXT NOT NULL,
            month TEXT NOT NULL,
            seconds BLOB NOT NULL,
            PRIMARY KEY (protocol_id, month, protocol_version)
        ) WITHOUT ROWID;
        CREATE INDEX submit_days_by_day ON submit_days (start_day);
        CREATE INDEX submit_months_by_month ON submit_months (month);
        """
    )
    groups = {}
    for protocol_id, version, day, seconds in db.execute(
            "SELECT protocol_id, protocol_version, start_day, seconds_to_submit FROM run_facts "
            "WHERE live = 1 AND submitted = 1 AND seconds_to_submit IS NOT NULL"):
        groups.setdefault(("submit_days", "start_day", protocol_id, version, day), []).append(seconds)
        groups.setdefault(("submit_months", "month", protocol_id, version, day[:7]), []).append(seconds)
    for (table, column, *key), values in groups.items():
        packed = array("d", sorted(values))
        if sys.byteorder == "big":
            packed.byteswap()
        db.execute(f"INSERT INTO {table} (protocol_id, protocol_version, {column}, seconds) VALUES (?, ?, ?, ?)",
                   [*key, packed.tobytes()])
