"""Languages of the source interface: Belarusian, Russian and English, chosen by the source.

The language is what the source picked, never a guess from request headers: Tor Browser makes
every user send the same `Accept-Language` (English) so that it cannot single anyone out, and
honouring it would show English to everybody. A choice arrives as `?l=<code>` on any link, is
remembered in the session, and works without JavaScript. Until a source chooses, the instance's
default applies. What the staff interface chooses the same way is in `core.web` (the choice,
the page's language, a link to the same page) and `core.catalogs` (compiling).

Catalogs live as `.po` files in `source_app/translations/<code>/LC_MESSAGES/messages.po`; the
build compiles them (scripts/compile_translations.sh, or :func:`compile_catalogs`), and
:func:`init_i18n` compiles any catalog whose `.mo` is missing or older than its `.po`, so a fresh
checkout and an edited catalog both serve what the `.po` says.
"""

from pathlib import Path
from typing import Any

from flask import Flask, current_app, session, url_for
from flask_babel import Babel

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
from source_app.errors import TranslationsUnavailable

# Used when no setting says otherwise; an instance picks its own with the setting
# `source_default_locale` (Russian is what most people in Belarus read first).
DEFAULT_LOCALE = "en"
SESSION_KEY = "locale"
CONFIG_KEY = "SKRYNKA_DEFAULT_LOCALE"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def init_i18n(
    app: Flask,
    *,
    default_locale: str = DEFAULT_LOCALE,
    translations_dir: Path = TRANSLATIONS_DIR,
) -> Babel:
    """Set up Flask-Babel for the source's chosen language and make the helpers templates use.

    Raises TranslationsUnavailable when a catalog is missing or cannot be compiled.
    """
    if default_locale not in SUPPORTED_LOCALES:
        raise TranslationsUnavailable(
            f"The default language {default_locale!r} is not one of "
            f"{', '.join(SUPPORTED_LOCALES)}; choose one of those."
        )
    missing = catalogs.missing_catalogs(translations_dir, SUPPORTED_LOCALES)
    if missing:
        raise TranslationsUnavailable(
            f"No translation catalog for {', '.join(missing)} under {translations_dir}; "
            "restore source_app/translations from the repository."
        )
    compile_catalogs(translations_dir, only_stale=True)
    babel = init_babel(
        app,
        default_locale=default_locale,
        config_key=CONFIG_KEY,
        translations_dir=translations_dir,
        locale_selector=select_locale,
        template_helpers={
            "current_locale": current_locale,
            "locale_url": locale_url,
            "locale_link": locale_link,
        },
    )
    app.before_request(remember_locale)
    return babel


def select_locale() -> str:
    """The language for this request: `?l=`, then the session, then the instance default."""
    return choose_locale(session.get(SESSION_KEY), CONFIG_KEY)


def remember_locale() -> None:
    """Keep a language picked with `?l=` for the following pages, without JavaScript."""
    chosen = asked_locale()
    if chosen is not None and session.get(SESSION_KEY) != chosen:
        session[SESSION_KEY] = chosen


def current_locale() -> str:
    """The language code of the page being rendered."""
    return page_locale(CONFIG_KEY)


def locale_url(code: str) -> str:
    """A link that shows the current page, or the closest page a link can show, in `code`.

    A page that answered a form (a POST) cannot be shown again by a link, so its language links
    lead to the landing page instead of to an error.
    """
    same = same_page_url(code, keep_query=False)
    if same is not None:
        return same
    for home in ("main.index", "index"):
        if home in current_app.view_functions:
            return url_for(home, l=code)
    return f"/?l={code}"


def locale_link(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint)``, carrying the page's language when the next request would lose it.

    Once a source logs out, the session, and the language remembered in it, is gone; the last
    page still speaks the source's language, and its links must too, or the guide would open
    in the instance's default language. Elsewhere links stay as plain as `url_for` makes them.
    """
    language = current_locale()
    remembered = session.get(SESSION_KEY)
    default = current_app.config.get(CONFIG_KEY, DEFAULT_LOCALE)
    following = remembered if remembered in SUPPORTED_LOCALES else default
    if language != following and LOCALE_PARAM not in values:
        values[LOCALE_PARAM] = language
    return url_for(endpoint, **values)


def compile_catalogs(directory: Path = TRANSLATIONS_DIR, *, only_stale: bool = False) -> list[Path]:
    """Compile every `<code>/LC_MESSAGES/messages.po` under `directory` into its `.mo`
    (core.catalogs); returns the `.mo` files written."""
    try:
        return catalogs.compile_catalogs(directory, only_stale=only_stale)
    except CatalogUnusable as exc:
        raise TranslationsUnavailable(str(exc)) from exc
