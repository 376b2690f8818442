"""Languages of the source interface: Belarusian, Russian and English, chosen by the source.

The language is what the source picked, never a guess from request headers: Tor Browser makes
every user send the same `Accept-Language` (English) so that it cannot single anyone out, and
honouring it would show English to everybody. A choice arrives as `?l=<code>` on any link, is
remembered in the session, and works without JavaScript. Until a source chooses, the instance's
default applies.

Catalogs live as `.po` files in `source_app/translations/<code>/LC_MESSAGES/messages.po`; the
build compiles them (scripts/compile_translations.sh, or :func:`compile_catalogs`), and
:func:`init_i18n` compiles any catalog whose `.mo` is missing or older than its `.po`, so a fresh
checkout and an edited catalog both serve what the `.po` says.
"""

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel, get_locale

from source_app.errors import TranslationsUnavailable

SUPPORTED_LOCALES: tuple[str, ...] = ("be", "ru", "en")
# Each language is named in itself, so a source finds theirs whatever page they are on.
LOCALE_NAMES: Mapping[str, str] = {"be": "Беларуская", "ru": "Русский", "en": "English"}
# Used when no setting says otherwise; an instance picks its own with the setting
# `source_default_locale` (Russian is what most people in Belarus read first).
DEFAULT_LOCALE = "en"
LOCALE_PARAM = "l"
SESSION_KEY = "locale"
CONFIG_KEY = "SKRYNKA_DEFAULT_LOCALE"
DOMAIN = "messages"
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
    missing = [code for code in SUPPORTED_LOCALES if not _po_path(translations_dir, code).is_file()]
    if missing:
        raise TranslationsUnavailable(
            f"No translation catalog for {', '.join(missing)} under {translations_dir}; "
            "restore source_app/translations from the repository."
        )
    compile_catalogs(translations_dir, only_stale=True)
    app.config[CONFIG_KEY] = default_locale
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_dir)
    babel = Babel(app, locale_selector=select_locale)
    app.before_request(remember_locale)
    app.context_processor(_language_context)
    return babel


def select_locale() -> str:
    """The language for this request: `?l=`, then the session, then the instance default."""
    chosen = request.args.get(LOCALE_PARAM)
    if chosen in SUPPORTED_LOCALES:
        return str(chosen)
    remembered = session.get(SESSION_KEY)
    if remembered in SUPPORTED_LOCALES:
        return str(remembered)
    return str(current_app.config.get(CONFIG_KEY, DEFAULT_LOCALE))


def remember_locale() -> None:
    """Keep a language picked with `?l=` for the following pages, without JavaScript."""
    chosen = request.args.get(LOCALE_PARAM)
    if chosen in SUPPORTED_LOCALES and session.get(SESSION_KEY) != chosen:
        session[SESSION_KEY] = chosen


def current_locale() -> str:
    """The language code of the page being rendered."""
    return str(get_locale() or current_app.config.get(CONFIG_KEY, DEFAULT_LOCALE))


def locale_url(code: str) -> str:
    """A link that shows the current page, or the closest page a link can show, in `code`.

    A page that answered a form (a POST) cannot be shown again by a link, so its language links
    lead to the landing page instead of to an error.
    """
    rule = request.url_rule
    if (
        request.method == "GET"
        and rule is not None
        and rule.methods is not None
        and "GET" in rule.methods
        and request.endpoint is not None
    ):
        return url_for(request.endpoint, **(request.view_args or {}), l=code)
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


def _language_context() -> dict[str, object]:
    return {
        "supported_locales": SUPPORTED_LOCALES,
        "locale_names": LOCALE_NAMES,
        "current_locale": current_locale,
        "locale_url": locale_url,
        "locale_link": locale_link,
    }


def _po_path(directory: Path, code: str) -> Path:
    return directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalogs(directory: Path = TRANSLATIONS_DIR, *, only_stale: bool = False) -> list[Path]:
    """Compile every `<code>/LC_MESSAGES/messages.po` under `directory` into its `.mo`.

    Fuzzy entries are left out, as gettext does. Each `.mo` is written to a temp file and renamed
    into place, so gunicorn workers starting together never read half a catalog. Returns the
    `.mo` files written.
    """
    written: list[Path] = []
    for po_path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if only_stale and mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name, abort_invalid=True)
            fd, temp_name = tempfile.mkstemp(dir=po_path.parent, prefix=".messages-", suffix=".mo")
            try:
                with os.fdopen(fd, "wb") as mo_file:
                    write_mo(mo_file, catalog, use_fuzzy=False)
                os.chmod(temp_name, 0o644)
                os.replace(temp_name, mo_path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        except (OSError, ValueError, PoFileError) as exc:
            raise TranslationsUnavailable(
                f"Could not compile {po_path}: {exc}. Fix the catalog, or run "
                "scripts/compile_translations.sh as a user who may write to that directory."
            ) from exc
        written.append(mo_path)
    return written
