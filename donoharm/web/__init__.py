"""Server-rendered pages, one blueprint per area."""
from flask import Flask

from . import (
    account,
    admin,
    health,
    home,
    operations,
    oversight,
    practice,
    protocol_share,
    protocol_upload,
    protocols,
    pwa,
    redactions,
    reports,
    review,
    runs,
    settings,
    signals,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(home.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(protocols.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(runs.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(protocol_upload.bp)
    app.register_blueprint(protocol_share.bp)
    app.register_blueprint(practice.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(redactions.bp)
    app.register_blueprint(oversight.bp)
    app.register_blueprint(signals.bp)
    app.register_blueprint(operations.bp)
    app.register_blueprint(settings.bp)  # the organisation's settings (issue 19)
    app.register_blueprint(reports.bp)  # public transparency reports (issue 22)
    from .. import staff

    staff.init_app(app)
