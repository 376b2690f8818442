"""Fixtures for the API: a journalist app on a dev-data instance, tokens, live gunicorn."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.instance import Instance
from journalist_app import create_app
from tests.support.api import Seeded, issue_token, make_dev_instance, seed
from tests.support.keys import KeyPair


@pytest.fixture
def seeded(instance: Instance) -> Seeded:
    """A fresh dev instance with 3 sources (one with a known codename); for tests that change it."""
    return seed(instance)


@pytest.fixture
def app(seeded: Seeded) -> Flask:
    application = create_app(instance=seeded.instance)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(seeded: Seeded) -> dict[str, str]:
    return {"Authorization": f"Token {issue_token(seeded.instance)}"}


@pytest.fixture(scope="module")
def live_data_dir(
    tmp_path_factory: pytest.TempPathFactory,
    submission_keypair: KeyPair,
    module_database_settings: dict[str, str],
) -> Path:
    """A dev-data instance on disk shared by a module's live-server tests (5 sources)."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    instance = make_dev_instance(data_dir, submission_keypair, module_database_settings)
    try:
        seeded = seed(instance, sources=5)
    finally:
        instance.close()
    # Test-only: the codename of the source created like a real one, to log in as it.
    (data_dir / "codenames.txt").write_text("\n".join(seeded.codenames) + "\n")
    return data_dir


@pytest.fixture(scope="module")
def live_server(live_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real journalist app under gunicorn on the shared dev-data instance."""
    from tests.support.gunicorn import GunicornRunner

    runner = GunicornRunner(tmp_path_factory.mktemp("gunicorn"))
    try:
        yield runner.start("journalist_app:create_app()", live_data_dir, threads=4)
    finally:
        runner.stop_all()
