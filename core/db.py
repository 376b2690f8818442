"""Database engines, sessions and schema migrations (Alembic, configured in code).

Any SQLAlchemy URL works; SQLite (the default) and PostgreSQL through psycopg 3
(``postgresql+psycopg://``) are tested. Alembic is configured here rather than from an
alembic.ini so that an installed package can migrate a database with no file of ours in the
working directory.

Alembic is imported only by the functions that migrate or read the migration scripts: a server
checks its database against core.migrations.HEAD_REVISION with one query, so no gunicorn worker
carries Alembic's modules (about 10 MiB each) for a string comparison.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseError
from core.migrations import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Where Alembic records the revision a database is at (its default table, one row).
VERSION_TABLE = "alembic_version"
# How long a SQLite writer waits for another one before giving up: uploads commit one row each,
# so contention is short, but several gunicorn workers share the file.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, **engine_options: Any) -> Engine:
    """An engine for ``url``; SQLite connections get Skrynka's pragmas as they open.

    Pooled connections to a database server are tested before use (``pool_pre_ping``): after
    a restart of the server the next request opens a fresh connection instead of failing on a
    dead one. A SQLite file has no connection to lose.
    """
    if make_url(url).get_backend_name() != "sqlite":
        engine_options.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **engine_options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers run while an upload commits; FULL makes a commit durable before the
        # source is told "received" (invariant 6); secure_delete overwrites deleted rows so a
        # seized file does not keep what staff deleted.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: views render objects after committing them.
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_alembic_config(url: str) -> "Config":
    """An Alembic configuration for ``url`` that needs no alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates "%": a password containing it must be escaped.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration this code knows (recorded in core.migrations)."""
    return HEAD_REVISION


def scripts_head_revision() -> str:
    """The newest migration as Alembic finds it in core/migrations/versions (imports Alembic)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(make_alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None, "core/migrations has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            versions = list(
                connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608 (a constant)
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"Cannot read the database at {_safe_url(str(engine.url))} ({_first_line(exc)}); "
            "check SKRYNKA_DATABASE_URL and that the database server is running."
        ) from exc
    if len(versions) > 1:
        # Skrynka's migrations form one line; several rows mean someone else's branches.
        raise DatabaseError(
            f"The database records several schema revisions ({', '.join(map(str, versions))}); "
            "restore it from backup, then run `skrynka migrate`."
        )
    return str(versions[0]) if versions else None


def upgrade_database(url: str) -> None:
    """Bring the schema at ``url`` to the newest migration (creating it if empty)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = make_alembic_config(url)
            # env.py runs the migrations on this connection (with the pragmas already set).
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"Cannot migrate the database at {_safe_url(url)} ({_first_line(exc)}); "
            "check SKRYNKA_DATABASE_URL and that the database server is running."
        ) from exc
    finally:
        engine.dispose()


def _safe_url(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (an unparsable URL is shown as a placeholder)
        return "<unparsable database URL>"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
