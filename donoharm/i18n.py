"""Interface languages: Flask-Babel, the locale chosen per request, and the catalogues we ship."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

# English is the source language; the others are drafts awaiting a native speaker's review.
LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "km": "ខ្មែរ", "th": "ไทย"}
DEFAULT_LANGUAGE = "en"

babel = Babel()


def supported(tag: str | None) -> str | None:
    """The shipped language matching a tag ('es-MX' -> 'es'), or None."""
    if not tag:
        return None
    tag = tag.replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        if candidate in LANGUAGES:
            return candidate
    return None


def select_locale() -> str:
    """The signed-in user's saved language, else the browser's Accept-Language, else English."""
    if getattr(current_user, "is_authenticated", False):
        chosen = supported(getattr(current_user, "language", None))
        if chosen:
            return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context():
        from flask_babel import get_locale

        return {"html_lang": str(get_locale() or DEFAULT_LANGUAGE), "languages": LANGUAGES,
                "language_name": language_name}


def language_name(tag: str) -> str:
    """A language tag's name in the reader's language ('es' -> 'Spanish' for an English page), else the tag."""
    from babel import Locale, UnknownLocaleError
    from flask_babel import get_locale

    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(get_locale() or DEFAULT_LANGUAGE)
    except (ValueError, UnknownLocaleError):
        return tag
    return name[:1].upper() + name[1:] if name else tag
