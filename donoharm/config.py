"""Configuration read from the environment, with safe defaults for a laptop."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """The instance folder: DONOHARM_INSTANCE, else instance/ in the project root."""
    return Path(os.environ.get("DONOHARM_INSTANCE") or ROOT / "instance").resolve()


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (mode 0600), created that way from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def secret_key(instance: Path) -> str:
    """DONOHARM_SECRET_KEY, else a key generated once and kept in the instance folder."""
    configured = os.environ.get("DONOHARM_SECRET_KEY")
    if configured:
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
        "ORGANISATION_NAME": os.environ.get("DONOHARM_ORGANISATION", "Do No Harm (unconfigured organisation)"),
        "SIGNING_P12": os.environ.get("DONOHARM_SIGNING_P12"),
        "SIGNING_P12_PASSWORD": os.environ.get("DONOHARM_SIGNING_P12_PASSWORD"),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_FAILURES_PER_ADDRESS": 20,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
    }
