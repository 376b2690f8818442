"""Warnings about how a page was reached: onion address, proxies, and Tor Browser."""

import pytest
from flask.testing import FlaskClient

from source_app.connection import host_name, inspect_connection

TOR_BROWSER_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
TOR_BROWSER_ANDROID = "Mozilla/5.0 (Android 10; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
ONION = "skrynkaabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq.onion"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (ONION, ONION),
        (f"{ONION.upper()}:80", ONION),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("::1", "::1"),
    ],
)
def test_host_names_lose_their_port(host: str, expected: str) -> None:
    assert host_name(host) == expected


def test_an_onion_address_in_tor_browser_gets_no_warning() -> None:
    for agent in (TOR_BROWSER_DESKTOP, TOR_BROWSER_ANDROID):
        notice = inspect_connection(ONION, {"User-Agent": agent})
        assert not notice.warn_not_onion
        assert not notice.warn_browser


def test_a_clearnet_host_is_warned_about() -> None:
    notice = inspect_connection("drop.example.org", {"User-Agent": TOR_BROWSER_DESKTOP})
    assert notice.warn_not_onion


@pytest.mark.parametrize(
    "header",
    ["X-Tor2web", "x-forwarded-for", "X-Forwarded-Host", "Via", "Forwarded", "X-Real-IP"],
)
def test_a_proxy_is_warned_about_even_with_an_onion_host(header: str) -> None:
    notice = inspect_connection(ONION, {"User-Agent": TOR_BROWSER_DESKTOP, header: "1"})
    assert notice.proxied
    assert notice.warn_not_onion


@pytest.mark.parametrize(
    "agent",
    [
        FIREFOX_WINDOWS,
        FIREFOX_LINUX,
        CHROME,
        "",
        "curl/8.0",
        "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/115.0",
    ],
)
def test_browsers_other_than_tor_browser_get_guidance(agent: str) -> None:
    assert inspect_connection(ONION, {"User-Agent": agent}).warn_browser


def test_client_hints_betray_a_chromium_pretending_to_be_tor_browser() -> None:
    headers = {"User-Agent": TOR_BROWSER_DESKTOP, "Sec-CH-UA": '"Chromium";v="126"'}
    assert inspect_connection(ONION, headers).warn_browser


def test_loopback_is_recognised() -> None:
    notice = inspect_connection("127.0.0.1:8080", {"User-Agent": CHROME})
    assert notice.loopback
    assert not notice.warn_not_onion


def test_pages_warn_about_a_tor2web_proxy(client: FlaskClient) -> None:
    html = client.get("/", headers={"X-Tor2web": "encrypted", "User-Agent": TOR_BROWSER_DESKTOP})
    assert 'id="warning-not-onion"' in html.text
    assert 'href="/guide/tor"' in html.text


def test_pages_warn_about_a_clearnet_address(client: FlaskClient) -> None:
    page = client.get("/", base_url="http://drop.example.org", headers={"User-Agent": CHROME})
    assert 'id="warning-not-onion"' in page.text
    assert 'id="warning-browser"' in page.text


def test_an_onion_visit_in_tor_browser_shows_no_warning(client: FlaskClient) -> None:
    page = client.get("/", base_url=f"http://{ONION}", headers={"User-Agent": TOR_BROWSER_DESKTOP})
    assert "warning-" not in page.text
    assert 'id="notice-demo"' not in page.text


def test_a_demo_instance_on_this_computer_says_so_calmly(client: FlaskClient) -> None:
    page = client.get("/", headers={"User-Agent": TOR_BROWSER_DESKTOP})
    assert 'id="notice-demo"' in page.text
    assert 'id="warning-not-onion"' not in page.text
