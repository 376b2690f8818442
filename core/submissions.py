"""The submission pipeline: what a source sends becomes ciphertext, then a visible submission.

The flow, across the functions below (and the source app that feeds them):

1. :func:`open_submission` loads the source and the instance's rules into a
   :class:`SubmissionDraft`. Nothing is visible yet and nothing is written.
2. The message is kept in memory (it is small and bounded); each file streams chunk by chunk
   through :meth:`SubmissionDraft.open_file` straight into ``gpg --encrypt`` (crypto.encryption),
   whose output is a temp file in DATA_DIR/tmp. No plaintext byte touches a disk.
3. :meth:`SubmissionDraft.commit` checks the rules (not empty, first-message length, no codename
   in the message), encrypts the message and one receipt per item (names, sizes, plaintext
   hashes: only inside ciphertext), then in ONE database transaction reserves the interaction
   numbers, links every file into the store under a pending name (fsync, atomic) and inserts
   the rows. Only the commit of that transaction makes the submission visible; right after it
   the pending files get their final names (:meth:`CiphertextStore.finalize`).

Whatever fails, the draft removes its temp and pending files. If the process dies instead, its
temp files are left in its own temp dir and :meth:`CiphertextStore.clean_temp` removes them at
the next start; pending files are settled by :meth:`CiphertextStore.reconcile` at the next start
(committed row: finalized; none: removed), so nothing half-done survives a restart.
"""

import hashlib
import os
import threading
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import (
    EmptyFile,
    EmptySubmission,
    MessageContainsCodename,
    MessageNotText,
    MessageTooLong,
    MessageTooShort,
    TooManyFiles,
    UnknownSource,
    UploadsDisabled,
    UploadTooLarge,
)
from core.instance import Instance
from core.instance_config import read_instance_config
from core.models import InstanceConfig, Source, Submission
from core.sources import message_contains_codename
from core.store import PendingFile
from crypto.digest import PlaintextDigest
from crypto.encryption import StreamEncryptor, encrypt_bytes, open_encryptor
from crypto.types import SourceId
from formats.consent import ConsentRecord, build_consent_document, encode_consent
from formats.intake import Intake, build_intake_document
from formats.receipt import Receipt, encode_receipt

#: Messages stay in memory until they are encrypted; this bounds that memory per request.
#: Longer texts can be sent as a file.
MESSAGE_MAX_BYTES = 1024 * 1024
#: Files in one submission: each costs two gpg runs and an item staff must read, so a small
#: body must not be able to create thousands; a source with more sends several submissions.
MAX_FILES_PER_SUBMISSION = 20
#: Original file names longer than this (in characters) are shortened, keeping the extension.
FILE_NAME_MAX_CHARS = 200
#: Used when nothing of an original file name survives cleaning.
FALLBACK_FILE_NAME = "document"
_HASH_READ_BYTES = 1024 * 1024
#: Characters that reorder or hide text (bidi controls and invisible marks): a name like
#: "photo\u202egpj.exe" would otherwise display as "photoexe.jpg".
_HIDDEN_FORMAT_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True)
class StoredSubmission:
    """What a committed item is called in the store and the database."""

    uuid: str
    kind: str
    filename: str
    receipt_filename: str


def clean_file_name(name: str) -> str:
    """Return a safe base name for an uploaded file's original name.

    Directory parts (``/`` and ``\\``) are dropped, control, bidi-override and other invisible
    format characters removed, the text NFC-normalised, leading dots and spaces stripped (no
    hidden files, no ``..``) and the result shortened to :data:`FILE_NAME_MAX_CHARS` keeping the
    extension. A name with nothing left becomes :data:`FALLBACK_FILE_NAME`.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    visible = "".join(
        ch
        for ch in unicodedata.normalize("NFC", base)
        if unicodedata.category(ch) not in _HIDDEN_FORMAT_CATEGORIES
    )
    visible = " ".join(visible.split()).lstrip(". ")
    stem, dot, extension = visible.rpartition(".")
    if not dot:
        stem, extension = visible, ""
    if not stem.strip(" ._-"):
        visible = FALLBACK_FILE_NAME + (f".{extension}" if extension else "")
    if len(visible) > FILE_NAME_MAX_CHARS:
        suffix = f".{extension}" if extension and len(extension) < 16 else ""
        visible = visible[: FILE_NAME_MAX_CHARS - len(suffix)].rstrip() + suffix
    return visible


def decode_message(raw: bytes) -> str:
    """The message as text; raises MessageNotText or MessageTooLong."""
    if len(raw) > MESSAGE_MAX_BYTES:
        raise MessageTooLong(MESSAGE_MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageNotText("The message is not valid UTF-8 text.") from exc
    if "\x00" in text:
        raise MessageNotText("The message contains NUL characters.")
    return text


def upload_limit(instance: Instance, config: InstanceConfig | None) -> int:
    """Bytes of files one submission may carry: the settings' limit, or the admin's lower one."""
    limit = instance.settings.max_upload_bytes
    if config is not None and config.max_upload_bytes is not None:
        limit = min(limit, config.max_upload_bytes)
    return limit


@dataclass
class _Item:
    kind: str
    uuid: str
    ciphertext: Path
    size: int
    sha256: str
    # The receipt is sealed at commit, once every answer sent with the items is known.
    plain_receipt: Receipt
    receipt: Path | None = None
    receipt_size: int = 0
    receipt_sha256: str = ""


class _CiphertextHasher(threading.Thread):
    """Hashes a ciphertext file while gpg is still writing it.

    The request thread is the bottleneck of an upload (parsing, plaintext hashes, piping), so
    reading the ciphertext back afterwards would add to every upload's time; following the
    file as it grows uses a core that is otherwise waiting.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(name="ciphertext-hash", daemon=True)
        self._handle = path.open("rb")
        self._writer_done = threading.Event()
        self._digest = hashlib.sha256()
        self._size = 0

    def run(self) -> None:
        with self._handle:
            while True:
                chunk = self._handle.read(_HASH_READ_BYTES)
                if chunk:
                    self._digest.update(chunk)
                    self._size += len(chunk)
                elif self._writer_done.is_set():
                    # Everything gpg wrote is on disk now: read to the end once more.
                    while chunk := self._handle.read(_HASH_READ_BYTES):
                        self._digest.update(chunk)
                        self._size += len(chunk)
                    return
                else:
                    self._writer_done.wait(0.005)

    def result(self) -> tuple[int, str]:
        """Call once the writer has finished: the file's size and SHA-256."""
        self._writer_done.set()
        self.join()
        return self._size, self._digest.hexdigest()

    def stop(self) -> None:
        self._writer_done.set()
        self.join()


class FileUpload:
    """One file streaming into gpg. Created by :meth:`SubmissionDraft.open_file`."""

    def __init__(self, draft: "SubmissionDraft", name: str, encryptor: StreamEncryptor) -> None:
        self.name = name
        self._draft = draft
        self._encryptor = encryptor
        self._finished = False
        self._hasher = _CiphertextHasher(encryptor.output)
        self._hasher.start()

    def write(self, chunk: bytes) -> None:
        self._draft._count_file_bytes(len(chunk))
        self._encryptor.write(chunk)

    def finish(self) -> None:
        """Close the file: refuses an empty one; its receipt is sealed when the draft commits."""
        if self._finished:
            return
        self._finished = True
        received_at = datetime.now(UTC)
        try:
            digest = self._encryptor.finish()
        finally:
            ciphertext = self._hasher.result()
        if digest.size == 0:
            raise EmptyFile("The chosen file is empty.")
        self._draft._add_item(
            "file", self._encryptor.output, self.name, digest, received_at, ciphertext
        )

    def abort(self) -> None:
        self._finished = True
        self._encryptor.abort()
        self._hasher.stop()


class SubmissionDraft:
    """One submission being received. Use :func:`open_submission` and a ``with`` block."""

    def __init__(
        self,
        instance: Instance,
        source_id: SourceId,
        config: InstanceConfig,
        first_submission: bool,
    ) -> None:
        self.instance = instance
        self.source_id = source_id
        self.config = config
        self.first_submission = first_submission
        self.limit = upload_limit(instance, config)
        self._message: str | None = None
        self._file_bytes = 0
        self._open: list[FileUpload] = []
        self._items: list[_Item] = []
        self._temps: list[Path] = []
        self._done = False
        self._intake: Intake | None = None
        self._consent: ConsentRecord | None = None

    def __enter__(self) -> "SubmissionDraft":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.discard()

    @property
    def has_files(self) -> bool:
        return bool(self._items) or bool(self._open)

    def set_message(self, raw: bytes) -> None:
        """Take the message text (checked as UTF-8); blank text counts as no message."""
        text = decode_message(raw)
        self._message = text if text.strip() else None

    def open_file(self, original_name: str) -> FileUpload:
        """Start streaming one file; write its chunks, then call ``finish()``."""
        if not self.config.allow_document_uploads:
            raise UploadsDisabled("This instance accepts messages only.")
        if len(self._open) >= MAX_FILES_PER_SUBMISSION:
            raise TooManyFiles(MAX_FILES_PER_SUBMISSION)
        name = clean_file_name(original_name)
        temp = self._new_temp()
        encryptor = open_encryptor(
            self.instance.settings.gnupg_home,
            [self.instance.submission_fingerprint],
            temp,
            gzip_name=name,
        )
        upload = FileUpload(self, name, encryptor)
        self._open.append(upload)
        return upload

    def attach_answers(
        self, *, intake: Intake | None = None, consent: ConsentRecord | None = None
    ) -> None:
        """Put the source's intake answers and consent into the receipt of every item.

        An empty intake is left out (docs/storage-format.md: no `intake` key means no answers).
        May be called at any time before :meth:`commit`: receipts are sealed at commit.
        """
        self._intake = None if intake is None or intake.is_empty else intake
        self._consent = consent

    def commit_consent(self, record: ConsentRecord) -> StoredSubmission:
        """Store a later consent change on its own: a `consent` item and its receipt.

        The item's plaintext is the canonical `skrynka-consent` document; like everything a
        source sends, it reaches the disk only as ciphertext to the submission key.
        """
        if self._items or self._open or self._message is not None:
            raise RuntimeError("A consent change is stored on its own, not inside a submission.")
        temp = self._new_temp()
        encryptor = open_encryptor(
            self.instance.settings.gnupg_home, [self.instance.submission_fingerprint], temp
        )
        try:
            encryptor.write(encode_consent(record))
            digest = encryptor.finish()
        except BaseException:
            encryptor.abort()
            raise
        self._add_item("consent", temp, None, digest, record.recorded_at, _hash_file(temp))
        self._seal_receipts()
        stored = self._publish()
        self._done = True
        return stored[0]

    def add_file(self, original_name: str, stream: BinaryIO, chunk_size: int = 1 << 20) -> None:
        """Encrypt a whole readable file (the pull-style twin of :meth:`open_file`)."""
        upload = self.open_file(original_name)
        while chunk := stream.read(chunk_size):
            upload.write(chunk)
        upload.finish()

    def commit(self) -> list[StoredSubmission]:
        """Check the rules, then make everything visible at once; see the module docstring."""
        if any(not upload._finished for upload in self._open):
            raise RuntimeError("Finish every file before committing the submission.")
        message = self._message
        if message is None and not self._items:
            raise EmptySubmission("Neither a message nor a file was sent.")
        minimum = self.config.initial_message_min_len
        if self.first_submission and minimum > 0 and len(message or "") < minimum:
            raise MessageTooShort(minimum)
        if (
            message is not None
            and self.config.reject_message_with_codename
            and message_contains_codename(self.instance, message, self.source_id)
        ):
            raise MessageContainsCodename("The message contains the source's codename.")
        if message is not None:
            self._encrypt_message(message)
        self._seal_receipts()
        stored = self._publish()
        self._done = True
        return stored

    def discard(self) -> None:
        """Forget everything received so far and remove its temp files."""
        self._done = True
        for upload in self._open:
            upload.abort()
        for temp in self._temps:
            temp.unlink(missing_ok=True)

    # -- internals --------------------------------------------------------------------------

    def _count_file_bytes(self, count: int) -> None:
        self._file_bytes += count
        if self._file_bytes > self.limit:
            raise UploadTooLarge(self.limit)

    def _new_temp(self) -> Path:
        temp = self.instance.store.temp_path()
        self._temps.append(temp)
        return temp

    def _encrypt_message(self, message: str) -> None:
        received_at = datetime.now(UTC)
        temp = self._new_temp()
        encryptor = open_encryptor(
            self.instance.settings.gnupg_home, [self.instance.submission_fingerprint], temp
        )
        try:
            encryptor.write(message.encode("utf-8"))
            digest = encryptor.finish()
        except BaseException:
            encryptor.abort()
            raise
        # The message goes first, as the source typed it before choosing a file.
        self._add_item("message", temp, None, digest, received_at, _hash_file(temp), first=True)

    def _add_item(
        self,
        kind: str,
        ciphertext: Path,
        original_name: str | None,
        digest: PlaintextDigest,
        received_at: datetime,
        ciphertext_digest: tuple[int, str],
        *,
        first: bool = False,
    ) -> None:
        item_uuid = str(uuid.uuid4())
        receipt = Receipt(
            submission_uuid=item_uuid,
            kind=kind,
            original_name=original_name,
            size=digest.size,
            sha256=digest.sha256,
            sha512=digest.sha512,
            received_at=received_at,
        )
        size, sha256 = ciphertext_digest
        item = _Item(
            kind=kind,
            uuid=item_uuid,
            ciphertext=ciphertext,
            size=size,
            sha256=sha256,
            plain_receipt=receipt,
        )
        if first:
            self._items.insert(0, item)
        else:
            self._items.append(item)

    def _seal_receipts(self) -> None:
        """Encrypt each item's receipt, with the answers attached to this submission."""
        intake = None if self._intake is None else build_intake_document(self._intake)
        consent = None if self._consent is None else build_consent_document(self._consent)
        for item in self._items:
            receipt = replace(item.plain_receipt, intake=intake, consent=consent)
            sealed = encrypt_bytes(
                self.instance.settings.gnupg_home,
                [self.instance.submission_fingerprint],
                encode_receipt(receipt),
            )
            item.receipt = self._new_temp()
            _write_durably(item.receipt, sealed)
            item.receipt_size = len(sealed)
            item.receipt_sha256 = hashlib.sha256(sealed).hexdigest()

    def _publish(self) -> list[StoredSubmission]:
        store = self.instance.store
        with self.instance.sessions() as db:
            pending: list[PendingFile] = []
            try:
                stored = self._stage(db, pending)
                db.commit()
            except BaseException:
                db.rollback()
                for item in pending:
                    store.discard(item)
                raise
        # Committed: the submission exists. A failure from here on leaves pending files that
        # reconcile() finalizes at the next start, so the error is worth raising but nothing
        # acknowledged is lost.
        for item in pending:
            store.finalize(item)
        return stored

    def _stage(self, db: Session, pending: list[PendingFile]) -> list[StoredSubmission]:
        """Reserve numbers, link every file under a pending name and add the rows; no commit.

        Appends each pending file to ``pending`` as soon as it is linked, so the caller can
        discard them all if anything fails.
        """
        store = self.instance.store
        stored: list[StoredSubmission] = []
        now = datetime.now(UTC)
        # This write takes the source's row lock (SQLite: the database write lock) for the rest
        # of the transaction, so concurrent submissions of one source cannot pick the same
        # numbers.
        touched = db.execute(
            update(Source)
            .where(Source.filesystem_id == self.source_id)
            .values(last_updated=now, pending=False)
            .execution_options(synchronize_session=False)
        )
        if touched.rowcount != 1:  # type: ignore[attr-defined]
            raise UnknownSource("The source was deleted while it was submitting.")
        source = db.execute(
            select(Source.id, Source.interaction_count, Source.journalist_designation).where(
                Source.filesystem_id == self.source_id
            )
        ).one()
        designation_file = source.journalist_designation.lower().replace(" ", "_")
        number = source.interaction_count
        for item in self._items:
            number += 1
            names = _names(number, designation_file, item.kind)
            # A final file no row uses (left by an older version that linked before committing)
            # holds its number: skip past it rather than overwrite anything in the store.
            while any(_stored(store.store_dir, self.source_id, n) for n in names):
                number += 1
                names = _names(number, designation_file, item.kind)
            filename, receipt_filename = names
            pending.append(store.commit(item.ciphertext, self.source_id, filename))
            assert item.receipt is not None  # sealed by _seal_receipts
            pending.append(store.commit(item.receipt, self.source_id, receipt_filename))
            db.add(
                Submission(
                    uuid=item.uuid,
                    source_id=source.id,
                    kind=item.kind,
                    filename=filename,
                    size=item.size,
                    sha256=item.sha256,
                    receipt_filename=receipt_filename,
                    receipt_size=item.receipt_size,
                    receipt_sha256=item.receipt_sha256,
                    created_at=now,
                )
            )
            stored.append(StoredSubmission(item.uuid, item.kind, filename, receipt_filename))
        db.execute(
            update(Source)
            .where(Source.id == source.id)
            .values(interaction_count=number)
            .execution_options(synchronize_session=False)
        )
        db.flush()
        return stored


def open_submission(instance: Instance, source_id: SourceId) -> SubmissionDraft:
    """Start receiving a submission for the source ``source_id``; raises UnknownSource."""
    with instance.sessions() as db:
        source = db.scalar(select(Source).where(Source.filesystem_id == source_id))
        if source is None:
            raise UnknownSource("No source has this id; it may have been deleted.")
        config = read_instance_config(db)
        if config is None:
            config = InstanceConfig(
                allow_document_uploads=True,
                initial_message_min_len=0,
                reject_message_with_codename=True,
            )
        db.expunge(config)
        first = source.interaction_count == 0
    return SubmissionDraft(instance, source_id, config, first)


def store_submission(
    instance: Instance,
    source_id: SourceId,
    message: bytes | None,
    files: Iterable[tuple[str, BinaryIO]] = (),
) -> list[StoredSubmission]:
    """Store a message and files read from file objects, all or nothing."""
    with open_submission(instance, source_id) as draft:
        if message is not None:
            draft.set_message(message)
        for name, stream in files:
            draft.add_file(name, stream)
        return draft.commit()


def store_consent_change(
    instance: Instance, source_id: SourceId, record: ConsentRecord
) -> StoredSubmission:
    """Store a source's later consent change as a new encrypted `consent` record."""
    with open_submission(instance, source_id) as draft:
        return draft.commit_consent(record)


def _names(number: int, designation_file: str, kind: str) -> tuple[str, str]:
    suffix = {"file": "doc.gz", "consent": "consent"}.get(kind, "msg")
    return (
        f"{number}-{designation_file}-{suffix}.gpg",
        f"{number}-{designation_file}-receipt.gpg",
    )


def _stored(store_dir: Path, source_id: str, filename: str) -> bool:
    return (store_dir / source_id / filename).exists()


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a ciphertext file (safe to keep: it identifies no plaintext)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
