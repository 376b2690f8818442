"""The hardening both Flask apps share; the only module of core that imports Flask.

Call `harden_app(app, instance, csp=...)` in each app factory before registering blueprints.
It fixes what every response carries (security headers), how cookies are flagged, CSRF on every
form, and what errors show (a short page, never a traceback or a path), and it silences
Werkzeug's request log, which would otherwise record IP addresses, paths and user agents
(invariant 3).

Both apps also speak Belarusian, Russian and English, chosen by the reader, never guessed from
request headers (Tor Browser sends the same `Accept-Language` for everyone). The choice arrives
as `?l=<code>` on any link and each app remembers it its own way (the source session, a staff
cookie); `init_babel` and the language helpers here are what the two have in common.
"""

import logging
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, url_for
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError

from core.instance import Instance
from core.outage import RETRY_AFTER_SECONDS, outage_of

# Nothing may load from anywhere by default; pages may use their own stylesheet and images.
DEFAULT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Browser features a drop box never needs; denying them narrows what a compromised page can do.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
CACHE_HEADERS = frozenset({"Cache-Control", "Pragma", "Expires"})
ERROR_TITLES = {
    400: "The request could not be understood",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Please try again later",
}


SUPPORTED_LOCALES: tuple[str, ...] = ("be", "ru", "en")
# Each language is named in itself, so a reader finds theirs whatever page they are on.
LOCALE_NAMES: Mapping[str, str] = {"be": "Беларуская", "ru": "Русский", "en": "English"}
LOCALE_PARAM = "l"
# Used when an app was set up without a default language.
FALLBACK_LOCALE = "en"


def harden_app(
    app: Flask,
    instance: Instance,
    *,
    csp: str = DEFAULT_CSP,
    csrf_time_limit_seconds: int | None = None,
) -> CSRFProtect:
    """Apply Skrynka's hardening to ``app``; returns the CSRFProtect (to exempt an API).

    ``csrf_time_limit_seconds`` defaults to the instance setting, which is as long as a source
    session because a large upload over Tor can take most of an hour.
    """
    if "frame-ancestors" not in csp:
        csp = csp.rstrip("; ") + "; frame-ancestors 'none'"
    app.secret_key = instance.session_key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # Onion services are plain http (Tor authenticates and encrypts the connection); a
        # Secure cookie would never be sent back.
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_PATH="/",
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_TIME_LIMIT=(
            instance.settings.csrf_time_limit_seconds
            if csrf_time_limit_seconds is None
            else csrf_time_limit_seconds
        ),
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.extensions["skrynka.instance"] = instance
    # Werkzeug logs one line per request with the client address; never record that.
    logging.getLogger("werkzeug").disabled = True

    def add_security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = csp
        # A response an app marked immutable (a static file addressed by its content hash)
        # keeps its own caching; everything else is never stored.
        immutable = bool(response.cache_control.immutable)
        for name, value in SECURITY_HEADERS.items():
            if immutable and name in CACHE_HEADERS:
                continue
            response.headers[name] = value
        return response

    app.after_request(add_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return CSRFProtect(app)


def render_error_page(code: int, message: str) -> Response:
    """A minimal, self-contained HTML error page (no template, so it works when others fail)."""
    title = ERROR_TITLES.get(code, "Error")
    body = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        '<p><a href="/">Back to the start page</a></p></body></html>\n'
    )
    return Response(body, status=code, mimetype="text/html")


def _csrf_error(error: CSRFError) -> Response:
    return render_error_page(
        400,
        "This form has expired or was sent twice. Go back, reload the page and try again.",
    )


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code == 413:
        message = "What you sent is larger than this site accepts."
    elif code >= 500:
        message = "Please try again in a few minutes."
    else:
        # Werkzeug's standard descriptions say nothing about the server or the request.
        message = type(error).description or ""
    return render_error_page(code, message)


def _unexpected_error(error: Exception) -> Response:
    outage = outage_of(error)
    if outage is not None:
        logging.getLogger("skrynka").error("Request refused (%s): %s", outage.kind, outage.advice)
        page = render_error_page(503, outage.staff_message)
        page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
    # Log the type only: a message or traceback may contain what a source typed.
    logging.getLogger("skrynka").error("Unhandled %s in a request", type(error).__name__)
    return render_error_page(InternalServerError.code, "Please try again in a few minutes.")


def init_babel(
    app: Flask,
    *,
    default_locale: str,
    config_key: str,
    translations_dir: Path,
    locale_selector: Callable[[], str],
    template_helpers: Mapping[str, Callable[..., str]],
) -> Babel:
    """Flask-Babel for ``app``: catalogs from ``translations_dir``, the language from
    ``locale_selector``, and ``default_locale`` kept in ``app.config[config_key]``.

    Templates get ``supported_locales`` and ``locale_names`` (for the language links) and the
    app's own ``template_helpers`` (``current_locale``, ``locale_url``, ...).
    """
    app.config[config_key] = default_locale
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_dir)
    context: dict[str, object] = {
        "supported_locales": SUPPORTED_LOCALES,
        "locale_names": LOCALE_NAMES,
        **template_helpers,
    }
    app.context_processor(lambda: context)
    return Babel(app, locale_selector=locale_selector)


def asked_locale() -> str | None:
    """The offered language this request asks for with ``?l=``, if any."""
    chosen = request.args.get(LOCALE_PARAM)
    return chosen if chosen in SUPPORTED_LOCALES else None


def choose_locale(remembered: object, config_key: str) -> str:
    """The language of this request: ``?l=``, then the one the app ``remembered``, then the
    default in ``app.config[config_key]``."""
    asked = asked_locale()
    if asked is not None:
        return asked
    if remembered in SUPPORTED_LOCALES:
        return str(remembered)
    return str(current_app.config.get(config_key, FALLBACK_LOCALE))


def page_locale(config_key: str) -> str:
    """The language code of the page being rendered."""
    return str(get_locale() or current_app.config.get(config_key, FALLBACK_LOCALE))


def same_page_url(code: str, *, keep_query: bool) -> str | None:
    """This page in language ``code``, or None when a link cannot show it again.

    A page that answered a form (a POST) cannot be shown again by a link. ``keep_query`` carries
    the query string along (a search stays a search); without it only the path's values do.
    """
    rule = request.url_rule
    if (
        request.method != "GET"
        or rule is None
        or rule.methods is None
        or "GET" not in rule.methods
        or request.endpoint is None
    ):
        return None
    values: dict[str, Any] = dict(request.args) if keep_query else {}
    values.update(request.view_args or {})
    values[LOCALE_PARAM] = code
    return url_for(request.endpoint, **values)
