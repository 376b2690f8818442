"""Deletion: rows gone and committed first, then the files, with the directory flushed."""

import os

import pytest
from sqlalchemy import func, select

from core.deletion import delete_conversation, delete_items, delete_reply, delete_source
from core.inbox import find_source
from core.instance import Instance
from core.models import Journalist, Reply, SeenSubmission, Source, Submission
from core.replies import store_reply
from core.seen import mark_seen
from tests.support.staff import SeededSource, make_source, make_staff_account


@pytest.fixture
def seeded(instance: Instance) -> SeededSource:
    account = make_staff_account(instance, "dana")
    seeded = make_source(instance, "hello", files=(("a.pdf", b"%PDF-1.4 fake" * 10),))
    with instance.sessions() as db:
        journalist = db.scalars(select(Journalist).where(Journalist.uuid == account.uuid)).one()
        source = find_source(db, seeded.uuid)
        assert source is not None
        store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"reply")
        mark_seen(db, journalist, submissions=source.submissions)
        db.commit()
    return seeded


def count(instance: Instance, model: type) -> int:
    with instance.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_deleting_one_submission_removes_its_row_file_and_receipt(
    instance: Instance, seeded: SeededSource
) -> None:
    with instance.sessions() as db:
        source = find_source(db, seeded.uuid)
        assert source is not None
        fs_id = source.filesystem_id
        doc = next(s for s in source.submissions if s.kind == "file")
        names = {doc.filename, doc.receipt_filename}
        summary = delete_items(db, instance, submissions=[doc])
    assert (summary.submissions, summary.files) == (1, 2)
    left = set(instance.store.list_files(fs_id))
    assert not names & left
    assert len(left) == 3  # the message, its receipt, the reply
    assert count(instance, Submission) == 1
    assert count(instance, SeenSubmission) == 1


def test_deleting_a_reply(instance: Instance, seeded: SeededSource) -> None:
    with instance.sessions() as db:
        reply = db.scalars(select(Reply)).one()
        fs_id, name = reply.source.filesystem_id, reply.filename
        delete_reply(db, instance, reply)
    assert name not in instance.store.list_files(fs_id)
    assert count(instance, Reply) == 0


def test_deleting_the_conversation_keeps_the_source(
    instance: Instance, seeded: SeededSource
) -> None:
    with instance.sessions() as db:
        source = find_source(db, seeded.uuid)
        assert source is not None
        fs_id = source.filesystem_id
        summary = delete_conversation(db, instance, source)
    assert (summary.submissions, summary.replies, summary.files) == (2, 1, 5)
    assert instance.store.list_files(fs_id) == []
    assert count(instance, Source) == 1
    assert count(instance, Submission) == count(instance, Reply) == 0


def test_deleting_the_source_removes_everything_and_its_directory(
    instance: Instance, seeded: SeededSource
) -> None:
    other = make_source(instance, "someone else")
    with instance.sessions() as db:
        source = find_source(db, seeded.uuid)
        assert source is not None
        directory = instance.settings.store_dir / source.filesystem_id
        assert directory.is_dir()
        delete_source(db, instance, source)
    assert not directory.exists()
    with instance.sessions() as db:
        assert [s.uuid for s in db.scalars(select(Source))] == [other.uuid]
        assert count(instance, SeenSubmission) == 0
        assert db.scalar(select(func.count()).select_from(Submission)) == 1


@pytest.mark.only_on("sqlite")
def test_sqlite_secure_delete_is_on(instance: Instance) -> None:
    with instance.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


# PostgreSQL keeps a deleted row's old version until VACUUM; the SQLite file is checked here.
@pytest.mark.only_on("sqlite")
def test_deleted_plaintext_free_rows_do_not_linger_in_the_database_file(
    instance: Instance, seeded: SeededSource
) -> None:
    with instance.sessions() as db:
        source = find_source(db, seeded.uuid)
        assert source is not None
        designation = source.journalist_designation.encode()
        delete_source(db, instance, source)
    with instance.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = instance.settings.data_dir / "db.sqlite"
    data = database.read_bytes()
    wal = database.with_name("db.sqlite-wal")
    if wal.exists():
        data += wal.read_bytes()
    assert designation not in data
    assert os.path.getsize(database) > 0
