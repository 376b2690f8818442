"""Signing in and out, and the guards every other view sits behind.

Sign-in takes username, passphrase and a one-time code together and answers every failure
with the same words, so nobody learns which factor was wrong or whether a username exists.
The session is a row in the database (``core.staff_sessions``); the cookie carries only its
random token (``journalist_app.session``).
"""

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import ParamSpec, TypeVar

from flask import (
    Blueprint,
    Flask,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from core.audit_actions import AuditAction
from core.errors import AuthenticationFailed, LoginThrottled
from core.sign_in import authenticate_journalist
from core.staff_accounts import find_journalist
from core.staff_sessions import open_session, resolve_session, revoke_session
from journalist_app.context import db, me, staff
from journalist_app.device import client_of, device_key, remember_device
from journalist_app.forms import LoginForm
from journalist_app.i18n import _
from journalist_app.notices import current_notice
from journalist_app.session import TokenSession, new_token

P = ParamSpec("P")
R = TypeVar("R")

SIGN_IN_FAILED = lazy_gettext(
    "Sign-in failed. Check your username and passphrase, wait for a fresh one-time code, "
    "and try again."
)

bp = Blueprint("auth", __name__)


def _token_session() -> TokenSession:
    assert isinstance(session, TokenSession)
    return session


def install_session_handling(app: Flask) -> None:
    """Open a database session per request and find who is signed in."""

    @app.before_request
    def open_request_session() -> None:
        g.db = staff().instance.sessions()
        g.journalist = None
        # Static files need no account; the API authenticates with its own tokens.
        if request.endpoint == "static" or request.path.startswith("/api/"):
            return
        token_session = _token_session()
        if token_session.new:
            return
        journalist = resolve_session(
            g.db, token_session.token, kind="web", lifetime=staff().session_lifetime
        )
        # Commit the renewal (or the removal of an expired session) now: the view may fail.
        g.db.commit()
        g.journalist = journalist
        g.session_ended = journalist is None

    @app.teardown_request
    def close_request_session(_exc: BaseException | None) -> None:
        database = g.pop("db", None)
        if database is not None:
            database.close()

    @app.context_processor
    def template_globals() -> dict[str, object]:
        return {"current_journalist": g.get("journalist")}


def login_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        if g.get("journalist") is None:
            notice = "session-ended" if g.get("session_ended") else None
            return redirect(url_for("auth.login", notice=notice))
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
        journalist = g.get("journalist")
        if journalist is None:
            return redirect(url_for("auth.login"))
        if not journalist.is_admin:
            abort(HTTPStatus.FORBIDDEN, _("Only administrators can open this page."))
        return view(*args, **kwargs)

    return wrapper


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | str:
    if g.get("journalist") is not None:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if request.method == "GET":
        return render_template("login.html", form=form, notice=current_notice())
    if not form.validate_on_submit():
        return render_template("login.html", form=form, error=str(SIGN_IN_FAILED)), 400
    context = staff()
    database = db()
    username = form.username.data or ""
    key = device_key(context.instance.session_key)
    try:
        journalist = authenticate_journalist(
            database,
            context.instance.settings,
            username=username,
            passphrase=form.passphrase.data or "",
            code=form.code.data or "",
            client=client_of(request, key, find_journalist(database, username)),
            throttle=context.sign_in_throttle,
        )
    except AuthenticationFailed as exc:
        database.rollback()
        known = find_journalist(database, username)
        throttled = isinstance(exc, LoginThrottled)
        context.record(
            database, known, AuditAction.SIGN_IN_FAILED, detail="throttled" if throttled else None
        )
        database.commit()
        if isinstance(exc, LoginThrottled):
            message = _(
                "Too many sign-in attempts. Wait %(seconds)d seconds, then try again.",
                seconds=exc.retry_after_seconds,
            )
            return render_template("login.html", form=form, error=message), 429
        return render_template("login.html", form=form, error=str(SIGN_IN_FAILED)), 401
    token, _expires = open_session(
        database, journalist, kind="web", lifetime=context.session_lifetime
    )
    context.record(database, journalist, AuditAction.SIGN_IN)
    database.commit()
    # A fresh token at sign-in: a token planted before sign-in is worth nothing.
    _token_session().replace_token(token)
    response = redirect(url_for("inbox.index"))
    # This browser is now a known device of the account: guesses made elsewhere never
    # throttle its sign-ins (journalist_app.device).
    remember_device(response, key, journalist)
    return response


@bp.post("/logout")
@login_required
def logout() -> BaseResponse:
    database = db()
    token_session = _token_session()
    revoke_session(database, token_session.token)
    staff().record(database, me(), AuditAction.SIGN_OUT)
    database.commit()
    token_session.replace_token(new_token())
    g.journalist = None
    return redirect(url_for("auth.login", notice="signed-out"))

