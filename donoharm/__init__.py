"""Do No Harm: 'do no harm' protocols as offline checklists with signed audit records."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from . import db
from .config import ROOT, instance_path, load_config
from .services import library

csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `test_config` overrides configuration for tests."""
    instance = instance_path()
    if test_config and test_config.get("INSTANCE"):
        instance = test_config["INSTANCE"]
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(instance))
    if test_config:
        app.config.from_mapping(test_config)

    csrf.init_app(app)
    db.init_app(app)
    library.init_app(app)
    from . import prepare

    prepare.init_app(app)  # `db migrate`; tests prepare here, a server on a database that is behind stops

    from . import api, cli, clock, i18n, web
    from .accounts import auth
    from .web import security

    clock.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    web.init_app(app)
    from . import records
    from .api import verify as api_verify
    from .web import records as records_web

    records.init_app(app)  # signed audit records: queue worker, CLI
    from . import audit

    audit.init_app(app)  # tamper evidence: db verify, checkpoints
    app.register_blueprint(records_web.bp)
    api_verify.init_app(app)
    return app
