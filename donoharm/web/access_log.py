"""gunicorn's access log with every logged value escaped, so a request cannot write a line of its own.

%(U)s is the percent-decoded path: a request for /x%0d%0a1.2.3.4 - - "GET /admin" 200 would otherwise
put a forged entry on a line of its own. deploy/gunicorn.conf.py names this class as logger_class.
"""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\\"\u2028\u2029]")


def escape_log_value(value: object) -> object:
    """Text with backslash, quote and control characters written as escapes (\\x0a); other values as they are."""
    if not isinstance(value, str):
        return value
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", value)


class EscapingLogger(Logger):
    """gunicorn's Logger whose access-log atoms are escaped (paths, query strings, headers, user agents)."""

    def atoms(self, resp, req, environ, request_time):
        return {key: escape_log_value(value) for key, value in super().atoms(resp, req, environ, request_time).items()}
