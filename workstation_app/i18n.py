"""Languages of the desk: Belarusian, Russian and English, chosen by each person.

A person picks a language on the "who is working" page or with the links at the top of every
page (`?l=<code>`, no JavaScript); the choice is kept in that person's session. Until someone
chooses, the desk's default applies. Catalogs are `.po` files under
`workstation_app/translations/<code>/LC_MESSAGES/messages.po`; a missing or stale `.mo` is
compiled at start, so an edited catalog is what the desk shows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel, get_locale

from workstation_app.errors import TranslationsUnavailable

SUPPORTED_LOCALES: tuple[str, ...] = ("be", "ru", "en")
LOCALE_NAMES: Mapping[str, str] = {"be": "Беларуская", "ru": "Русский", "en": "English"}
DEFAULT_LOCALE = "en"
LOCALE_PARAM = "l"
SESSION_KEY = "locale"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def init_i18n(app: Flask, default_locale: str = DEFAULT_LOCALE,
              translations_dir: Path = TRANSLATIONS_DIR) -> Babel:
    if default_locale not in SUPPORTED_LOCALES:
        raise TranslationsUnavailable(
            f"default language {default_locale!r} is not one of {', '.join(SUPPORTED_LOCALES)}"
        )
    compile_catalogs(translations_dir)
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_dir)
    app.config["DESK_DEFAULT_LOCALE"] = default_locale
    babel = Babel(app, locale_selector=select_locale)
    app.before_request(remember_locale)
    app.context_processor(lambda: {
        "current_locale": current_locale,
        "locale_url": locale_url,
        "supported_locales": SUPPORTED_LOCALES,
        "locale_names": LOCALE_NAMES,
    })
    return babel


def compile_catalogs(translations_dir: Path) -> None:
    """Compile every catalog whose `.mo` is missing or older than its `.po`."""
    for code in SUPPORTED_LOCALES:
        po = translations_dir / code / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if not po.is_file():
            raise TranslationsUnavailable(f"no catalog {po}")
        if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=code)
        except (PoFileError, ValueError) as exc:
            raise TranslationsUnavailable(f"{po}: {exc}") from exc
        # A temporary file of its own for each writer: two desks (or test workers) starting
        # together on a fresh checkout both compile, and a shared temporary name let one
        # rename the other's file away from under it.
        fd, temp_name = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog)
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, mo)
        except OSError as exc:
            Path(temp_name).unlink(missing_ok=True)
            raise TranslationsUnavailable(f"{mo}: {exc}") from exc


def select_locale() -> str:
    chosen = request.args.get(LOCALE_PARAM)
    if chosen in SUPPORTED_LOCALES:
        return str(chosen)
    remembered = session.get(SESSION_KEY)
    if remembered in SUPPORTED_LOCALES:
        return str(remembered)
    return str(current_app.config["DESK_DEFAULT_LOCALE"])


def remember_locale() -> None:
    chosen = request.args.get(LOCALE_PARAM)
    if chosen in SUPPORTED_LOCALES:
        session[SESSION_KEY] = chosen


def current_locale() -> str:
    return str(get_locale() or current_app.config["DESK_DEFAULT_LOCALE"])


def locale_url(code: str) -> str:
    """This page in another language; after a form (POST), the start page in it."""
    if request.method == "GET" and request.endpoint and request.endpoint != "launch.trade":
        values: dict[str, Any] = {k: v for k, v in request.args.items() if k != LOCALE_PARAM}
        values.update(request.view_args or {})
        values[LOCALE_PARAM] = code
        return url_for(request.endpoint, **values)
    return url_for("items.index", l=code)
