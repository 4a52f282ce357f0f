"""Configuration read from the environment, with safe defaults for a laptop.

load_config names every DONOHARM_* variable; each is read and checked by a function in config_values.py, whose
names stay importable from here."""
from __future__ import annotations

import os
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from .config_values import (  # noqa: F401  (importable from config, as before)
    MAX_LOCK_MINUTES,
    PNG_SIGNATURE,
    ConfigError,
    app_icon,
    app_name,
    base_url,
    choice,
    host_list,
    label_settings,
    lock_minutes,
    min_count,
    per_minute,
    retain_setting,
    retention_days,
    tsa_settings,
    whole_number,
)

ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """The instance folder: DONOHARM_INSTANCE, else instance/ in the project root."""
    return Path(os.environ.get("DONOHARM_INSTANCE") or ROOT / "instance").resolve()


DEFAULT_ORGANISATION = "Do No Harm (unconfigured organisation)"
# Secret keys copied from examples and guides: a session signed with one can be forged by anyone who read them.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "change_me", "secret", "secret-key", "your-secret-key", "dev",
                       "development", "test", "password", "replace-me", "xxx", "..."}
MIN_SECRET_LENGTH = 32


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (mode 0600), created that way from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, whole or not at all: a temporary file beside it, flushed to
    disk, then renamed over the name. A full disk leaves no partial record behind."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def secret_key(instance: Path) -> str:
    """DONOHARM_SECRET_KEY, else a key generated once and kept in the instance folder."""
    configured = os.environ.get("DONOHARM_SECRET_KEY")
    if configured:
        if configured.strip().lower() in PLACEHOLDER_SECRETS or len(configured.strip()) < MIN_SECRET_LENGTH:
            raise ConfigError(f"DONOHARM_SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters: "
                              "set a long random value (python3 -c 'import secrets; print(secrets.token_hex(32))') "
                              "or leave it out to have one generated into the instance folder")
        return configured
    path = instance / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_hex(32).encode())
    return path.read_text().strip()


def load_config(instance: Path) -> dict:
    """Return the Flask configuration for an instance folder."""
    return {
        "SECRET_KEY": secret_key(instance),
        "DATABASE": str(instance / "donoharm.db"),
        "PROTOCOLS_DIR": str(ROOT / "protocols"),
        "ORGANISATION_NAME": os.environ.get("DONOHARM_ORGANISATION", DEFAULT_ORGANISATION),
        "SIGNING_P12": os.environ.get("DONOHARM_SIGNING_P12"),
        "SIGNING_P12_PASSWORD": os.environ.get("DONOHARM_SIGNING_P12_PASSWORD"),
        # With an organisation's PKCS#12 from a CA that publishes revocation information (CRL/OCSP), fetch it
        # when signing and embed it in the record (PAdES B-LT). Off by default: the generated root has none.
        "SIGNING_FETCH_REVOCATION": os.environ.get("DONOHARM_SIGNING_FETCH_REVOCATION") == "1",
        # RFC 3161 timestamps on record signatures and checkpoints (records/timestamps.py): the authority's
        # address, the root certificate(s) to trust it by (PEM), and how long to wait for an answer.
        **tsa_settings(os.environ.get("DONOHARM_TSA_URL"), os.environ.get("DONOHARM_TSA_ROOT"),
                       os.environ.get("DONOHARM_TSA_TIMEOUT")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Set here, not with setdefault in security.py: Flask's defaults (not Secure, 31 days) would win.
        "SESSION_COOKIE_SECURE": os.environ.get("DONOHARM_HTTPS") == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(os.environ.get("DONOHARM_IDLE_MINUTES", "720"))),
        "WTF_CSRF_TIME_LIMIT": None,
        # Over HTTPS Flask-WTF also demands a same-origin Referer, which Referrer-Policy: no-referrer
        # stops browsers from sending: every form would fail. The token and SameSite=Lax still protect.
        "WTF_CSRF_SSL_STRICT": False,
        # Sign-in throttling (see auth.py): failures in the window after which a failing pair waits 2^k s.
        "LOGIN_WINDOW_SECONDS": 24 * 60 * 60,  # unforgotten failures count for a day; a success forgets its own
        "LOGIN_PAIR_FAILURES": 3,  # of one account from one address
        "LOGIN_ADDRESS_FAILURES": 20,  # from one address on any account
        "LOGIN_ACCOUNT_FAILURES": 10,  # on one account from any address
        "LOGIN_MAX_DELAY_SECONDS": 15 * 60,
        # Who must sign in with a second factor (accounts/two_factor.py): "reviewers" (supervisors and
        # administrators, the default), "all", or "none" (evaluation and tests only; administrators are warned).
        "REQUIRE_2FA": choice("DONOHARM_REQUIRE_2FA", ("reviewers", "all", "none")) or "reviewers",
        "OVERSIGHT_MIN_COUNT": min_count(os.environ.get("DONOHARM_OVERSIGHT_MIN_COUNT")),
        "PRACTICE_RETENTION_DAYS": retention_days(os.environ.get("DONOHARM_PRACTICE_RETENTION_DAYS")),
        # Retention of closed runs (retention.py, run by `db purge` from the maintenance timer): their free texts
        # are redacted this many days after the run was locked, the whole run deleted this many years after.
        # Unset: kept for good.
        "RETAIN_TEXT_DAYS": retain_setting("DONOHARM_RETAIN_TEXT_DAYS", "days"),
        "RETAIN_RUN_YEARS": retain_setting("DONOHARM_RETAIN_RUN_YEARS", "years"),
        # The rule every run and operation label must follow (labels.py): a pattern the whole label matches,
        # and the organisation's own words for it (else the default's, or a sentence naming the pattern).
        **label_settings(os.environ.get("DONOHARM_LABEL_PATTERN"), os.environ.get("DONOHARM_LABEL_HINT")),
        # Full backups (backup/full.py): the folder `db backup --full` writes into when given no DEST, and how
        # many of its archives `--into` keeps (0: all); the value is checked when a backup runs.
        "BACKUP_DIR": os.environ.get("DONOHARM_BACKUP_DIR") or None,
        "BACKUP_KEEP": os.environ.get("DONOHARM_BACKUP_KEEP", "14"),
        # How queued records are issued (records/queue.py): "thread" in each server process (the default),
        # "off" (only `records issue-due`, e.g. from a timer), "inline" (the tests' default).
        "RECORDS_WORKER": choice("DONOHARM_RECORDS_WORKER", ("thread", "off", "inline")),
        # GET /healthz (web/health.py): free space below this fails; a record waiting longer than this fails;
        # a backup or db verify whose last success is older than this fails.
        "HEALTH_MIN_FREE_MB": whole_number("DONOHARM_HEALTH_MIN_FREE_MB", 500),
        "HEALTH_RECORD_GRACE_MINUTES": whole_number("DONOHARM_HEALTH_RECORD_GRACE_MINUTES", 10),
        "HEALTH_MAX_TASK_AGE_HOURS": whole_number("DONOHARM_HEALTH_MAX_TASK_AGE_HOURS", 36),
        # Limits on costly anonymous work (rate_limit.py), per client and minute; 0 switches one off.
        "VERIFY_RATE_LIMIT": per_minute("DONOHARM_VERIFY_PER_MINUTE", 20),
        "PDF_RATE_LIMIT": per_minute("DONOHARM_PDF_PER_MINUTE", 10),  # handout/what-changed PDFs not cached yet
        # The address share links and QR codes use (never the request's Host header unless trusted).
        "BASE_URL": base_url(os.environ.get("DONOHARM_BASE_URL")),
        "SHARE_TRUSTED_HOSTS": host_list(os.environ.get("DONOHARM_TRUSTED_HOSTS")),
        # The phone (static/js/vault.js, lock.js): minutes without use after which the app locks and asks for
        # the PIN; the installed app's name and icon, which an organisation may make neutral.
        "PHONE_LOCK_MINUTES": lock_minutes(os.environ.get("DONOHARM_PHONE_LOCK_MINUTES")),
        "APP_NAME": app_name(os.environ.get("DONOHARM_APP_NAME")),
        "APP_ICON": app_icon(os.environ.get("DONOHARM_APP_ICON")),
    }


LOOPBACK_HOSTS = ["localhost", "127.0.0.1"]
