"""The signed-in user's own account: password, two-step sign-in and the language of the interface and of new runs.

Changing the password needs the current one, is throttled like signing in, and ends every other sign-in of the
account. Setting up two-step sign-in shows a QR code of a new secret (kept as totp_pending_secret until a code
from the app proves it was scanned), then ten recovery codes, once. Replacing the app, making new recovery codes
and turning two-step sign-in off (only where DONOHARM_REQUIRE_2FA does not require it) need the current password.
"""
import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash
from wtforms.fields.choices import SelectChoice

from ..accounts import iso, two_factor, utc_now
from ..accounts.audit import record as audit
from ..accounts.forms import ChangePasswordForm, CurrentPasswordForm, EnrolForm
from ..db import accounts as accounts_db
from ..db import get_db, transaction
from ..db import users as users_db
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, supported
from .forms import LanguageForm
from .rate_limit import address_key

bp = Blueprint("account", __name__)


def _language_form() -> LanguageForm:
    form = LanguageForm()
    form.language.choices = [SelectChoice(tag, name) for tag, name in LANGUAGES.items()]
    return form


def _page(status: int = 200, **forms):
    """The account page, with the forms given (those with errors) and fresh ones for the others."""
    db = get_db()
    row = users_db.get_user(db, current_user.id)
    language = forms.pop("form", None) or _language_form()
    if not language.errors:
        # Without a saved choice the pages follow the browser; show that language as the one in use.
        language.language.data = (supported(current_user.language) or supported(str(get_locale()))
                                  or DEFAULT_LANGUAGE)
    password_form = forms.get("password_form") or ChangePasswordForm(formdata=None)
    codes_form = forms.get("codes_form") or CurrentPasswordForm(formdata=None, prefix="codes")
    off_form = forms.get("off_form") or CurrentPasswordForm(formdata=None, prefix="off")
    has_errors = any(f.errors for f in (password_form, codes_form, off_form))
    return render_template(
        "account.html", form=language, languages=LANGUAGES, password_form=password_form, codes_form=codes_form,
        off_form=off_form, errors=has_errors, row=row, two_factor_required=two_factor.required_for(row["role"]),
        recovery_left=accounts_db.recovery_codes_left(db, row["id"]) if row["totp_secret"] else 0), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def index():
    """Show the account and save the chosen language; an unknown code means English."""
    form = _language_form()
    if form.validate_on_submit():
        language = supported(form.language.data) or DEFAULT_LANGUAGE
        users_db.update_user(get_db(), current_user.id, language=language)
        current_user.language = language
        refresh()  # so the confirmation is already in the new language
        flash(_("Language saved: %(name)s.", name=LANGUAGES[language]), "success")
        return redirect(url_for("account.index"))
    return _page(form=form)


def _check_current_password(field) -> bool:
    """Check the signed-in person's current password, throttled like signing in; on failure the field says why."""
    from ..accounts.auth import _clock, _wait_text, begin_password_attempt

    db, now = get_db(), _clock()
    username, address = current_user.username, address_key(request.remote_addr)
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    wait = begin_password_attempt(db, username, address, now)
    if wait > 0:
        field.errors.append(_("Too many failed attempts. Wait %(wait)s and try again.",
                              wait=_wait_text(math.ceil(wait))))
        return False
    row = users_db.get_user(db, current_user.id)
    if not check_password_hash(row["password_hash"], field.data or ""):
        field.errors.append(_("That is not your current password."))
        return False
    users_db.clear_login_failures(db, username, now - window, address=address)
    return True


@bp.post("/account/password")
@login_required
def change_password():
    """Change one's own password; every other sign-in of the account ends."""
    from ..accounts.auth import _token_hash, hash_password

    form = ChangePasswordForm()
    form.rules_username = current_user.username
    if form.validate_on_submit() and _check_current_password(form.current):
        db = get_db()
        new_hash = hash_password(form.password.data)
        with transaction(db):
            users_db.update_user(db, current_user.id, password_hash=new_hash)
            accounts_db.void_links(db, current_user.id, iso(utc_now()), "reset")  # a reset link is moot now
            ended = users_db.end_sign_ins_of(db, current_user.id, except_token_hash=_token_hash(current_user.sign_in))
            audit(db, "password_changed", users_db.get_user(db, current_user.id),
                  detail=f"{ended} other sign-in(s) ended")
        flash(_("Your password is changed. You were signed out everywhere else."), "success")
        return redirect(url_for("account.index"))
    return _page(422, password_form=form)


# --- Two-step sign-in ------------------------------------------------------------------------------------------

def _root() -> str | None:
    from .protocol_share import public_root

    return public_root()


def _enrol_page(form: EnrolForm, row: dict, status: int = 200):
    uri = two_factor.provisioning_uri(row["totp_pending_secret"], row["username"], two_factor.host_of(_root()))
    return render_template("account/two_factor.html", form=form, row=row, qr=two_factor.qr_data_uri(uri),
                           secret=two_factor.grouped(row["totp_pending_secret"]),
                           replacing=two_factor.enrolled(row), required=two_factor.required_for(row["role"]),
                           next_target=request.args.get("next")), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """Set up (or replace) the authenticator app: scan the QR code, type a code it shows, keep the recovery codes."""
    from ..accounts.auth import _safe_next, _token_hash

    db = get_db()
    row = users_db.get_user(db, current_user.id)
    if not row["totp_pending_secret"]:  # kept across reloads, so a code scanned a moment ago still fits
        users_db.update_user(db, row["id"], totp_pending_secret=two_factor.new_secret())
        row = users_db.get_user(db, row["id"])
    form = EnrolForm()
    replacing = two_factor.enrolled(row)
    if request.method == "GET":
        return _enrol_page(form, row)
    if not form.validate_on_submit():
        return _enrol_page(form, row, 422)
    if replacing and not form.current.data:
        form.current.errors.append(_("Enter your current password."))
        return _enrol_page(form, row, 422)
    if replacing and not _check_current_password(form.current):
        return _enrol_page(form, row, 422)
    found = two_factor.match_totp(row["totp_pending_secret"], form.code.data, two_factor._clock())
    if found is None:
        form.code.errors.append(_("That code is not right. Scan the QR code again, or check that the phone's clock "
                                  "is right, and type the code the app shows now."))
        return _enrol_page(form, row, 422)
    with transaction(db):
        # The secret moves over only if it is still the one the page showed (not replaced in another tab).
        current = users_db.get_user(db, row["id"])
        if current["totp_pending_secret"] != row["totp_pending_secret"]:
            form.code.errors.append(_("The QR code changed in the meantime. Scan this one."))
            return _enrol_page(form, current, 422)
        users_db.update_user(db, row["id"], totp_secret=row["totp_pending_secret"], totp_pending_secret=None,
                             totp_last_step=found.step, totp_enrolled_at=iso(utc_now()))
        codes = two_factor.store_recovery_codes(db, row["id"])
        accounts_db.clear_second_factor_failures(db, row["id"])
        # Sign-ins made with a password alone end: from now on this account signs in with its code.
        users_db.end_sign_ins_of(db, row["id"], except_token_hash=_token_hash(current_user.sign_in))
        audit(db, "two_factor_replaced" if replacing else "two_factor_enrolled", current)
    current_user.two_factor = True
    return render_template("account/recovery_codes.html", codes=codes, new_setup=True,
                           continue_to=_safe_next(request.args.get("next")))


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes():
    """Make ten new recovery codes (the old ones stop working); shown once."""
    form = CurrentPasswordForm(prefix="codes")
    if not current_user.two_factor:
        return redirect(url_for("account.two_factor_setup"))
    if form.validate_on_submit() and _check_current_password(form.current):
        db = get_db()
        with transaction(db):
            codes = two_factor.store_recovery_codes(db, current_user.id)
            audit(db, "recovery_codes_renewed", users_db.get_user(db, current_user.id))
        return render_template("account/recovery_codes.html", codes=codes, new_setup=False,
                               continue_to=url_for("account.index"))
    return _page(422, codes_form=form)


@bp.post("/account/two-factor/off")
@login_required
def turn_off():
    """Turn two-step sign-in off, where the setting does not require it for this role."""
    form = CurrentPasswordForm(prefix="off")
    if not current_user.two_factor:
        return redirect(url_for("account.index"))
    if two_factor.required_for(current_user.role):
        form.validate_on_submit()
        form.current.errors.append(_("Your role needs two-step sign-in: it cannot be turned off. To use another "
                                     "phone, replace the authenticator app instead."))
        return _page(422, off_form=form)
    if form.validate_on_submit() and _check_current_password(form.current):
        db = get_db()
        with transaction(db):
            users_db.update_user(db, current_user.id, totp_secret=None, totp_pending_secret=None,
                                 totp_last_step=None, totp_enrolled_at=None)
            accounts_db.forget_recovery_codes(db, current_user.id)
            audit(db, "two_factor_turned_off", users_db.get_user(db, current_user.id))
        flash(_("Two-step sign-in is off. You sign in with your password alone."), "success")
        return redirect(url_for("account.index"))
    return _page(422, off_form=form)
