"""Fixtures for the source app: the app on a fresh instance, a test client, a logged-in source."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from source_app import create_app
from source_app.i18n import CONFIG_KEY as DEFAULT_LOCALE_CONFIG
from tests.source_app.pages import SourceClient


@pytest.fixture
def app(instance: Instance) -> Flask:
    app = create_app(instance=instance)
    # These tests read English texts; which language a new visitor sees is i18n's business.
    app.config[DEFAULT_LOCALE_CONFIG] = "en"
    return app


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def source(client: FlaskClient) -> SourceClient:
    """A source that has just got a codename and is logged in."""
    source = SourceClient(client)
    source.create()
    return source


@pytest.fixture
def data_dir(instance: Instance) -> Path:
    return instance.settings.data_dir
