"""The signed-in user's own account: the language of the interface and of new runs."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..db import get_db
from ..db import users as users_db
from ..forms import LanguageForm
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, supported

bp = Blueprint("account", __name__)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def index():
    """Show the account and save the chosen language; an unknown code means English."""
    form = LanguageForm()
    form.language.choices = [SelectChoice(tag, name) for tag, name in LANGUAGES.items()]
    if form.validate_on_submit():
        language = supported(form.language.data) or DEFAULT_LANGUAGE
        users_db.update_user(get_db(), current_user.id, language=language)
        current_user.language = language
        refresh()  # so the confirmation is already in the new language
        flash(_("Language saved: %(name)s.", name=LANGUAGES[language]), "success")
        return redirect(url_for("account.index"))
    # Without a saved choice the pages follow the browser; show that language as the one in use.
    form.language.data = supported(current_user.language) or supported(str(get_locale())) or DEFAULT_LANGUAGE
    return render_template("account.html", form=form, languages=LANGUAGES)
