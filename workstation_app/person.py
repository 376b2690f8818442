"""Who is working: the desk asks for a name once per session and records it in custody.

The air-gapped machine has no accounts server, so the name is what the person says; every
action they take is a signed custody entry naming them (`actor`). Changing the person ends the
name in this session, and the next page asks again.
"""

from __future__ import annotations

import unicodedata

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from workstation_app.context import ACTOR_KEY
from workstation_app.i18n import SESSION_KEY as LOCALE_KEY
from workstation_app.i18n import SUPPORTED_LOCALES

MAX_NAME = 80
# Pages a person without a name may see.
OPEN_ENDPOINTS = frozenset({"person.who", "person.set_name", "launch.trade", "static"})

bp = Blueprint("person", __name__)


def check_name(raw: str) -> tuple[str | None, str | None]:
    """The name to record, or why it cannot be used."""
    name = " ".join(raw.split())
    if not name:
        return None, _("Enter your name: every action is recorded with it.")
    if len(name) > MAX_NAME:
        return None, _("A name of at most %(count)d characters, please.", count=MAX_NAME)
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return None, _("The name contains characters that cannot be shown.")
    return name, None


@bp.get("/who")
def who() -> str:
    return render_template("who.html", error=None, name=session.get(ACTOR_KEY, ""))


@bp.post("/who")
def set_name() -> Response | tuple[str, int]:
    name, error = check_name(request.form.get("name", ""))
    language = request.form.get("language", "")
    if name is None:
        return render_template("who.html", error=error, name=request.form.get("name", "")), 400
    session[ACTOR_KEY] = name
    if language in SUPPORTED_LOCALES:
        session[LOCALE_KEY] = language
    return redirect(url_for("items.index"), code=303)


@bp.post("/who/end")
def end() -> Response:
    session.pop(ACTOR_KEY, None)
    return redirect(url_for("person.who"), code=303)


def require_person() -> Response | None:
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if not session.get(ACTOR_KEY):
        return redirect(url_for("person.who"), code=303)
    return None


def init_person(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(require_person)
    app.context_processor(lambda: {"actor": session.get(ACTOR_KEY)})
