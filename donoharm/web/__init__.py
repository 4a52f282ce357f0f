"""Server-rendered pages, one blueprint per area, and what they share (forms, security headers, rate limits).

The blueprints are imported when the app is wired, not with the package: a module that needs only the shared
forms or headers does not pull in every page (and the pages import the services that import those forms)."""
from flask import Flask


def init_app(app: Flask) -> None:
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
    from ..accounts import staff

    staff.init_app(app)
