"""Shared Flask hardening: strict headers, cookie flags, CSRF and error pages that say nothing."""

import logging
from collections.abc import Iterator

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from wtforms import StringField

from core.instance import Instance
from core.web import DEFAULT_CSP, choose_locale, harden_app, same_page_url


class NameForm(FlaskForm):  # type: ignore[misc]
    name = StringField("name")


@pytest.fixture
def app(instance: Instance) -> Flask:
    app = Flask("hardened")
    harden_app(app, instance, csp=DEFAULT_CSP)

    @app.get("/")
    def index() -> str:
        session["seen"] = True
        return "hello"

    @app.post("/form")
    def form() -> str:
        if not NameForm().validate_on_submit():
            return "invalid"
        return "accepted"

    @app.get("/form")
    def show_form() -> str:
        return str(NameForm().csrf_token.current_token)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("/srv/secret/path and what the source typed")

    return app


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/missing", "/boom"):
        response = client.get(path)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'")
        assert "frame-ancestors 'none'" in csp
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in headers["Cache-Control"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
        assert "camera=()" in headers["Permissions-Policy"]


def test_a_custom_csp_still_forbids_framing(instance: Instance) -> None:
    app = Flask("custom")
    harden_app(app, instance, csp="default-src 'none'; img-src 'self'")
    response = app.test_client().get("/nothing")
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")


def test_the_session_cookie_is_httponly_and_strict_but_not_secure(client: FlaskClient) -> None:
    cookie = client.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    # Onion services are plain http: a Secure cookie would never come back.
    assert "Secure" not in cookie


def test_the_secret_key_is_the_instance_session_key(app: Flask, instance: Instance) -> None:
    assert app.secret_key == instance.session_key


def test_a_form_without_its_csrf_token_is_refused_with_advice(client: FlaskClient) -> None:
    response = client.post("/form", data={"name": "x"})
    assert response.status_code == 400
    assert b"This form has expired" in response.data


def test_a_form_with_its_csrf_token_is_accepted(client: FlaskClient) -> None:
    token = client.get("/form").get_data(as_text=True)
    assert client.post("/form", data={"name": "x", "csrf_token": token}).data == b"accepted"


def test_the_csrf_window_is_as_long_as_a_source_session(app: Flask, instance: Instance) -> None:
    assert app.config["WTF_CSRF_TIME_LIMIT"] == instance.settings.source_session_minutes * 60


def test_errors_show_a_short_page_without_details(client: FlaskClient) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert b"/srv/secret" not in response.data
    assert b"Traceback" not in response.data
    missing = client.get("/missing")
    assert missing.status_code == 404
    assert b"Page not found" in missing.data
    assert b"/missing" not in missing.data


def test_unhandled_errors_log_the_type_only(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        client.get("/boom")
    assert "RuntimeError" in caplog.text
    assert "what the source typed" not in caplog.text


def test_werkzeug_request_logging_is_off(app: Flask) -> None:
    assert logging.getLogger("werkzeug").disabled


@pytest.fixture
def language_app() -> Flask:
    app = Flask("languages")
    app.config["TEST_DEFAULT_LOCALE"] = "ru"

    @app.route("/people/<name>", methods=["GET", "POST"])
    def person(name: str) -> str:
        return name

    return app


@pytest.mark.parametrize(("query", "remembered", "expected"), [
    ("?l=be", "en", "be"),  # a choice made now wins
    ("", "en", "en"),  # then what the app remembered
    ("?l=de", "be", "be"),  # a language nobody offers is no choice
    ("", "de", "ru"),  # then the app's default
])
def test_the_language_is_the_choice_then_the_remembered_one_then_the_default(
    language_app: Flask, query: str, remembered: str, expected: str
) -> None:
    with language_app.test_request_context(f"/people/ana{query}"):
        assert choose_locale(remembered, "TEST_DEFAULT_LOCALE") == expected


def test_the_same_page_in_another_language_keeps_the_search_only_when_asked(
    language_app: Flask,
) -> None:
    with language_app.test_request_context("/people/ana?q=x&l=ru"):
        assert same_page_url("be", keep_query=True) == "/people/ana?q=x&l=be"
        assert same_page_url("be", keep_query=False) == "/people/ana?l=be"
    with language_app.test_request_context("/people/ana", method="POST"):
        # A page that answered a form cannot be shown again by a link.
        assert same_page_url("be", keep_query=True) is None
