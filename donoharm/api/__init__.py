"""The JSON API under /api/v1."""
from flask import Flask

from . import errors, v1
from . import protocols as protocols_api
from . import receipts as receipts_api
from . import redactions as redactions_api
from . import reports as reports_api


def init_app(app: Flask) -> None:
    errors.init_app(app)
    app.register_blueprint(v1.bp)
    protocols_api.init_app(app)
    receipts_api.init_app(app)
    redactions_api.init_app(app)
    reports_api.init_app(app)  # the transparency reports' JSON Schema (issue 22)
