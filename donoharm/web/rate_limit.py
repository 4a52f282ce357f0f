"""Per-client rate limits: fixed one-minute windows counted in SQLite, so every gunicorn worker shares them.

Used where one anonymous request can cost real CPU: verifying an uploaded record (the /verify page and
POST /api/v1/verify) and rendering a handout or "what changed" PDF that is not cached yet. A signed-in
person is counted by account (staff behind one office address do not use up each other's allowance);
anyone else by client address: the IPv4 address, or the /64 network of an IPv6 address (one host
usually holds a whole /64). Behind a reverse proxy set DONOHARM_PROXY=1 so the address is the client's.
"""
from __future__ import annotations

import ipaddress
import math
import time

from flask import current_app, request
from flask_login import current_user

from ..db import get_db
from ..db import rate_limits as rate_limits_db

WINDOW_SECONDS = 60


def address_key(address: str | None) -> str:
    """The part of a client address that identifies one client: IPv4 as is, IPv6 by its /64 network."""
    try:
        parsed = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return address or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def client_key() -> str:
    """Who is counted: the signed-in account, else the client address."""
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return f"addr:{address_key(request.remote_addr)}"


def _clock() -> float:
    """The time rate limits count by; tests hold it mid-window so a count never straddles two windows."""
    return time.time()


def retry_after(bucket: str, config_key: str, now: float | None = None) -> int | None:
    """Count this request in `bucket`; return the seconds to wait if it is over the configured
    per-minute limit (the app's `config_key`; 0 or unset: no limit), else None."""
    limit = current_app.config.get(config_key) or 0
    if limit <= 0:
        return None
    now = _clock() if now is None else now
    window = int(now // WINDOW_SECONDS)
    if rate_limits_db.hit(get_db(), bucket, client_key(), window) <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
