"""Server-rendered pages, one blueprint per area."""
from flask import Flask

from . import protocols


def init_app(app: Flask) -> None:
    app.register_blueprint(protocols.bp)
