"""Configuration read from the environment, with safe defaults for a laptop."""
from __future__ import annotations

import os
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """The instance folder: DONOHARM_INSTANCE, else instance/ in the project root."""
    return Path(os.environ.get("DONOHARM_INSTANCE") or ROOT / "instance").resolve()


DEFAULT_ORGANISATION = "Do No Harm (unconfigured organisation)"
# Secret keys copied from examples and guides: a session signed with one can be forged by anyone who read them.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "change_me", "secret", "secret-key", "your-secret-key", "dev",
                       "development", "test", "password", "replace-me", "xxx", "..."}
MIN_SECRET_LENGTH = 32


class ConfigError(ValueError):
    """A setting the app must not start with; the message names the setting and says what to do."""


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


def retention_days(value: str | None) -> int | None:
    """DONOHARM_PRACTICE_RETENTION_DAYS as a whole number of days, or None to keep practice runs."""
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"DONOHARM_PRACTICE_RETENTION_DAYS must be a whole number of days, 1 or more (got {value!r})")
    return int(value)


def retain_setting(name: str, unit: str) -> int | None:
    """DONOHARM_RETAIN_TEXT_DAYS or DONOHARM_RETAIN_RUN_YEARS as a whole number, 1 or more; None (keep) unset."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of {unit}, 1 or more, or left out to keep for good "
                          f"(got {value!r})")
    return int(value)


def label_settings(pattern: str | None, hint: str | None) -> dict:
    """DONOHARM_LABEL_PATTERN (default: labels.DEFAULT_PATTERN) and DONOHARM_LABEL_HINT (one line of text)."""
    from .labels import DEFAULT_PATTERN, pattern_problem
    from .text import text_problem

    pattern = pattern if pattern is not None and pattern.strip() else DEFAULT_PATTERN
    problem = pattern_problem(pattern)
    if problem:
        raise ConfigError(f"DONOHARM_LABEL_PATTERN cannot be the label rule: {problem} (got {pattern!r})")
    hint = (hint or "").strip() or None
    if hint is not None and (text_problem(hint) or len(hint) > 300):
        raise ConfigError("DONOHARM_LABEL_HINT must be one line of printable text of at most 300 characters")
    return {"LABEL_PATTERN": pattern, "LABEL_HINT": hint}


def min_count(value: str | None) -> int:
    """DONOHARM_OVERSIGHT_MIN_COUNT: published counts under it show as '<N' (default 5)."""
    if value is None or not value.strip():
        return 5
    if not value.strip().isdigit():
        raise ConfigError(f"DONOHARM_OVERSIGHT_MIN_COUNT must be a whole number, 0 or more (got {value!r})")
    return int(value)


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


def tsa_settings(url: str | None, root: str | None, timeout: str | None) -> dict:
    """DONOHARM_TSA_URL, DONOHARM_TSA_ROOT (a PEM file) and DONOHARM_TSA_TIMEOUT (seconds, default 10)."""
    from urllib.parse import urlsplit

    url = (url or "").strip() or None
    root = (root or "").strip() or None
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"DONOHARM_TSA_URL must be an http(s) address of an RFC 3161 authority (got {url!r})")
        if root is None:
            raise ConfigError("DONOHARM_TSA_ROOT must name the timestamp authority's root certificate (a PEM file) "
                             "when DONOHARM_TSA_URL is set: timestamps are trusted only from an authority you name")
    if root is not None:
        if not Path(root).is_file():
            raise ConfigError(f"DONOHARM_TSA_ROOT names no file: {root}")
        from cryptography import x509

        try:
            x509.load_pem_x509_certificates(Path(root).read_bytes())
        except ValueError:
            raise ConfigError(f"DONOHARM_TSA_ROOT must be a PEM file of certificates: {root}") from None
    value = (timeout or "").strip() or "10"
    if not value.isdigit() or not 1 <= int(value) <= 120:
        raise ConfigError(f"DONOHARM_TSA_TIMEOUT must be a whole number of seconds from 1 to 120 (got {timeout!r})")
    return {"TSA_URL": url, "TSA_ROOT": root, "TSA_TIMEOUT": int(value)}


def choice(name: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed` from the environment variable `name`, or None when it is not set."""
    value = (os.environ.get(name) or "").strip().lower()
    if value and value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value or None


def whole_number(name: str, default: int) -> int:
    """A whole number from the environment variable `name`, or `default` when it is not set."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number (got {value!r})")
    return int(value)


def per_minute(name: str, default: int) -> int:
    """A per-minute limit from the environment variable `name`: a whole number, 0 for no limit."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number of requests per minute, 0 for no limit (got {value!r})")
    return int(value)


def base_url(value: str | None) -> str | None:
    """DONOHARM_BASE_URL: the address people reach the app at, e.g. https://records.example.org (no slash)."""
    if value is None or not value.strip():
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"DONOHARM_BASE_URL must be like https://records.example.org (got {value!r})")
    return value.strip().rstrip("/")


def host_list(value: str | None) -> list[str]:
    """DONOHARM_TRUSTED_HOSTS: host names separated by commas (a leading dot allows every subdomain)."""
    return [host.strip().lower() for host in (value or "").split(",") if host.strip()]


MAX_LOCK_MINUTES = 24 * 60


def lock_minutes(value: str | None) -> float:
    """DONOHARM_PHONE_LOCK_MINUTES: minutes without use before the phone's app locks (default 5; a fraction such
    as 0.5 is allowed, at least 0.05, i.e. 3 seconds, at most a day)."""
    if value is None or not value.strip():
        return 5
    try:
        minutes = float(value.strip())
    except ValueError:
        minutes = -1
    if not 0.05 <= minutes <= MAX_LOCK_MINUTES:
        raise ConfigError(f"DONOHARM_PHONE_LOCK_MINUTES must be a number of minutes from 0.05 to {MAX_LOCK_MINUTES} "
                          f"(got {value!r})")
    return minutes


def app_name(value: str | None) -> str | None:
    """DONOHARM_APP_NAME: the name the installed app and the pages' titles show (None: "Do No Harm")."""
    from .text import text_problem

    name = (value or "").strip()
    if not name:
        return None
    if text_problem(name) or len(name) > 40:
        raise ConfigError("DONOHARM_APP_NAME must be one line of printable text of at most 40 characters "
                          f"(got {value!r})")
    return name


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def app_icon(value: str | None) -> dict | None:
    """DONOHARM_APP_ICON: a square PNG file of at least 192 pixels; returns {path, width, height}, or None."""
    path = (value or "").strip()
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"DONOHARM_APP_ICON names no file: {path}")
    with file.open("rb") as handle:
        head = handle.read(24)
    # A PNG starts with its signature and the IHDR chunk, which holds the width and height.
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ConfigError(f"DONOHARM_APP_ICON must be a PNG file: {path}")
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if width != height or width < 192:
        raise ConfigError(f"DONOHARM_APP_ICON must be a square PNG of at least 192×192 pixels (got {width}×{height}): "
                          f"{path}")
    return {"path": str(file.resolve()), "width": width, "height": height}
