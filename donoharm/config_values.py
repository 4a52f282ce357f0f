"""Each setting read from the environment and checked: a value the app must not start with raises ConfigError,
whose message names the variable and says what to do. Put together by load_config (config.py)."""
from __future__ import annotations

import os
from pathlib import Path


class ConfigError(ValueError):
    """A setting the app must not start with; the message names the setting and says what to do."""


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
