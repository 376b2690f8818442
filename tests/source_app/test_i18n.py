"""Languages: complete be/ru/en catalogs, correct plurals, and a choice made by the source only."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_babel import gettext, ngettext

from source_app.errors import TranslationsUnavailable
from source_app.i18n import (
    SUPPORTED_LOCALES,
    TRANSLATIONS_DIR,
    compile_catalogs,
    init_i18n,
)
from tests.source_app.pages import SourceClient
from tests.support.catalogues import (
    REPO_ROOT,
    assert_three_plural_forms,
    assert_translated,
    copy_catalogs,
    extracted_messages,
    read_catalog,
)

MAPPING = REPO_ROOT / "babel.cfg"


@pytest.fixture
def i18n_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.urandom(32)
    init_i18n(app, default_locale="ru")

    @app.get("/")
    def index() -> str:
        return render_template_string(
            "{{ current_locale() }}|{{ _('Guide') }}|"
            "{% for code in supported_locales %}{{ locale_url(code) }} {% endfor %}"
        )

    @app.post("/answer")
    def answer() -> str:
        return render_template_string("{{ locale_url('be') }}")

    return app


@pytest.fixture
def i18n_client(i18n_app: Flask) -> Iterator[FlaskClient]:
    with i18n_app.test_client() as client:
        yield client


def test_source_text_is_extracted_from_templates_and_python() -> None:
    messages = extracted_messages(MAPPING)
    assert "Reaching this site safely from Belarus" in messages  # lazy_gettext in Python
    assert "If Tor is blocked: bridges" in messages  # a template


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
def test_every_source_facing_message_is_translated(code: str) -> None:
    assert_translated(TRANSLATIONS_DIR, code, MAPPING)


@pytest.mark.parametrize("code", ["be", "ru"])
def test_belarusian_and_russian_have_three_plural_forms(code: str) -> None:
    catalog = read_catalog(TRANSLATIONS_DIR, code)
    assert_three_plural_forms(catalog)


@pytest.mark.parametrize(
    ("code", "number", "expected"),
    [
        ("ru", 1, "Мы получили от вас 1 файл."),
        ("ru", 3, "Мы получили от вас 3 файла."),
        ("ru", 11, "Мы получили от вас 11 файлов."),
        ("ru", 21, "Мы получили от вас 21 файл."),
        ("be", 2, "Мы атрымалі ад вас 2 файлы."),
        ("be", 5, "Мы атрымалі ад вас 5 файлаў."),
        ("en", 1, "We have received 1 file from you."),
        ("en", 2, "We have received 2 files from you."),
    ],
)
def test_plurals_are_chosen_by_number(
    i18n_client: FlaskClient, code: str, number: int, expected: str
) -> None:
    i18n_client.get(f"/?l={code}")
    with i18n_client.application.test_request_context(f"/?l={code}"):
        text = ngettext(
            "We have received %(num)d file from you.",
            "We have received %(num)d files from you.",
            number,
        )
    assert text == expected


def test_the_instance_default_applies_until_the_source_chooses(i18n_client: FlaskClient) -> None:
    assert i18n_client.get("/").text.startswith("ru|Памятка|")


def test_accept_language_is_ignored(i18n_client: FlaskClient) -> None:
    # Tor Browser sends the same English header for everybody; it says nothing about the source.
    page = i18n_client.get("/", headers={"Accept-Language": "en-US,en;q=0.5"})
    assert page.text.startswith("ru|")
    page = i18n_client.get("/", headers={"Accept-Language": "be"})
    assert page.text.startswith("ru|")


def test_a_chosen_language_is_remembered(i18n_client: FlaskClient) -> None:
    assert i18n_client.get("/?l=be").text.startswith("be|Даведнік|")
    assert i18n_client.get("/").text.startswith("be|")
    assert i18n_client.get("/?l=en").text.startswith("en|Guide|")
    assert i18n_client.get("/").text.startswith("en|")


def test_an_unknown_language_changes_nothing(i18n_client: FlaskClient) -> None:
    i18n_client.get("/?l=be")
    assert i18n_client.get("/?l=xx").text.startswith("be|")
    assert i18n_client.get("/?l=../../etc").text.startswith("be|")


def test_language_links_lead_to_the_same_page(i18n_client: FlaskClient) -> None:
    links = i18n_client.get("/").text.split("|")[2].split()
    assert links == ["/?l=be", "/?l=ru", "/?l=en"]


def test_language_links_on_a_form_answer_lead_to_a_page_a_link_can_show(
    i18n_app: Flask,
) -> None:
    i18n_app.config["WTF_CSRF_ENABLED"] = False
    with i18n_app.test_client() as client:
        assert client.post("/answer").text == "/?l=be"  # this app has no home page


def test_a_default_outside_the_supported_languages_is_refused() -> None:
    with pytest.raises(TranslationsUnavailable, match="choose one of"):
        init_i18n(Flask(__name__), default_locale="de")


def test_a_missing_catalog_is_refused(tmp_path: Path) -> None:
    copy_catalogs(TRANSLATIONS_DIR, tmp_path, ("be", "ru"))
    with pytest.raises(TranslationsUnavailable, match="en"):
        init_i18n(Flask(__name__), translations_dir=tmp_path)


def test_stale_catalogs_are_compiled_and_fresh_ones_left_alone(tmp_path: Path) -> None:
    copy_catalogs(TRANSLATIONS_DIR, tmp_path, SUPPORTED_LOCALES)
    written = compile_catalogs(tmp_path)
    assert sorted(p.parent.parent.name for p in written) == ["be", "en", "ru"]
    assert compile_catalogs(tmp_path, only_stale=True) == []
    po = tmp_path / "be" / "LC_MESSAGES" / "messages.po"
    later = po.stat().st_mtime + 10
    os.utime(po, (later, later))
    assert compile_catalogs(tmp_path, only_stale=True) == [po.with_suffix(".mo")]


def test_compiled_catalogs_translate(tmp_path: Path) -> None:
    app = Flask(__name__)
    app.secret_key = os.urandom(32)
    init_i18n(app)
    with app.test_request_context("/?l=be"):
        assert gettext("Guide") == "Даведнік"
    with app.test_request_context("/?l=ru"):
        assert gettext("Guide") == "Памятка"


def test_a_broken_catalog_names_the_file_and_the_fix(tmp_path: Path) -> None:
    target = tmp_path / "be" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "messages.po").write_bytes(b'msgid "no translation follows"\n')
    with pytest.raises(TranslationsUnavailable, match=r"be/LC_MESSAGES/messages\.po"):
        compile_catalogs(tmp_path)


def test_a_codename_from_a_belarusian_page_works_on_a_russian_one(client: FlaskClient) -> None:
    # A Belarusian page gives a Belarusian codename; it works whatever the page's language.
    source = SourceClient(client)
    client.get("/?l=be")
    source.create()
    assert len(source.codename.split(" ")) == 8
    assert not source.codename.isascii()
    source.logout()
    client.get("/?l=ru")
    response = source.login(source.codename)
    assert response.status_code == 303
    page = client.get("/lookup").text
    assert '<html lang="ru">' in page
    assert "Ответов пока нет" in page


def test_the_logged_out_page_links_keep_the_language(client: FlaskClient) -> None:
    # Logging out forgets the session and the language in it; every link on that last page
    # must still lead to pages in the source's language.
    source = SourceClient(client)
    client.get("/?l=be")
    source.create()
    page = source.logout().text
    assert '<html lang="be">' in page
    links = re.findall(r'<a [^>]*href="([^"]+)"', page)
    guide_links = [link for link in links if link.startswith("/guide")]
    assert len(guide_links) >= 5  # the header link and every page in the footer
    for link in links:
        if "?l=" in link or link == "https://www.wikipedia.org/":  # the quick exit leaves
            continue
        raise AssertionError(f"{link} on the logged-out page does not carry the language")
    assert all("l=be" in link for link in guide_links)
    followed = client.get(guide_links[-1])
    assert '<html lang="be">' in followed.text


def test_links_stay_plain_while_the_session_remembers_the_language(client: FlaskClient) -> None:
    client.get("/?l=ru")
    page = client.get("/guide/").text
    assert '<html lang="ru">' in page
    assert 'href="/guide/tor"' in page
