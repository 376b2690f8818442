"""The staff interface in Belarusian, Russian and English: full catalogs, a remembered choice."""

import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from core.web import ERROR_TITLES as CORE_ERROR_TITLES
from journalist_app.error_pages import ERROR_TITLES, GENERIC_MESSAGES
from journalist_app.errors import StaffTranslationsUnavailable
from journalist_app.i18n import COOKIE, SUPPORTED_LOCALES, TRANSLATIONS_DIR, init_staff_i18n
from tests.support.catalogues import (
    REPO_ROOT,
    assert_three_plural_forms,
    assert_translated,
    copy_catalogs,
    extracted_messages,
    read_catalog,
)
from tests.support.staff import csrf_from, make_source

MAPPING = REPO_ROOT / "babel-journalist.cfg"
# Pages and what each must say in each language (nothing of the English left on them).
PAGES = {
    "/": {"be": "Уваходныя", "ru": "Входящие", "en": "Inbox"},
    "/account": {"be": "Ваш уліковы запіс", "ru": "Ваша учётная запись", "en": "Your account"},
}


def test_staff_text_is_extracted_from_templates_and_python() -> None:
    messages = extracted_messages(MAPPING)
    assert "Download unread (transfer bundle)" in messages  # a template
    assert "Your reply was encrypted and sent." in messages  # lazy_gettext in Python
    assert "No such source: it may have been deleted." in messages  # an abort message
    assert "Page not found" in messages  # an error page's title
    assert len(messages) > 150


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
def test_every_staff_message_is_translated_and_not_fuzzy(code: str) -> None:
    assert_translated(TRANSLATIONS_DIR, code, MAPPING)


@pytest.mark.parametrize("code", ["be", "ru"])
def test_belarusian_and_russian_have_three_plural_forms_and_real_translations(code: str) -> None:
    catalog = read_catalog(TRANSLATIONS_DIR, code)
    assert_three_plural_forms(catalog)
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


# The timestamps page without a time-stamping authority, in each language (its headings, the
# form and the advice to the administrator), and what must not be left of the English.
TIMESTAMPS_PAGE = {
    "be": ["Давераныя адзнакі часу", "Файл запыту на адзнаку часу", "Атрымаць токен",
           "папрасіце адміністратара задаць SKRYNKA_TSA_URLS",
           "<code>skrynka-workstation stamp-record</code>"],
    "ru": ["Доверенные метки времени", "Файл запроса метки времени", "Получить токен",
           "попросите администратора задать SKRYNKA_TSA_URLS",
           "<code>skrynka-workstation stamp-record</code>"],
}


@pytest.mark.parametrize("code", ["be", "ru"])
def test_the_timestamps_page_speaks_the_chosen_language(
    staff_client: FlaskClient, code: str
) -> None:
    page = staff_client.get(f"/timestamps?l={code}").get_data(as_text=True)
    for text in TIMESTAMPS_PAGE[code]:
        assert text in page
    for english in ("Trusted timestamps", "Get a token", "Stamp request file", "Upload the"):
        assert english not in page


MISSING_SOURCE = {
    "be": ("Старонка не знойдзена", "Такой крыніцы няма: магчыма, яе выдалілі."),
    "ru": ("Страница не найдена", "Такого источника нет: возможно, его удалили."),
    "en": ("Page not found", "No such source: it may have been deleted."),
}


@pytest.mark.parametrize("code", ["be", "ru", "en"])
def test_a_missing_source_is_reported_in_the_chosen_language(
    staff_client: FlaskClient, code: str
) -> None:
    response = staff_client.get(f"/source/{uuid.uuid4()}?l={code}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    title, message = MISSING_SOURCE[code]
    assert f"<h1>{title}</h1>" in page
    assert f'<p id="error-message">{message}</p>' in page
    assert f'<html lang="{code}">' in page


@pytest.mark.parametrize(("code", "title", "message"), [
    ("be", "Запыт не ўдалося зразумець", "Нумар старонкі павінен быць цэлым лікам не меншым за 1."),
    ("ru", "Запрос не удалось понять", "Номер страницы должен быть целым числом не меньше 1."),
])
def test_a_refused_request_is_titled_and_explained_in_the_chosen_language(
    staff_client: FlaskClient, code: str, title: str, message: str
) -> None:
    response = staff_client.get(f"/?page=0&l={code}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page
    assert message in page


def test_every_error_title_of_core_has_a_staff_translation() -> None:
    # core.web's English table stays the fallback page; staff see these titles instead.
    assert set(ERROR_TITLES) == set(CORE_ERROR_TITLES)


def test_a_missing_staff_catalog_stops_the_app_and_names_the_language(tmp_path: Path) -> None:
    copy_catalogs(TRANSLATIONS_DIR, tmp_path, ("be", "en"))
    with pytest.raises(StaffTranslationsUnavailable, match="translations for ru under"):
        init_staff_i18n(Flask(__name__), default_locale="be", translations_dir=tmp_path)


def test_a_broken_staff_catalog_names_the_file_and_the_fix(tmp_path: Path) -> None:
    for code in SUPPORTED_LOCALES:
        target = tmp_path / code / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes(b'msgid "no translation follows"\n')
    with pytest.raises(
        StaffTranslationsUnavailable,
        match=r"be/LC_MESSAGES/messages\.po under .*restore journalist_app/translations",
    ):
        init_staff_i18n(Flask(__name__), default_locale="be", translations_dir=tmp_path)


# Werkzeug's stock English sentences, which a refusal without a reason of its own used to show.
WERKZEUG_ENGLISH = (
    "The requested URL was not found on the server",
    "The method is not allowed for the requested URL",
    "The CSRF token",
)
# (status, how to get it, what the page must say instead) in each language.
GENERIC_REFUSALS = {
    "be": [
        (404, ("get", "/no-such-page"), "Старонка не знойдзена",
         "Праверце адрас або вярніцеся да ўваходных."),
        (405, ("post", "/account"), "Тут гэта нельга",
         "Вярніцеся назад, перазагрузіце старонку і паспрабуйце зноў."),
    ],
    "ru": [
        (404, ("get", "/no-such-page"), "Страница не найдена",
         "Проверьте адрес или вернитесь к входящим."),
        (405, ("post", "/account"), "Здесь это нельзя",
         "Вернитесь назад, перезагрузите страницу и попробуйте снова."),
    ],
}


@pytest.mark.parametrize("code", ["be", "ru"])
def test_a_refusal_without_a_reason_of_its_own_is_explained_in_the_chosen_language(
    staff_client: FlaskClient, code: str
) -> None:
    staff_client.get(f"/?l={code}")
    for status, (method, path), title, message in GENERIC_REFUSALS[code]:
        response = getattr(staff_client, method)(path)
        assert response.status_code == status
        page = response.get_data(as_text=True)
        assert f"<h1>{title}</h1>" in page
        assert f'<p id="error-message">{message}</p>' in page
        for english in WERKZEUG_ENGLISH:
            assert english not in page


def test_every_error_title_has_a_generic_sentence_for_pages() -> None:
    # Server errors keep core.web's English page (it must work when rendering fails).
    assert set(GENERIC_MESSAGES) == {code for code in ERROR_TITLES if code < 500}


@pytest.mark.parametrize(("code", "message"), [
    ("be", "Тэрмін дзеяння гэтай формы скончыўся, або яна была адпраўлена двойчы."),
    ("ru", "Срок действия этой формы истёк, или она была отправлена дважды."),
])
def test_an_expired_form_is_explained_in_the_chosen_language(
    staff_client: FlaskClient, instance: Instance, code: str, message: str
) -> None:
    source = make_source(instance, "expired")
    staff_client.get(f"/?l={code}")
    response = staff_client.post(f"/source/{source.uuid}/reply",
                                 data={"csrf_token": "stale", "message": "Дзякуй"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<html lang="{code}">' in page
    assert message in page
    for english in (*WERKZEUG_ENGLISH, "This form has expired"):
        assert english not in page


ADMIN_PAGES = {
    "be": {"title": "Уліковы запіс створаны: nina", "refused": "Імя карыстальніка: Гэтае поле "
           "трэба запоўніць.", "audit": "спачатку навейшыя.", "pages": 'aria-label="Старонкі"'},
    "ru": {"title": "Учётная запись создана: nina", "refused": "Имя пользователя: Это поле "
           "нужно заполнить.", "audit": "сначала новые.", "pages": 'aria-label="Страницы"'},
}


@pytest.mark.parametrize("code", ["be", "ru"])
def test_the_admin_pages_speak_the_chosen_language(
    admin_client: FlaskClient, code: str
) -> None:
    admin_client.get(f"/?l={code}")
    expected = ADMIN_PAGES[code]
    form = admin_client.get("/admin/users/new").get_data(as_text=True)
    refused = admin_client.post("/admin/users/new", data={
        "csrf_token": csrf_from(form), "username": "", "otp_kind": "totp"})
    assert refused.status_code == 400
    assert expected["refused"] in refused.get_data(as_text=True)
    assert "This field is required" not in refused.get_data(as_text=True)
    created = admin_client.post("/admin/users/new", data={
        "csrf_token": csrf_from(form), "username": "nina", "otp_kind": "totp"})
    assert f"<h1>{expected['title']}</h1>" in created.get_data(as_text=True)
    assert "Account created" not in created.get_data(as_text=True)
    audit = admin_client.get("/admin/audit").get_data(as_text=True)
    assert expected["audit"] in audit
    assert "newest first" not in audit
    assert expected["pages"] in audit
