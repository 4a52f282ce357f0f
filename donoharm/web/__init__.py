"""Server-rendered pages, one blueprint per area."""
from flask import Flask

from . import admin, home, protocols, runs


def init_app(app: Flask) -> None:
    app.register_blueprint(home.bp)
    app.register_blueprint(protocols.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(runs.bp)
