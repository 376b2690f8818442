"""Attacks on the database file: what a seized disk still holds after staff deleted a source."""

from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.deletion import delete_source
from core.instance import Instance
from core.models import Source
from tests.support.staff import make_source

# The file is SQLite's: a PostgreSQL server's files are outside the data dir and its own
# (deleted rows stay in its tables until VACUUM; docs/threat-model.md).
pytestmark = pytest.mark.only_on("sqlite")


def files_holding(data_dir: Path, needle: bytes) -> list[str]:
    return sorted(
        str(path.relative_to(data_dir))
        for path in data_dir.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    )


def delete_a_source(instance: Instance) -> bytes:
    seeded = make_source(instance)
    with instance.sessions() as db:
        source = db.scalars(select(Source).where(Source.uuid == seeded.uuid)).one()
        filesystem_id = source.filesystem_id.encode("ascii")
        delete_source(db, instance, source)
    # Other work goes on afterwards, as on a live server.
    for _ in range(3):
        make_source(instance)
    return filesystem_id


def test_a_deleted_source_is_overwritten_in_the_database_file(instance: Instance) -> None:
    filesystem_id = delete_a_source(instance)
    with instance.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    assert files_holding(instance.settings.data_dir, filesystem_id) == []


def test_until_a_checkpoint_the_write_ahead_log_still_holds_a_deleted_source(
    instance: Instance,
) -> None:
    """Known and documented (docs/threat-model.md, residual risks)."""
    filesystem_id = delete_a_source(instance)
    assert files_holding(instance.settings.data_dir, filesystem_id) == ["db.sqlite-wal"]
