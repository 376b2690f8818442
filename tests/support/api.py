"""A dev-data instance for API tests: seeding it, API tokens straight from the session store."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.instance import Instance, open_instance
from core.models import Journalist, Source
from core.staff_sessions import open_session
from devtools.devdata import ContentSizes, SizeRange, seed_dev_data
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


def make_dev_instance(
    data_dir: Path, keypair: KeyPair, database_settings: Mapping[str, str] | None = None
) -> Instance:
    """A dev instance; ``database_settings`` (the fixture of that name) picks its database."""
    settings = init_instance(
        data_dir,
        keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka API Test",
        instance_settings={"kdf": "testing", **(database_settings or {})},
        env={},
    )
    return open_instance(settings)


def seed(instance: Instance, sources: int = 3) -> Seeded:
    summary = seed_dev_data(instance, sources=sources, login_sources=1, sizes=SMALL, seed=5)
    return Seeded(instance, summary.codenames)


def issue_token(instance: Instance, username: str = "journalist") -> str:
    """A token straight from the session store (sign-in itself is tested in test_accounts)."""
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.username == username)).one()
        token, _ = open_session(db, journalist, kind="api", lifetime=timedelta(hours=2))
        db.commit()
    return token


def source_uuids(instance: Instance) -> list[str]:
    with instance.sessions() as db:
        return list(db.scalars(select(Source.uuid).order_by(Source.id)))


LiveFactory = Callable[..., str]
