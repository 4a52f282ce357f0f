"""Error pages for people: the site's layout, a plain message and a way back."""
from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


def messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("The request was not understood"), _("Go back, reload the page and try again.")),
        403: (_("You cannot open this page"), _("Your role does not include this page. Ask an administrator "
                                                "if you need it.")),
        404: (_("Page not found"), _("The page or run does not exist, or it is not yours to see.")),
        405: (_("That action is not possible here"), _("Go back and use the buttons on the page.")),
        413: (_("That file is too large"), _("Choose a smaller file.")),
        429: (_("Too many attempts"), _("Wait a few minutes and try again.")),
    }


def render_error(error: HTTPException):
    """Render an HTTP error with the site's layout, keeping its status and headers (e.g. Allow)."""
    code = error.code or 500
    title, advice = messages().get(code, (error.name, error.description or ""))
    response = error.get_response()
    response.set_data(render_template("error.html", code=code, title=title, advice=advice))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response
