"""Call pyHanko's synchronous API safely from any thread."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def outside_event_loop(function: Callable[..., T], *args, **kwargs) -> T:
    """Run a function that starts its own asyncio loop (pyHanko's sync wrappers use asyncio.run).

    asyncio.run refuses to start in a thread whose loop is already running — an async server, or
    Playwright's sync API in the test process — so there the call goes to a short-lived thread.
    """
    import asyncio  # here, not at start: only signing and verifying need it
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
