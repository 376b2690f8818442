"""Languages of the staff interface: Belarusian, Russian and English, chosen by the staff member.

The choice arrives as ``?l=<code>`` on any link (the language links in the header) and is kept in
a cookie of its own, so it survives signing out and in again; it names a language and nothing
else. Without a choice the instance's source default language applies, since staff and sources
of one drop usually read the same. Catalogs live in ``journalist_app/translations`` and are
compiled when missing or older than their ``.po`` (as for the source interface), so an edited
catalog serves what it says. A catalog that is missing or cannot be compiled stops the app from
starting with :class:`~journalist_app.errors.StaffTranslationsUnavailable`.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from flask import Flask, Response, current_app, request, url_for
from flask_babel import Babel, get_locale, gettext

from journalist_app.errors import StaffTranslationsUnavailable

SUPPORTED_LOCALES: tuple[str, ...] = ("be", "ru", "en")
LOCALE_NAMES = {"be": "Беларуская", "ru": "Русский", "en": "English"}
LOCALE_PARAM = "l"
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
    missing = [
        code
        for code in SUPPORTED_LOCALES
        if not (translations_dir / code / "LC_MESSAGES" / "messages.po").is_file()
    ]
    if missing:
        raise StaffTranslationsUnavailable(", ".join(missing), translations_dir)
    compile_staff_catalogs(translations_dir)
    app.config[CONFIG_KEY] = default_locale
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_dir)
    babel = Babel(app, locale_selector=select_locale)
    app.after_request(remember_locale)
    app.context_processor(_language_context)
    return babel


def select_locale() -> str:
    """``?l=``, then the cookie, then the instance default."""
    for chosen in (request.args.get(LOCALE_PARAM), request.cookies.get(COOKIE)):
        if chosen in SUPPORTED_LOCALES:
            return str(chosen)
    return str(current_app.config.get(CONFIG_KEY, "en"))


def remember_locale(response: Response) -> Response:
    chosen = request.args.get(LOCALE_PARAM)
    if chosen in SUPPORTED_LOCALES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, str(chosen), max_age=COOKIE_SECONDS, httponly=True, samesite="Strict"
        )
    return response


def current_locale() -> str:
    return str(get_locale() or current_app.config.get(CONFIG_KEY, "en"))


def locale_url(code: str) -> str:
    """This page in ``code`` when a link can show it again; the inbox otherwise."""
    rule = request.url_rule
    if (
        request.method == "GET"
        and rule is not None
        and rule.methods is not None
        and "GET" in rule.methods
        and request.endpoint is not None
    ):
        values: dict[str, Any] = dict(request.args)
        values.update(request.view_args or {})
        values[LOCALE_PARAM] = code
        return url_for(request.endpoint, **values)
    home: dict[str, Any] = {LOCALE_PARAM: code}
    return url_for("inbox.index", **home)


def _language_context() -> dict[str, object]:
    return {
        "supported_locales": SUPPORTED_LOCALES,
        "locale_names": LOCALE_NAMES,
        "current_locale": current_locale,
        "locale_url": locale_url,
    }


def compile_staff_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each stale ``.po`` into its ``.mo``.

    Written to a temp file, then renamed: gunicorn workers start together.
    """
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
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
            raise StaffTranslationsUnavailable(str(po_path), directory, reason=str(exc)) from exc
        written.append(mo_path)
    return written
