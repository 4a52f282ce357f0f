"""JSON errors for the API: {"error": {"code", "message", "details"}} with a 4xx status."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..runs import EventError

# Every refusal of the core and services has a kind (runs.events.ERROR_KINDS); this table alone maps it to HTTP.
HTTP_STATUS = {"malformed": 400, "forbidden": 403, "not_found": 404, "conflict": 409, "invalid": 422}


def api_error(status: int, code: str, message: str, details: Any = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def rate_limited(bucket: str, config_key: str):
    """The 429 answer (with Retry-After) when this client has used up `bucket` this minute, else None."""
    from ..web.rate_limit import retry_after

    wait = retry_after(bucket, config_key)
    if wait is None:
        return None
    response = api_error(429, "rate_limited", f"too many verifications from here; try again in {wait} s",
                         {"retry_after": wait})
    response.headers["Retry-After"] = str(wait)
    return response


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if _is_api():
            if not current_user.is_authenticated:  # the real problem is the missing session
                return api_error(401, "unauthorized", "sign in first")
            return api_error(400, "csrf", "send the X-CSRFToken header from GET /api/v1/session")
        return error.description, 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if _is_api():
            code = (error.name or "error").lower().replace(" ", "_")
            response = api_error(error.code or 400, code, error.description or error.name)
            for name, value in error.get_headers():  # keep Allow, Retry-After and the like
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        from ..web.errors import render_error

        return render_error(error)

    @app.errorhandler(EventError)
    def event_error(error: EventError):
        # The one place a refusal's kind becomes an HTTP status (red_flags_unacknowledged is "invalid": 422,
        # its details.flags list the flags not acknowledged).
        status = HTTP_STATUS[error.kind]
        return api_error(status, error.code, error.message, error.details)
