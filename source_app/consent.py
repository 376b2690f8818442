"""Changing consent later: POST /consent from the source's page stores a new encrypted record.

The server keeps no readable copy of a source's choices (they exist only inside ciphertext). The
choice made in the current login rides sealed in the session cookie (source_app.session), so the
form shows it; after a new login the form starts from the most protective answers and says so.
Whatever is sent replaces every earlier choice (docs/storage-format.md: the latest record
decides).
"""

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from core.errors import CiphertextStoreError, UnknownSource
from core.submissions import store_consent_change
from crypto.errors import CryptoError
from formats.errors import InvalidConsent
from source_app.answers import AnswerFields, problem_texts, read_consent, record_consent
from source_app.context import source_context
from source_app.main import login_required


def make_consent_blueprint() -> Blueprint:
    blueprint = Blueprint("consent", __name__)

    @blueprint.post("/consent")
    @login_required
    def change() -> Any:
        fields = AnswerFields.from_form(request.form.getlist)
        try:
            record = record_consent(read_consent(fields))
        except InvalidConsent as invalid:
            for text in problem_texts(invalid.problems):
                flash(text, "error")
            return redirect(url_for("main.lookup", _anchor="change-consent"), code=303)
        context = source_context()
        try:
            store_consent_change(context.instance, g.login.source_id, record)
        except UnknownSource:
            context.sessions.log_out(session)
            return render_template("session_expired.html"), 401
        except (CryptoError, CiphertextStoreError):
            return render_template("submit_failed.html"), 503
        context.sessions.remember_consent(session, fields.consent_choice())
        flash(
            str(gettext("Your choices are saved. They apply to everything you have sent.")),
            "success",
        )
        return redirect(url_for("main.lookup"), code=303)

    return blueprint
