"""Replies from staff to a source: encrypted on the server or by an API client, then stored.

A reply is encrypted to the source's reply key (so the source can read it after logging in)
and to the submission key (so the evidence officer can read the conversation on the
workstation). The server keeps only that ciphertext. When a source deletes a reply on
/lookup, only the source's view changes: the row and file stay for staff.

:func:`store_reply` links the ciphertext under a pending store name and leaves the commit to
its caller; the caller's session then settles the file itself: its commit gives the file its
final name, a rollback (or a session closed without commit) removes it. A crash in between is
settled at the next start by the store's reconcile pass (invariant 6).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import EmptyReply, ReplyError, ReplyNotReadable, ReplyUuidInUse
from core.models import Journalist, Reply, Source
from core.store import CiphertextStore, PendingFile
from crypto.errors import UnacceptableReply
from crypto.reply_encryption import encrypt_reply_to_keys
from crypto.reply_structure import check_reply_structure, encryption_key_ids
from crypto.submission_key import export_public_key
from crypto.types import Fingerprint

if TYPE_CHECKING:
    from core.instance import Instance

# Long enough for any reply; short enough that gpg and the database stay cheap.
REPLY_MAX_CHARS = 100_000
#: The most a source's page reads of one decrypted reply (REPLY_MAX_CHARS of UTF-8 fits): a
#: reply that expands past it (compressed inside its encryption) is shown as unreadable.
REPLY_PLAINTEXT_MAX_BYTES = 4 * REPLY_MAX_CHARS
# An armored or binary OpenPGP message from an API client.
REPLY_CIPHERTEXT_MAX_BYTES = 2 * 1024 * 1024
# Where a session keeps the reply files waiting for its commit (Session.info).
_PENDING_KEY = "skrynka.pending_replies"


def encrypt_reply(instance: Instance, source: Source, text: str) -> bytes:
    """Encrypt ``text`` (UTF-8) to the source's reply key and the submission key.

    Raises :class:`EmptyReply` for empty or white-space-only text, :class:`ReplyError` if it is
    too long.
    """
    if not text or not text.strip():
        raise EmptyReply()
    if len(text) > REPLY_MAX_CHARS:
        raise ReplyError(
            f"The reply is longer than {REPLY_MAX_CHARS} characters; split it into several."
        )
    return encrypt_reply_to_keys(
        instance.settings.gnupg_home,
        Fingerprint(instance.submission_fingerprint),
        source.reply_key_public,
        text.encode("utf-8"),
        instance.settings.ram_dir,
    )


def check_client_reply(instance: Instance, source: Source, armored: str) -> None:
    """Refuse a reply an API client encrypted unless the source and the workstation can read it.

    It must be one armored message to exactly the source's reply key and the submission key
    (:mod:`crypto.reply_structure`); raises :class:`ReplyNotReadable` naming what is wrong.
    """
    if len(armored) > REPLY_CIPHERTEXT_MAX_BYTES:
        raise ReplyError(
            f"The reply ciphertext is larger than {REPLY_CIPHERTEXT_MAX_BYTES} bytes; "
            "send a shorter reply."
        )
    work_dir = instance.settings.ram_dir
    submission_key = export_public_key(
        instance.settings.gnupg_home, Fingerprint(instance.submission_fingerprint)
    )
    recipients = [
        encryption_key_ids(source.reply_key_public, work_dir),
        encryption_key_ids(submission_key, work_dir),
    ]
    try:
        check_reply_structure(armored, recipients, work_dir)
    except UnacceptableReply as exc:
        raise ReplyNotReadable(exc.reason) from exc


def next_interaction(db: Session, source: Source) -> int:
    """Atomically take the source's next file number ``<n>`` (shared with submissions).

    The UPDATE ... RETURNING takes the row's write lock, so two concurrent replies (or a reply
    racing a submission) never get the same number and never overwrite each other's file.
    """
    n = db.execute(
        update(Source)
        .where(Source.id == source.id)
        .values(interaction_count=Source.interaction_count + 1)
        .returning(Source.interaction_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    # The row already holds n: record it as loaded so the ORM does not write it again.
    set_committed_value(source, "interaction_count", n)
    return int(n)


def store_reply(
    db: Session,
    instance: Instance,
    *,
    source: Source,
    journalist: Journalist,
    ciphertext: bytes,
    reply_uuid: str | None = None,
    now: datetime | None = None,
) -> Reply:
    """Write the ciphertext through the store (fsync, pending link) and add its row.

    Raises :class:`ReplyUuidInUse` if ``reply_uuid`` exists. Flushes; the caller commits, and
    that commit makes the file final (a rollback removes it), so a committed row always has its
    file and a reply never committed leaves none.
    """
    if not ciphertext:
        raise EmptyReply()
    if len(ciphertext) > REPLY_CIPHERTEXT_MAX_BYTES:
        raise ReplyError(
            f"The reply ciphertext is larger than {REPLY_CIPHERTEXT_MAX_BYTES} bytes; "
            "send a shorter reply."
        )
    if reply_uuid is not None and db.scalar(select(Reply.id).where(Reply.uuid == reply_uuid)):
        raise ReplyUuidInUse(
            f"A reply with uuid {reply_uuid} already exists; send it with a new uuid."
        )
    n = next_interaction(db, source)
    filename = f"{n}-{source.designation_file}-reply.gpg"
    temp = instance.store.temp_path()
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "wb") as handle:
            handle.write(ciphertext)
        pending = instance.store.commit(temp, source.filesystem_id, filename)
    finally:
        temp.unlink(missing_ok=True)
    reply = Reply(
        source_id=source.id,
        journalist_id=journalist.id,
        filename=filename,
        size=len(ciphertext),
        sha256=hashlib.sha256(ciphertext).hexdigest(),
        created_at=now or datetime.now(UTC),
    )
    if reply_uuid is not None:
        reply.uuid = reply_uuid
    _settle_with_session(db, instance.store, pending, reply)
    try:
        db.add(reply)
        db.flush()
    except BaseException:
        _pending_of(db).remove((instance.store, pending, reply))
        instance.store.discard(pending)
        raise
    return reply


_Waiting = tuple[CiphertextStore, PendingFile, Reply]


def _pending_of(db: Session) -> list[_Waiting]:
    waiting: list[_Waiting] = db.info.setdefault(_PENDING_KEY, [])
    return waiting


def _settle_with_session(
    db: Session, store: CiphertextStore, pending: PendingFile, reply: Reply
) -> None:
    """Finalize ``pending`` when ``db`` commits its reply row; remove it if that never happens."""
    if _PENDING_KEY not in db.info:
        # Installed once per session; Session.info carries what each commit must settle.
        event.listen(db, "after_commit", _finalize_committed)
        event.listen(db, "after_transaction_end", _discard_uncommitted)
    _pending_of(db).append((store, pending, reply))


def _finalize_committed(db: Session) -> None:
    waiting = _pending_of(db)
    settled = list(waiting)
    waiting.clear()
    for store, pending, reply in settled:
        state = inspect(reply)
        # A row rolled back with a savepoint is no longer persistent: its file must go.
        if state.persistent and not state.deleted:
            store.finalize(pending)
        else:
            store.discard(pending)


def _discard_uncommitted(db: Session, transaction: SessionTransaction) -> None:
    # Runs after every transaction ends; only the end of the outermost one without a commit
    # (rollback, close) leaves files behind here, since after_commit already took the rest.
    if transaction.parent is not None:
        return
    waiting = _pending_of(db)
    settled = list(waiting)
    waiting.clear()
    for store, pending, _reply in settled:
        store.discard(pending)


def delete_reply_for_source(db: Session, source: Source, reply_uuid: str) -> bool:
    """Hide one reply from the source's /lookup page; staff keep it. False if not theirs.

    Flushes; the caller commits.
    """
    result = db.execute(
        update(Reply)
        .where(Reply.source_id == source.id, Reply.uuid == reply_uuid)
        .values(deleted_by_source=True)
        .execution_options(synchronize_session=False)
    )
    db.flush()
    return int(getattr(result, "rowcount", 0) or 0) == 1


def delete_all_replies_for_source(db: Session, source: Source) -> int:
    """Hide every reply from the source's /lookup page; staff keep them. Returns how many."""
    result = db.execute(
        update(Reply)
        .where(Reply.source_id == source.id, Reply.deleted_by_source.is_(False))
        .values(deleted_by_source=True)
        .execution_options(synchronize_session=False)
    )
    db.flush()
    return int(getattr(result, "rowcount", 0) or 0)
