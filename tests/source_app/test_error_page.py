"""Error pages speak the source's language and keep the site's safety features."""

from flask.testing import FlaskClient

from tests.source_app.pages import csrf_token_in


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
