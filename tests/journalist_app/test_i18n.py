"""The staff interface in Belarusian, Russian and English: full catalogs, a remembered choice."""

from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from core.instance import Instance
from journalist_app.i18n import COOKIE, SUPPORTED_LOCALES, TRANSLATIONS_DIR
from tests.support.staff import make_source

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}
PLURAL_FORMS = {1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 14: 2, 21: 0, 22: 1, 25: 2, 101: 0, 111: 2}
# Pages and what each must say in each language (nothing of the English left on them).
PAGES = {
    "/": {"be": "Уваходныя", "ru": "Входящие", "en": "Inbox"},
    "/account": {"be": "Ваш уліковы запіс", "ru": "Ваша учётная запись", "en": "Your account"},
}


def extracted_messages() -> set[str | tuple[str, ...]]:
    with (REPO_ROOT / "babel-journalist.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO_ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }


def read_catalog(code: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


def test_staff_text_is_extracted_from_templates_and_python() -> None:
    messages = extracted_messages()
    assert "Download unread (transfer bundle)" in messages  # a template
    assert "Your reply was encrypted and sent." in messages  # lazy_gettext in Python
    assert len(messages) > 150


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
def test_every_staff_message_is_translated_and_not_fuzzy(code: str) -> None:
    catalog = read_catalog(code)
    problems = []
    for message in extracted_messages():
        entry = catalog.get(message)
        if entry is None:
            problems.append(f"missing: {message!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message!r}")
        elif isinstance(entry.string, tuple):
            if len(entry.string) != catalog.num_plurals or not all(entry.string):
                problems.append(f"plural forms incomplete: {message!r}")
        elif not entry.string:
            problems.append(f"untranslated: {message!r}")
    assert not problems, f"{code} catalog (run scripts/update_translations.sh):\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("code", ["be", "ru"])
def test_belarusian_and_russian_have_three_plural_forms_and_real_translations(code: str) -> None:
    catalog = read_catalog(code)
    assert catalog.num_plurals == 3
    for number, form in PLURAL_FORMS.items():
        assert int(c2py(catalog.plural_expr)(number)) == form
    # A translation that repeats the English is not one (placeholders-only strings aside).
    copied = [
        m.id for m in catalog
        if m.id and isinstance(m.string, str) and m.string == m.id
        and any(c.isalpha() for c in m.id)
    ]
    assert not copied, copied


@pytest.mark.parametrize("code", ["be", "ru", "en"])
def test_a_staff_member_picks_a_language_and_it_is_remembered(
    staff_client: FlaskClient, instance: Instance, code: str
) -> None:
    make_source(instance, "lang")
    first = staff_client.get(f"/?l={code}")
    text = first.get_data(as_text=True)
    assert f'<html lang="{code}">' in text
    assert PAGES["/"][code] in text
    cookie = staff_client.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie.value == code
    # The next page, with no parameter, keeps the language.
    account = staff_client.get("/account").get_data(as_text=True)
    assert PAGES["/account"][code] in account
    assert f'<html lang="{code}">' in account


def test_a_language_nobody_offers_is_ignored(staff_client: FlaskClient) -> None:
    page = staff_client.get("/?l=de").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert staff_client.get_cookie(COOKIE) is None
