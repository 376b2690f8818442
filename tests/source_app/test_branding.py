"""Whose drop this is (name and logo on every page), the favicon, and the cacheable stylesheet."""

import re

from flask.testing import FlaskClient
from sqlalchemy import update

from core.instance import Instance
from core.models import InstanceConfig
from source_app.branding import hash_assets
from tests.source_app.pages import SourceClient

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def set_config(instance: Instance, **values: object) -> None:
    with instance.sessions() as db:
        db.execute(update(InstanceConfig).values(**values))
        db.commit()


def test_the_organisation_name_and_logo_reach_every_source_page(
    client: FlaskClient, instance: Instance
) -> None:
    set_config(instance, organization_name="Вясна Правы")
    page = client.get("/").text
    assert "Вясна Правы</a>" in page
    assert "· Вясна Правы</title>" in page
    assert 'src="/logo.png"' not in page
    assert client.get("/logo.png").status_code == 404
    instance.settings.logo_path.write_bytes(PNG)
    set_config(instance, has_logo=True)
    assert '<img class="logo" src="/logo.png"' in client.get("/login").text
    logo = client.get("/logo.png")
    assert logo.status_code == 200
    assert logo.mimetype == "image/png"
    assert logo.data == PNG


def test_the_favicon_is_served(client: FlaskClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_the_stylesheet_is_cached_by_its_content_hash_and_pages_are_not(
    source: SourceClient,
) -> None:
    page = source.lookup()
    assert page.headers["Cache-Control"] == "no-store, max-age=0"
    found = re.search(r'href="(/static/source\.css\?v=([0-9a-f]{16}))"', page.text)
    assert found is not None
    assert found.group(2) == hash_assets()["source.css"]
    css = source.client.get(found.group(1))
    assert "immutable" in css.headers["Cache-Control"]
    assert "max-age=31536000" in css.headers["Cache-Control"]
    assert "Pragma" not in css.headers
    # Another hash (an older page) or none is not cacheable: it may not be this content.
    stale = source.client.get("/static/source.css?v=0000000000000000")
    assert stale.headers["Cache-Control"] == "no-store, max-age=0"
