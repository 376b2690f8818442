"""Fixtures for the API: a journalist app on a dev-data instance, tokens, live gunicorn."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.instance import Instance, open_instance
from core.models import Journalist, Source
from core.staff_sessions import open_session
from devtools.devdata import ContentSizes, SizeRange, seed_dev_data
from journalist_app import create_app
from server.setup import init_instance
from tests.support.keys import KeyPair

# Small plaintexts keep seeding fast; sizes still vary so Etag and size checks mean something.
SMALL = ContentSizes(
    message=SizeRange(20, 600), file=SizeRange(200, 4000), reply=SizeRange(20, 300)
)


@dataclass(frozen=True)
class Seeded:
    instance: Instance
    codenames: list[str]


def make_dev_instance(data_dir: Path, keypair: KeyPair) -> Instance:
    settings = init_instance(
        data_dir,
        keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka API Test",
        instance_settings={"kdf": "testing"},
        env={},
    )
    return open_instance(settings)


def seed(instance: Instance, sources: int = 3) -> Seeded:
    summary = seed_dev_data(instance, sources=sources, login_sources=1, sizes=SMALL, seed=5)
    return Seeded(instance, summary.codenames)


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


def issue_token(instance: Instance, username: str = "journalist") -> str:
    """A token straight from the session store (sign-in itself is tested in test_accounts)."""
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.username == username)).one()
        token, _ = open_session(db, journalist, kind="api", lifetime=timedelta(hours=2))
        db.commit()
    return token


@pytest.fixture
def auth(seeded: Seeded) -> dict[str, str]:
    return {"Authorization": f"Token {issue_token(seeded.instance)}"}


def source_uuids(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return list(db.scalars(select(Source.uuid).order_by(Source.id)))


@pytest.fixture(scope="module")
def live_data_dir(tmp_path_factory: pytest.TempPathFactory, submission_keypair: KeyPair) -> Path:
    """A dev-data instance on disk shared by a module's live-server tests (5 sources)."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    instance = make_dev_instance(data_dir, submission_keypair)
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


LiveFactory = Callable[..., str]
