"""Page weight: over Tor bridges a few tens of kilobytes already take seconds."""

import re

import pytest
from flask.testing import FlaskClient

from source_app.i18n import SUPPORTED_LOCALES

LIMIT_BYTES = 50_000
# Anything the landing page makes the browser fetch: stylesheets, images, scripts, frames.
_SUBRESOURCE = re.compile(
    r"""<(?:link[^>]*\bhref|img[^>]*\bsrc|script[^>]*\bsrc|iframe[^>]*\bsrc)=["']([^"']+)["']"""
)


@pytest.mark.parametrize("code", SUPPORTED_LOCALES)
def test_the_landing_page_with_its_css_stays_under_50_kb(client: FlaskClient, code: str) -> None:
    page = client.get(f"/?l={code}")
    assert page.status_code == 200
    html_bytes = len(page.data)
    resources = _SUBRESOURCE.findall(page.text)
    assert resources, "the landing page links its stylesheet"
    total = html_bytes
    for url in resources:
        assert url.startswith("/"), f"{url} would load from another origin"
        fetched = client.get(url)
        assert fetched.status_code == 200
        total += len(fetched.data)
    print(f"landing page ({code}): HTML {html_bytes} B, with subresources {total} B")
    assert total < LIMIT_BYTES
