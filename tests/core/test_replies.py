"""Replies: encrypted to the source's reply key and the submission key, stored durably."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import EmptyReply, ReplyUuidInUse
from core.inbox import find_source
from core.instance import Instance, open_instance
from core.models import Journalist, Reply, Source
from core.replies import (
    delete_all_replies_for_source,
    delete_reply_for_source,
    encrypt_reply,
    store_reply,
)
from core.sources import derive_secrets
from core.store import ReconcileResult
from crypto._gpg import run_gpg
from crypto.reply_key import decrypt_with_reply_key
from tests.support.keys import KeyPair
from tests.support.staff import SeededSource, make_source, make_staff_account


@pytest.fixture
def seeded(instance: Instance) -> SeededSource:
    return make_source(instance)


@pytest.fixture
def journalist(instance: Instance) -> Journalist:
    account = make_staff_account(instance, "dana")
    with instance.sessions() as db:
        found = db.scalars(select(Journalist).where(Journalist.uuid == account.uuid)).one()
        db.expunge(found)
        return found


def load(db: Session, seeded: SeededSource) -> Source:
    source = find_source(db, seeded.uuid)
    assert source is not None
    return source


def test_a_reply_is_readable_by_the_source_and_the_workstation_only(
    instance: Instance, seeded: SeededSource, journalist: Journalist, submission_keypair: KeyPair
) -> None:
    with instance.sessions() as db:
        source = load(db, seeded)
        ciphertext = encrypt_reply(instance, source, "Мы получили ваши файлы. Thank you.")
        reply = store_reply(
            db, instance, source=source, journalist=journalist, ciphertext=ciphertext
        )
        db.commit()
        path = instance.store.path_of(source.filesystem_id, reply.filename)
        wrapped = source.reply_key_wrapped
    assert b"Thank you" not in ciphertext
    assert path.read_bytes() == ciphertext
    assert reply.sha256 == hashlib.sha256(ciphertext).hexdigest()
    assert reply.filename == f"2-{seeded.designation.replace(' ', '_')}-reply.gpg"
    secrets = derive_secrets(instance, seeded.codename)
    [plain] = decrypt_with_reply_key(
        wrapped, secrets.wrap_key, [ciphertext], instance.settings.ram_dir
    )
    assert plain.decode() == "Мы получили ваши файлы. Thank you."
    workstation = run_gpg(submission_keypair.secret_home, ["--decrypt"], stdin=ciphertext)
    assert workstation.stdout.decode() == "Мы получили ваши файлы. Thank you."


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_an_empty_reply_is_refused(instance: Instance, seeded: SeededSource, text: str) -> None:
    with instance.sessions() as db, pytest.raises(EmptyReply):
        encrypt_reply(instance, load(db, seeded), text)


def test_a_duplicate_reply_uuid_is_refused_and_nothing_is_written(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    with instance.sessions() as db:
        source = load(db, seeded)
        first = store_reply(
            db,
            instance,
            source=source,
            journalist=journalist,
            ciphertext=b"c1",
            reply_uuid="6f0c6f6e-1b7f-4b3c-9a1e-2f1d0c9b8a7e",
        )
        db.commit()
        files_before = instance.store.list_files(source.filesystem_id)
        with pytest.raises(ReplyUuidInUse):
            store_reply(
                db,
                instance,
                source=source,
                journalist=journalist,
                ciphertext=b"c2",
                reply_uuid=first.uuid,
            )
        db.rollback()
        assert instance.store.list_files(source.filesystem_id) == files_before


def test_concurrent_replies_get_distinct_numbers(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            with instance.sessions() as db:
                store_reply(
                    db,
                    instance,
                    source=load(db, seeded),
                    journalist=journalist,
                    ciphertext=f"reply {n}".encode(),
                )
                db.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with instance.sessions() as db:
        names = db.scalars(select(Reply.filename)).all()
        source = load(db, seeded)
        assert len(set(names)) == 6
        contents = {instance.store.path_of(source.filesystem_id, n).read_bytes() for n in names}
    assert contents == {f"reply {n}".encode() for n in range(6)}


def test_source_side_deletion_hides_replies_but_staff_keep_them(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    other = make_source(instance)
    with instance.sessions() as db:
        source, other_source = load(db, seeded), load(db, other)
        replies = [
            store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"r")
            for _ in range(3)
        ]
        theirs = store_reply(
            db, instance, source=other_source, journalist=journalist, ciphertext=b"r"
        )
        db.commit()
        # A source cannot touch another source's reply.
        assert delete_reply_for_source(db, source, theirs.uuid) is False
        assert delete_reply_for_source(db, source, replies[0].uuid) is True
        assert delete_all_replies_for_source(db, source) == 2
        db.commit()
        db.expire_all()
        rows = db.scalars(select(Reply).order_by(Reply.id)).all()
        assert [r.deleted_by_source for r in rows] == [True, True, True, False]
        for reply in rows:
            assert instance.store.path_of(reply.source.filesystem_id, reply.filename).is_file()


# --- the reply file follows its row: final on commit, gone on rollback or a crash ---


def reply_entries(instance: Instance, seeded: SeededSource) -> list[str]:
    with instance.sessions() as db:
        source_dir = instance.settings.store_dir / load(db, seeded).filesystem_id
    return sorted(p.name for p in source_dir.iterdir() if p.name.endswith("-reply.gpg"))


def test_a_reply_file_is_pending_until_commit_and_final_after(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    with instance.sessions() as db:
        source = load(db, seeded)
        reply = store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"c")
        (pending,) = reply_entries(instance, seeded)
        assert pending.startswith(".pending-")
        assert instance.store.list_files(source.filesystem_id).count(reply.filename) == 0
        db.commit()
        assert reply_entries(instance, seeded) == [reply.filename]
        assert instance.store.path_of(source.filesystem_id, reply.filename).read_bytes() == b"c"


@pytest.mark.parametrize("ending", ["rollback", "close"])
def test_a_reply_never_committed_leaves_no_file(
    instance: Instance, seeded: SeededSource, journalist: Journalist, ending: str
) -> None:
    db = instance.sessions()
    source = load(db, seeded)
    store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"c")
    getattr(db, ending)()
    assert reply_entries(instance, seeded) == []
    if ending == "rollback":
        db.close()


def test_a_reply_rolled_back_with_its_savepoint_leaves_no_file(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    with instance.sessions() as db:
        source = load(db, seeded)
        kept = store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"1")
        savepoint = db.begin_nested()
        store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"2")
        savepoint.rollback()
        db.commit()
    assert reply_entries(instance, seeded) == [kept.filename]


REPLY_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sqlalchemy import select
    from core.instance import open_instance
    from core.models import Journalist, Source
    from core.replies import store_reply
    from core.settings import load_settings

    instance = open_instance(load_settings(env={}, data_dir=Path(sys.argv[1])))
    db = instance.sessions()
    source = db.scalars(select(Source).where(Source.uuid == sys.argv[2])).one()
    journalist = db.get(Journalist, int(sys.argv[3]))
    store_reply(db, instance, source=source, journalist=journalist, ciphertext=b"never sent")
    print("linked", flush=True)
    time.sleep(600)
    """
)


def test_a_reply_of_a_process_killed_before_commit_is_gone_after_a_restart(
    instance: Instance, seeded: SeededSource, journalist: Journalist
) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            REPLY_CHILD,
            str(instance.settings.data_dir),
            seeded.uuid,
            str(journalist.id),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "linked"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert len(reply_entries(instance, seeded)) == 1
    restarted = open_instance(instance.settings)
    try:
        assert restarted.reconciled == ReconcileResult(removed=1)
    finally:
        restarted.close()
    assert reply_entries(instance, seeded) == []
    with instance.sessions() as db:
        assert db.scalars(select(Reply).where(Reply.source_id == load(db, seeded).id)).all() == []
