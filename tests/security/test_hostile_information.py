"""What the servers tell any visitor about themselves, checked through real gunicorn."""

from __future__ import annotations

import http.client
import platform
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from core.instance import Instance

APPS = ("source_app:create_app()", "journalist_app:create_app()")


def raw_headers(base_url: str, path: str) -> list[tuple[str, str]]:
    """Every header line of a response, as sent (http.client keeps duplicates)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.getheaders()
    finally:
        connection.close()


def test_neither_app_names_its_web_server(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    for app in APPS:
        url = make_gunicorn(app, instance.settings.data_dir)
        for path in ("/", "/login", "/no-such-page", "/api/v1/"):
            headers = raw_headers(url, path)
            names = [name.lower() for name, _ in headers]
            assert "server" not in names, (app, path, headers)
            assert not [v for _, v in headers if "gunicorn" in v.lower()], (app, path)
            assert "x-powered-by" not in names


def test_metadata_publishes_no_operating_system(
    instance: Instance, make_gunicorn: Callable[..., str]
) -> None:
    url = make_gunicorn(APPS[0], instance.settings.data_dir)
    document = requests.get(f"{url}/metadata", timeout=30).json()
    assert set(document) == {"organization_name", "allow_document_uploads", "gpg_fpr",
                             "sd_version", "supported_languages", "v3_source_url"}
    release = platform.freedesktop_os_release()
    values = {str(value).lower() for value in document.values()}
    for revealing in (release.get("ID"), release.get("VERSION_ID"), platform.system()):
        assert revealing is None or revealing.lower() not in values, revealing
