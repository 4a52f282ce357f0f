"""The span of device times the server accepts, configured by DONOHARM_TIME_FLOOR."""
from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, current_app

from .runs import DeviceClock
from .runs.events import DEFAULT_TIME_FLOOR


def time_floor(value: str | None) -> datetime:
    """DONOHARM_TIME_FLOOR as a date (YYYY-MM-DD); device times before it are refused. Default 2020-01-01."""
    if value is None or not value.strip():
        return DEFAULT_TIME_FLOOR
    try:
        floor = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"DONOHARM_TIME_FLOOR must be a date such as 2020-01-01 (got {value!r})") from None
    return floor if floor.tzinfo else floor.replace(tzinfo=UTC)


def device_clock() -> DeviceClock:
    """The clock the core checks device times against: the configured floor and the server's time now."""
    return DeviceClock(floor=current_app.config["DEVICE_TIME_FLOOR"], now=datetime.now(UTC))


def init_app(app: Flask) -> None:
    # A test may set DEVICE_TIME_FLOOR as a date string; otherwise the environment decides.
    floor = app.config.get("DEVICE_TIME_FLOOR", os.environ.get("DONOHARM_TIME_FLOOR"))
    app.config["DEVICE_TIME_FLOOR"] = floor if isinstance(floor, datetime) else time_floor(floor)
