"""What the backup and restore tests share: a database to restore into."""

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer


@pytest.fixture
def restore_database(
    request: pytest.FixtureRequest, database_backend: str
) -> Iterator[dict[str, str]]:
    """The environment pointing a restore at a new, empty database (none for SQLite, whose
    restored database is the archive's own file)."""
    if database_backend != "postgresql":
        yield {}
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"skrynka_restore_{os.getpid()}"
    yield {"SKRYNKA_DATABASE_URL": server.create_database(name)}
    server.drop_database(name)
