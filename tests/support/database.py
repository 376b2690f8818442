"""The server database a test runs on: SQLite (the default file in the data dir) or PostgreSQL.

Every test that touches the server's database runs once per backend (tests/conftest.py
parametrises ``database_backend``). For PostgreSQL each pytest process (each xdist worker) starts
one throw-away cluster the first time a test needs it, migrates one template database, and gives
every test its own fresh copy of the template: ``CREATE DATABASE ... TEMPLATE`` copies a few
megabytes instead of running every migration again. The copy is dropped after the test (with
FORCE, so a gunicorn the test left running cannot keep it), and the cluster is stopped and its
directory removed at the end of the session.

A PostgreSQL URL reaches the code under test the way an operator gives it: as the
``database_url`` setting in instance.json, which gunicorn and the ``skrynka`` command read from
the data directory like any other setting.
"""

import itertools
import os

from core.db import upgrade_database
from tests.support.postgres import PostgresServer

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
TEMPLATE = "skrynka_template"


class PostgresDatabases:
    """Fresh, migrated databases in one cluster, each a copy of one template."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        # The pid keeps names apart should two processes ever share a cluster.
        self._names = (f"skrynka_{os.getpid()}_{n}" for n in itertools.count(1))
        upgrade_database(server.create_database(TEMPLATE))

    def create(self) -> tuple[str, str]:
        """A new database with the current schema and no rows: (name, URL)."""
        name = next(self._names)
        return name, self.server.create_database(name, template=TEMPLATE)

    def drop(self, name: str) -> None:
        self.server.drop_database(name)


def settings_for(url: str) -> dict[str, str]:
    """The instance.json settings that point an instance at ``url`` (none for SQLite's default)."""
    return {"database_url": url} if url else {}
