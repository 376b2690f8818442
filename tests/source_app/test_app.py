"""Every page of the source interface: strict headers, no JavaScript, nothing from elsewhere."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.settings import env_name
from source_app import SOURCE_CSP
from tests.source_app.pages import SourceClient, csrf_token_in

EXPECTED_HEADERS = {
    "Content-Security-Policy": SOURCE_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def responses_of_every_route(source: SourceClient) -> dict[str, object]:
    client = source.client
    token = csrf_token_in(source.lookup().text)
    return {
        "GET /": client.get("/"),
        "GET /lookup": source.lookup(),
        "POST /submit": source.submit("header check"),
        "GET /metadata": client.get("/metadata"),
        "GET /public-key": client.get("/public-key"),
        "GET /delete-all": client.get("/delete-all"),
        "POST /delete-all": client.post("/delete-all", data={"csrf_token": token}),
        "POST /delete": client.post("/delete", data={"csrf_token": token, "reply_uuid": "x"}),
        "GET /static/source.css": client.get("/static/source.css"),
        "POST /logout": client.post("/logout", data={"csrf_token": token}),
        "GET /login": client.get("/login"),
        "POST /login": client.post("/login", data={"csrf_token": token, "codename": "x"}),
        "POST /generate": client.post("/generate", data={"csrf_token": token}),
        "POST /create": client.post("/create", data={"csrf_token": token}),
        "GET /nowhere": client.get("/nowhere"),
        "POST /generate (no CSRF)": client.post("/generate"),
    }


def test_every_route_sends_the_security_headers(source: SourceClient) -> None:
    for route, response in responses_of_every_route(source).items():
        headers = response.headers  # type: ignore[attr-defined]
        for name, value in EXPECTED_HEADERS.items():
            assert headers.get(name) == value, f"{route}: {name}"
        assert "no-store" in headers.get("Cache-Control", ""), route


def test_the_csp_allows_nothing_from_elsewhere_and_no_scripts() -> None:
    assert SOURCE_CSP.startswith("default-src 'none';")
    assert "script-src" not in SOURCE_CSP
    assert "unsafe" not in SOURCE_CSP
    assert "frame-ancestors 'none'" in SOURCE_CSP


def test_pages_have_no_javascript_inline_style_or_foreign_urls(source: SourceClient) -> None:
    for route, response in responses_of_every_route(source).items():
        if response.mimetype != "text/html":  # type: ignore[attr-defined]
            continue
        html = response.text  # type: ignore[attr-defined]
        assert "<script" not in html.lower(), route
        assert not re.search(r"\son[a-z]+\s*=", html), route
        assert "style=" not in html, route
        assert "<style" not in html, route
        # The one link away is the quick exit: a plain link (nothing loads from it) that sends
        # no referrer; nothing else points off the site.
        exit_link = '<a class="quick-exit" href="https://www.wikipedia.org/" rel="noreferrer">'
        assert html.count(exit_link) == (1 if "<body>" in html else 0), route
        html = html.replace(exit_link, "")
        assert not re.search(r"(src|href|action)=\"(https?:)?//", html), route


@pytest.mark.parametrize("path", ["/", "/login"])
def test_cookies_are_http_only_and_same_site_strict(client: FlaskClient, path: str) -> None:
    client.get(path)
    token = csrf_token_in(client.get("/").text)
    response = client.post("/generate", data={"csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


# What a gunicorn worker does: build the app from SKRYNKA_DATA_DIR, then (here) report which of
# the heavy optional modules it loaded.
_WORKER_IMPORTS = """
import sys
from source_app import create_app
create_app()
print(" ".join(name for name in ("alembic", "flask", "sqlalchemy") if name in sys.modules))
"""


def test_a_worker_building_the_app_never_imports_alembic(data_dir: Path) -> None:
    # Alembic is only for migrating; the schema check must not cost every worker its memory.
    env = {**os.environ, env_name("data_dir"): str(data_dir)}
    loaded = subprocess.run(
        [sys.executable, "-c", _WORKER_IMPORTS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.split()
    assert loaded == ["flask", "sqlalchemy"]
