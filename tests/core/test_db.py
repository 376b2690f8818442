"""The database: SQLite pragmas, and migrations that build the models' schema on every backend."""

import itertools
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from core.db import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    scripts_head_revision,
    upgrade_database,
)
from core.errors import DatabaseError
from core.models import Base, InstanceConfig, Source, Submission
from tests.support.postgres import PostgresServer

_names = itertools.count()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database(f"skrynka_test_{next(_names)}")


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def round_trip(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as db:
        db.add(InstanceConfig(id=1, organization_name="Тэст"))
        source = Source(
            filesystem_id="c" * 64,
            journalist_designation="brave otter",
            reply_key_fingerprint="F" * 40,
            reply_key_public="-----BEGIN PGP PUBLIC KEY BLOCK-----",
            reply_key_wrapped=b"\x00\xffwrapped",
        )
        source.submissions.append(
            Submission(kind="message", filename="1-brave_otter-msg.gpg", size=5, sha256="0" * 64)
        )
        db.add(source)
    with sessions() as db:
        stored = db.scalars(select(Source)).one()
        assert stored.reply_key_wrapped == b"\x00\xffwrapped"
        assert stored.submissions[0].created_at.tzinfo is not None
        assert db.get(InstanceConfig, 1).organization_name == "Тэст"  # type: ignore[union-attr]
    # Foreign keys are enforced (on SQLite only with the pragma).
    with pytest.raises(IntegrityError), sessions.begin() as db:
        db.add(Submission(source_id=999, kind="file", filename="x", size=1, sha256="0" * 64))


def test_sqlite_connections_get_the_safety_pragmas(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA secure_delete").scalar() == 1
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert int(pragma("PRAGMA busy_timeout").scalar() or 0) >= 5000
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_migrations_build_the_models_schema_on_sqlite(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    assert schema_differences(engine) == []
    round_trip(engine)
    engine.dispose()


def test_migrations_build_the_models_schema_on_postgresql(postgres_url: str) -> None:
    upgrade_database(postgres_url)
    engine = make_engine(postgres_url)
    assert engine.dialect.name == "postgresql"
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []
    round_trip(engine)
    engine.dispose()


def test_upgrading_twice_changes_nothing(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_an_empty_database_has_no_revision(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    assert current_revision(engine) is None
    engine.dispose()


def test_the_recorded_head_revision_is_the_newest_migration_script() -> None:
    # A new migration without updating core.migrations.HEAD_REVISION fails here: servers would
    # otherwise accept a database one migration behind (or refuse an up-to-date one).
    assert head_revision() == scripts_head_revision()


def test_the_revision_read_without_alembic_is_the_one_alembic_reads(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == (
            current_revision(engine)
        )
    engine.dispose()


def test_an_empty_version_table_has_no_revision(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM alembic_version")
    assert current_revision(engine) is None
    engine.dispose()


def test_several_recorded_revisions_are_a_clear_error(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('elsewhere')")
    with pytest.raises(DatabaseError, match="several schema revisions"):
        current_revision(engine)
    engine.dispose()


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    url = "postgresql+psycopg://skrynka:hunter2@127.0.0.1:1/skrynka"
    with pytest.raises(DatabaseError) as caught:
        upgrade_database(url)
    assert "hunter2" not in str(caught.value)
    assert "SKRYNKA_DATABASE_URL" in str(caught.value)
