"""GET /api/v1/schemas/report.json: the JSON Schema of transparency reports (public, like the reports)."""
from __future__ import annotations

from flask import Blueprint, Flask, Response

from ..transparency.document import SCHEMA_PATH
from .openapi import register_paths

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")


@bp.get("/schemas/report.json")
def report_schema():
    return Response(SCHEMA_PATH.read_bytes(), mimetype="application/schema+json")


PATHS = {
    "/api/v1/schemas/report.json": {
        "get": {
            "summary": "The JSON Schema (2020-12) of the transparency reports listed at /reports, of one instance "
                       "or combined",
            "description": "Public: no session needed. A report's signature covers the canonical JSON (keys "
                           "sorted, no spaces, UTF-8) of every field except `signature`; check it against the "
                           "publishing organisation's root certificate (/verify/root.pem).",
            "security": [],
            "responses": {"200": {"description": "The schema", "content": {"application/schema+json": {
                "schema": {"type": "object"}}}}},
        }
    }
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_paths(app, PATHS)
