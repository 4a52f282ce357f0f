"""Schema migrations, applied in order on start and by `flask db migrate`.

The migrations live by area in sibling modules (schema_initial, schema_summaries, schema_oversight,
schema_people, schema_records, schema_operations); this module registers them in the one global order they were
written in. A database records each applied migration by its function name, so names and order never change: a
new migration goes at the end."""
from sqlite_utils.migrations import Migrations

from . import schema_initial, schema_operations, schema_oversight, schema_people, schema_records, schema_summaries

migrations = Migrations("donoharm")

for _step in (
    schema_initial.m001_initial,
    schema_summaries.review_m001_summaries,
    schema_summaries.review_m002_day_totals,
    schema_summaries.review_m003_covering_start_index,
    schema_summaries.review_m004_pending_summaries,
    schema_people.auth_m001_sign_ins,
    schema_people.hardening_m001_rate_hits,
    schema_people.hardening_m002_login_failures_by_time,
    schema_operations.integrity_m001_faults,
    schema_operations.ops_m001_maintenance_log,
    schema_records.records_m001_due,
    schema_summaries.signals_m001_flags_follow_ups_measures,
    schema_operations.operations_m001_operations,
    schema_records.privacy_m001_text_commitments,
    schema_people.accounts_m001_invitations_two_factor_audit,
    schema_records.records_m002_profiles,
    schema_records.retention_m001_deletion_register,
    schema_people.organisation_m001_settings,
    schema_operations.transparency_m001_reports,
    schema_summaries.runs_m001_fold_snapshots,
    schema_oversight.oversight_m001_month_totals_and_starts,
    schema_oversight.review_m005_runs_by_creator_and_mode,
    schema_oversight.oversight_m002_submit_times,
):
    migrations()(_step)
