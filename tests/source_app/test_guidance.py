"""The guide: every page in every language, safe to open at Tor Browser's Safest level."""

import dataclasses
import re

import pytest
from flask.testing import FlaskClient

from core.instance import Instance
from source_app import create_app
from source_app.guidance import guide_pages
from source_app.i18n import SUPPORTED_LOCALES

PATHS = ["/guide/", *(f"/guide{page.path}" for page in guide_pages())]
# What a frightened reader must find, in each language, on the page that promises it.
ESSENTIALS = {
    "/guide/tor": {
        "be": [
            "obfs4",
            "Snowflake",
            "WebTunnel",
            "@GetBridgesBot",
            "bridges@torproject.org",
            "Tails",
            "Safest",
            "Калі мост перастаў працаваць",
        ],
        "ru": [
            "obfs4",
            "Snowflake",
            "WebTunnel",
            "@GetBridgesBot",
            "bridges@torproject.org",
            "Tails",
            "Safest",
            "Если мост перестал работать",
        ],
        "en": [
            "obfs4",
            "Snowflake",
            "WebTunnel",
            "@GetBridgesBot",
            "bridges@torproject.org",
            "Tails",
            "Safest",
            "When a bridge stops working",
        ],
    },
    "/guide/after": {
        "be": ["Ніколі не запісвайце", "праз мяжу"],
        "ru": ["Никогда не записывайте", "через границу"],
        "en": ["Never write it down", "across the border"],
    },
    "/guide/metadata": {
        "be": ["GPS", "серыйны нумар", "жоўтыя кропкі", "вадзяныя знакі", "арыгінал"],
        "ru": ["GPS", "серийный номер", "жёлтые точки", "водяные знаки", "оригинал"],
        "en": ["GPS", "serial number", "yellow dots", "watermarks", "original"],
    },
    "/guide/what-next": {
        "be": ["рабочым месцы для доказаў", "ААН", "згоды"],
        "ru": ["рабочем месте для доказательств", "ООН", "согласия"],
        "en": ["evidence workstation", "UN investigative bodies", "consent"],
    },
}


@pytest.fixture
def guide_client(client: FlaskClient) -> FlaskClient:
    """The real source app on a fresh instance."""
    return client


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
@pytest.mark.parametrize("path", PATHS)
def test_every_page_answers_in_every_language(
    guide_client: FlaskClient, path: str, code: str
) -> None:
    page = guide_client.get(f"{path}?l={code}")
    assert page.status_code == 200
    assert f'lang="{code}"' in page.text


@pytest.mark.parametrize("path", PATHS)
def test_pages_need_no_script_and_load_nothing_from_elsewhere(
    guide_client: FlaskClient, path: str
) -> None:
    html = guide_client.get(path).text
    assert "<script" not in html.lower()
    assert " style=" not in html.lower()  # inline styles would break under the strict CSP
    # The quick exit is a plain link away (nothing loads from it), the only one.
    html = html.replace('href="https://www.wikipedia.org/" rel="noreferrer"', "", 1)
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), "external load"
    assert "<img" not in html.lower()


@pytest.mark.parametrize(("path", "by_language"), ESSENTIALS.items())
def test_pages_say_what_they_promise(
    guide_client: FlaskClient, path: str, by_language: dict[str, list[str]]
) -> None:
    for code, phrases in by_language.items():
        html = guide_client.get(f"{path}?l={code}").text
        for phrase in phrases:
            assert phrase in html, f"{path} in {code} lacks {phrase!r}"


def test_the_index_lists_every_page_with_its_reading_time(guide_client: FlaskClient) -> None:
    html = guide_client.get("/guide/?l=ru").text
    for page in guide_pages():
        assert f'href="/guide{page.path}"' in html
    assert "Читать около 5 минут." in html
    assert "Читать около 3 минут." in html


def test_reading_time_uses_the_right_plural(guide_client: FlaskClient) -> None:
    assert "Чытаць каля 4 хвілін." in guide_client.get("/guide/metadata?l=be").text
    assert "About 4 minutes to read." in guide_client.get("/guide/metadata?l=en").text


def test_each_page_links_to_the_others(guide_client: FlaskClient) -> None:
    html = guide_client.get("/guide/after").text
    assert 'href="/guide/tor"' in html
    assert 'href="/guide/metadata"' in html
    assert 'href="/guide/what-next"' in html
    assert 'href="/guide/"' in html


def test_language_links_stay_on_the_same_guide_page(guide_client: FlaskClient) -> None:
    html = guide_client.get("/guide/metadata?l=en").text
    assert 'href="/guide/metadata?l=be"' in html
    assert 'href="/guide/metadata?l=ru"' in html


def test_the_guide_never_asks_to_write_the_codename_down(guide_client: FlaskClient) -> None:
    for code in SUPPORTED_LOCALES:
        for path in PATHS:
            html = guide_client.get(f"{path}?l={code}").text.lower()
            assert "write it down and" not in html


@pytest.mark.parametrize("path", ["/", "/login", "/guide/", "/guide/tor"])
def test_every_page_links_to_the_guide_and_offers_every_language(
    guide_client: FlaskClient, path: str
) -> None:
    html = guide_client.get(path).text
    assert 'href="/guide/"' in html
    for page in guide_pages():
        assert f'href="/guide{page.path}"' in html
    for code in SUPPORTED_LOCALES:
        assert f'hreflang="{code}"' in html or f'<strong lang="{code}">' in html


def test_the_operators_bridge_lines_are_on_the_landing_page_and_in_the_guide(
    instance: Instance,
) -> None:
    fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"
    line = f"obfs4 192.0.2.10:443 {fingerprint} cert={'Q' * 70} iat-mode=0"
    published = dataclasses.replace(
        instance, settings=dataclasses.replace(instance.settings, source_bridge_lines=line)
    )
    client = create_app(instance=published).test_client()
    for path in ("/?l=ru", "/guide/tor?l=be"):
        page = client.get(path).text
        assert 'id="own-bridges"' in page
        assert f'<pre class="bridge-lines">{line}\n</pre>' in page
    plain = create_app(instance=instance).test_client().get("/?l=ru").text
    assert 'id="own-bridges"' not in plain
