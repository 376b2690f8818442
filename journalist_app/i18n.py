"""Languages of the staff interface: Belarusian, Russian and English, chosen by the staff member.

The choice arrives as ``?l=<code>`` on any link (the language links in the header) and is kept in
a cookie of its own, so it survives signing out and in again; it names a language and nothing
else. Without a choice the instance's source default language applies, since staff and sources
of one drop usually read the same. The choice itself is made as for sources (``core.web``).
Catalogs live in ``journalist_app/translations`` and are compiled when missing or older than
their ``.po`` (``core.catalogs``), so an edited catalog serves what it says. A catalog that is
missing or cannot be compiled stops the app from starting with
:class:`~journalist_app.errors.StaffTranslationsUnavailable`.
"""

from pathlib import Path
from typing import Any

from flask import Flask, Response, request, url_for
from flask_babel import Babel, gettext

from core import catalogs
from core.errors import CatalogUnusable
from core.web import (
    LOCALE_PARAM,
    asked_locale,
    choose_locale,
    init_babel,
    page_locale,
    same_page_url,
)

# Re-exported: the app factory and the tests ask this module which languages it offers.
from core.web import SUPPORTED_LOCALES as SUPPORTED_LOCALES
from journalist_app.errors import StaffTranslationsUnavailable

COOKIE = "skrynka_staff_lang"
CONFIG_KEY = "SKRYNKA_STAFF_DEFAULT_LOCALE"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
#: A year: the choice is a preference, not a secret, and should not have to be made again.
COOKIE_SECONDS = 365 * 24 * 3600


def _(text: str, **values: Any) -> str:
    """gettext with a type (Flask-Babel ships none); ``_`` is what extraction looks for."""
    return str(gettext(text, **values))


def init_staff_i18n(
    app: Flask, *, default_locale: str, translations_dir: Path = TRANSLATIONS_DIR
) -> Babel:
    if default_locale not in SUPPORTED_LOCALES:
        default_locale = "en"
    missing = catalogs.missing_catalogs(translations_dir, SUPPORTED_LOCALES)
    if missing:
        raise StaffTranslationsUnavailable(", ".join(missing), translations_dir)
    compile_staff_catalogs(translations_dir)
    babel = init_babel(
        app,
        default_locale=default_locale,
        config_key=CONFIG_KEY,
        translations_dir=translations_dir,
        locale_selector=select_locale,
        template_helpers={"current_locale": current_locale, "locale_url": locale_url},
    )
    app.after_request(remember_locale)
    return babel


def select_locale() -> str:
    """``?l=``, then the cookie, then the instance default."""
    return choose_locale(request.cookies.get(COOKIE), CONFIG_KEY)


def remember_locale(response: Response) -> Response:
    chosen = asked_locale()
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_SECONDS, httponly=True, samesite="Strict"
        )
    return response


def current_locale() -> str:
    return page_locale(CONFIG_KEY)


def locale_url(code: str) -> str:
    """This page in ``code`` when a link can show it again; the inbox otherwise."""
    same = same_page_url(code, keep_query=True)
    if same is not None:
        return same
    home: dict[str, Any] = {LOCALE_PARAM: code}
    return url_for("inbox.index", **home)


def compile_staff_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each stale ``.po`` into its ``.mo`` (core.catalogs)."""
    try:
        return catalogs.compile_catalogs(directory, only_stale=True)
    except CatalogUnusable as exc:
        raise StaffTranslationsUnavailable(
            str(exc.po_path), directory, reason=exc.reason
        ) from exc
