"""Error pages speak the source's language and keep the site's safety features."""

import html
import io

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    TooManyRequests,
)

from core.instance import Instance
from core.models import Source, Submission
from source_app import errors
from source_app.errors import TranslationsUnavailable
from tests.source_app.pages import SourceClient, csrf_token_in


def test_a_missing_page_is_explained_in_the_chosen_language(client: FlaskClient) -> None:
    client.get("/?l=ru")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text
    assert 'hreflang="be"' in response.text  # the language links are there too
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_an_expired_form_is_explained_in_belarusian(client: FlaskClient) -> None:
    client.get("/?l=be")
    response = client.post("/generate", data={"csrf_token": "stale"})
    assert response.status_code == 400
    assert "Тэрмін дзеяння гэтай формы скончыўся" in response.text
    assert "Traceback" not in response.text


def test_english_stays_the_default_wording(client: FlaskClient) -> None:
    token = csrf_token_in(client.get("/").text)
    assert client.post("/generate", data={"csrf_token": token}).status_code == 200
    response = client.post("/login", data={"codename": "x"})
    assert response.status_code == 400
    assert "This form has expired or was sent twice" in response.text


def test_a_wrong_method_keeps_its_status(client: FlaskClient) -> None:
    client.get("/?l=ru")
    response = client.get("/submit")
    assert response.status_code == 405
    assert "Здесь это нельзя" in response.text


def test_a_file_sent_to_a_form_without_files_gets_a_clear_page(
    client: FlaskClient, instance: Instance
) -> None:
    # The page comes from SpoolingRefused: Werkzeug asked for a temp file and was refused.
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login",
        data={"csrf_token": token, "codename": (io.BytesIO(b"secret" * 200_000), "a.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Files can be sent only with the form on your page" in response.text
    with instance.sessions() as db:
        assert db.scalars(select(Source)).all() == []


def test_a_file_sent_with_a_consent_change_is_refused_in_russian(
    source: SourceClient, instance: Instance
) -> None:
    source.client.get("/lookup?l=ru")
    token = csrf_token_in(source.lookup().text)
    response = source.client.post(
        "/consent",
        data={"csrf_token": token, "replies": "yes", "fh": (io.BytesIO(b"x" * 600_000), "b.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Файлы можно отправить только через форму на вашей странице" in response.text
    with instance.sessions() as db:
        assert db.scalars(select(Submission)).all() == []


def test_every_error_a_request_can_raise_has_a_page(app: Flask) -> None:
    # Start-up errors stop create_app; every other SourceAppError must answer with a page.
    start_up_only = {TranslationsUnavailable}
    handlers = app.error_handler_spec[None][None]
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.SourceAppError)
    }
    assert defined == {
        errors.SourceAppError,
        TranslationsUnavailable,
        errors.SpoolingRefused,
        errors.MalformedUpload,
        errors.TooManyParts,
        errors.ServerBusy,
    }
    for error in defined - start_up_only - {errors.SourceAppError}:
        assert error in handlers, error.__name__
        assert error.__doc__


def test_a_malformed_upload_anywhere_gets_the_upload_page(app: Flask) -> None:
    def broken() -> str:
        raise errors.MalformedUpload("cut off")

    app.add_url_rule("/broken-upload", "broken_upload", broken, methods=["GET"])
    response = app.test_client().get("/broken-upload")
    assert response.status_code == 400
    assert "Your upload could not be read" in response.text


# Each status a request can end in, raised the way views and Werkzeug raise them, and the title
# a source reads instead of Werkzeug's English (sources in Belarus may read no English at all).
TITLES = {
    "be": {400: "Запыт не ўдалося зразумець", 403: "Не дазволена", 404: "Старонка не знойдзена",
           405: "Тут гэта нельга", 413: "Занадта вялікі", 429: "Занадта шмат спроб",
           "parts": "Зашмат файлаў адначасова", "busy": "Сайт зараз перагружаны",
           "expired": "Тэрмін дзеяння гэтай формы скончыўся"},
    "ru": {400: "Запрос не удалось понять", 403: "Не разрешено", 404: "Страница не найдена",
           405: "Здесь это нельзя", 413: "Слишком большой", 429: "Слишком много попыток",
           "parts": "Слишком много файлов за раз", "busy": "Сайт сейчас перегружен",
           "expired": "Срок действия этой формы истёк"},
}
WERKZEUG = (BadRequest, Forbidden, NotFound, MethodNotAllowed, RequestEntityTooLarge,
            TooManyRequests)


@pytest.mark.parametrize("code", ["be", "ru"])
def test_no_error_page_shows_werkzeug_s_english(app: Flask, code: str) -> None:
    def refuse(status: int) -> str:
        abort(status)

    def too_many_parts() -> str:
        raise errors.TooManyParts(10)

    def busy() -> str:
        raise errors.ServerBusy()

    app.add_url_rule("/refuse/<int:status>", "refuse", refuse)
    app.add_url_rule("/too-many-parts", "too_many_parts", too_many_parts)
    app.add_url_rule("/busy", "busy", busy)
    client = app.test_client()
    client.get(f"/?l={code}")
    titles = TITLES[code]
    pages = {status: client.get(f"/refuse/{status}") for status in (400, 403, 404, 413, 429)}
    pages[405] = client.get("/submit")
    pages["parts"] = client.get("/too-many-parts")
    pages["busy"] = client.get("/busy")
    pages["expired"] = client.post("/generate", data={"csrf_token": "stale"})
    for key, response in pages.items():
        text = html.unescape(response.text)
        assert titles[key] in text, key
        assert f'<html lang="{code}">' in text, key
        for error in WERKZEUG:
            assert str(error.description) not in text, (key, error)
        assert "CSRF" not in text, key
