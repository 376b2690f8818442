"""Alembic's entry point: runs the migrations on the connection core.db hands over."""

from alembic import context
from sqlalchemy import Connection

from core.db import make_engine
from core.models import Base

TARGET_METADATA = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=TARGET_METADATA,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Alembic needs sqlalchemy.url or a connection (see core.db).")
    engine = make_engine(url)
    try:
        with engine.begin() as own_connection:
            run_on(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Skrynka migrations run online only: use core.db.upgrade_database(url).")
run()
