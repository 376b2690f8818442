"""The ciphertext store: the only code that creates, names or removes submission files.

A file is written in full to a temp file under DATA_DIR/tmp/ and fsynced. Storing it then takes
two steps around the caller's database commit (invariant 6):

1. :meth:`CiphertextStore.commit` links it into DATA_DIR/store/<filesystem_id>/ under a
   *pending* name, ``.pending-<owner>-<token>-<filename>``, and fsyncs the directory. Nothing
   reads pending names: downloads, listings and bundles see only final names.
2. After the row is committed, :meth:`CiphertextStore.finalize` links the pending file to its
   final name (never replacing an existing file), removes the pending name and fsyncs again.
   If the transaction fails instead, :meth:`CiphertextStore.discard` removes it.

A crash can stop this at any point; :meth:`CiphertextStore.reconcile`, run at start-up, settles
every pending file whose owner is dead: a committed row with the same ciphertext SHA-256 means
"finish the rename", anything else means "remove". So a process killed before its commit leaves
nothing visible and nothing that survives the next start, and one killed after it loses nothing.
``<owner>`` names the temp dir of the process that linked the file, whose flock says whether
that process is still alive (a sibling worker between its link and its commit is left alone).

Names are checked against the patterns of docs/storage-format.md before any path is built, and
every resulting path is resolved and must stay inside the store, so neither a crafted name nor a
planted symlink can reach another file.

Temp files live in one directory per process (DATA_DIR/tmp/w-<random>/) whose lock file that
process holds with flock() for its whole life. The kernel drops the lock when the process dies,
even by SIGKILL, so clean_temp() can tell an abandoned upload (lock free: remove) from one a
sibling gunicorn worker is still receiving (lock held: keep). A worker restarted by gunicorn
therefore cleans up after its dead predecessor without touching live uploads.
"""

import errno
import fcntl
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from core.errors import CiphertextStoreError, StoredFileMissing, UnsafeStorePath

# A source id: 64 lower-case hex characters (crypto.types.SourceId).
FILESYSTEM_ID_PATTERN = re.compile(r"[0-9a-f]{64}")
# <n>-<designation_file>-<kind>.gpg, e.g. 1-rational_pizza-msg.gpg (docs/storage-format.md).
FILENAME_PATTERN = re.compile(
    r"[1-9][0-9]{0,8}-[a-z][a-z0-9_-]{0,200}-(msg|doc\.gz|reply|receipt|consent)\.gpg"
)
TEMP_SUFFIX = ".part"
WORK_DIR_PREFIX = "w-"
PENDING_PREFIX = ".pending-"
# .pending-<owner: the linking process's temp dir id>-<token>-<final file name>
PENDING_PATTERN = re.compile(
    re.escape(PENDING_PREFIX) + r"([0-9a-f]{32})-([0-9a-f]{16})-(" + FILENAME_PATTERN.pattern + ")"
)
_HASH_READ_BYTES = 1024 * 1024
_CLAIM_GRACE_SECONDS = 60
LOCK_NAME = ".lock"


def check_filesystem_id(filesystem_id: str) -> None:
    """Raise UnsafeStorePath unless ``filesystem_id`` is a well-formed source id."""
    if not isinstance(filesystem_id, str) or not FILESYSTEM_ID_PATTERN.fullmatch(filesystem_id):
        raise UnsafeStorePath(
            "Refused a source directory name that is not 64 lower-case hex characters; "
            "it did not come from Skrynka."
        )


def check_filename(filename: str) -> None:
    """Raise UnsafeStorePath unless ``filename`` follows the storage-format naming."""
    if not isinstance(filename, str) or not FILENAME_PATTERN.fullmatch(filename):
        raise UnsafeStorePath(
            "Refused a ciphertext file name that does not look like "
            "<n>-<designation>-msg.gpg, -doc.gz.gpg, -reply.gpg, -receipt.gpg or -consent.gpg."
        )


@dataclass(frozen=True)
class PendingFile:
    """A ciphertext linked into the store under a pending name, waiting for its row."""

    filesystem_id: str
    filename: str
    path: Path


@dataclass(frozen=True)
class ReconcileResult:
    """What :meth:`CiphertextStore.reconcile` did with the pending files of dead processes."""

    finalized: int = 0
    removed: int = 0
    # Pending files whose row exists but whose final name holds a different file: kept for an
    # operator to look at, never overwritten.
    kept: int = 0


#: Given a source id and a final file name, the SHA-256 (hex) of the ciphertext its committed
#: row expects, or None if no committed row names that file.
CommittedDigest = Callable[[str, str], str | None]


class CiphertextStore:
    def __init__(self, store_dir: Path, tmp_dir: Path) -> None:
        self.store_dir = Path(store_dir)
        self.tmp_dir = Path(tmp_dir)
        self._work_dir: Path | None = None
        self._lock_fd: int | None = None
        self._claim_lock = threading.Lock()

    def __enter__(self) -> "CiphertextStore":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def temp_path(self) -> Path:
        """Create an empty, private (0600) temp file with a fresh name and return its path.

        The caller writes the ciphertext into it, then calls commit(); on failure it may
        unlink it, and anything it leaves behind is removed by clean_temp() after this process
        ends.
        """
        path = self._claim_work_dir() / f"{uuid.uuid4().hex}{TEMP_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        return path

    def close(self) -> None:
        """Release this process's temp dir (removing what is left in it)."""
        with self._claim_lock:
            if self._work_dir is not None:
                shutil.rmtree(self._work_dir, ignore_errors=True)
                self._work_dir = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _claim_work_dir(self) -> Path:
        with self._claim_lock:
            if self._work_dir is not None and self._work_dir.is_dir():
                return self._work_dir
            self.tmp_dir.mkdir(mode=0o700, exist_ok=True)
            work_dir = self.tmp_dir / f"{WORK_DIR_PREFIX}{uuid.uuid4().hex}"
            work_dir.mkdir(mode=0o700)
            fd = os.open(work_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            self._work_dir, self._lock_fd = work_dir, fd
            return work_dir

    def commit(self, temp: Path, filesystem_id: str, filename: str) -> PendingFile:
        """Link a finished temp file into the store under a pending name; return it.

        Call :meth:`finalize` once the file's database row is committed, :meth:`discard` if the
        transaction fails. Refuses a name already stored: nothing acknowledged is overwritten.
        """
        check_filesystem_id(filesystem_id)
        check_filename(filename)
        temp = Path(temp)
        if temp.is_symlink() or not temp.is_file():
            raise CiphertextStoreError(
                f"The temp file {temp.name} is missing; the upload was not stored."
            )
        tmp_root = os.path.realpath(self.tmp_dir)
        if os.path.commonpath([tmp_root, os.path.realpath(temp)]) != tmp_root:
            raise UnsafeStorePath("Refused to store a file that is not in the store's temp dir.")
        owner = self._claim_work_dir().name[len(WORK_DIR_PREFIX) :]
        source_dir = self._ensure_source_dir(filesystem_id)
        if self._inside(source_dir / filename).exists():
            raise CiphertextStoreError(
                f"{filename} already exists for this source; it was not overwritten."
            )
        pending = self._inside(
            source_dir / f"{PENDING_PREFIX}{owner}-{os.urandom(8).hex()}-{filename}"
        )
        _fsync_file(temp)
        # A fresh random name: link() cannot meet an existing file, and it is atomic, so a crash
        # leaves either no pending file or a complete one (plus a temp name clean_temp removes).
        _link_or_rename(temp, pending)
        _fsync_dir(source_dir)
        return PendingFile(filesystem_id, filename, pending)

    def finalize(self, pending: PendingFile) -> Path:
        """Give a pending file its final name (its row is committed); return the final path.

        Never replaces an existing file. Safe to repeat: a file already final is left alone.
        """
        check_filesystem_id(pending.filesystem_id)
        check_filename(pending.filename)
        source_dir = self._source_dir(pending.filesystem_id)
        path = self._inside(source_dir / pending.path.name)
        final = self._inside(source_dir / pending.filename)
        if not PENDING_PATTERN.fullmatch(path.name) or not path.name.endswith(pending.filename):
            raise UnsafeStorePath("Refused to finalize a file that is not a pending store file.")
        try:
            _link_or_rename(path, final)
        except FileExistsError as exc:
            if not (path.exists() and os.path.samefile(path, final)):
                raise CiphertextStoreError(
                    f"{pending.filename} already exists for this source; the new file stays "
                    f"pending as {path.name} and was not overwritten."
                ) from exc
        except FileNotFoundError:
            # Finalized before (the pending name is gone and the final one is there): done.
            if final.is_file():
                return final
            raise CiphertextStoreError(
                f"The pending file for {pending.filename} vanished before it was finalized; "
                "restore the store from backup or delete the item."
            ) from None
        path.unlink(missing_ok=True)
        _fsync_dir(source_dir)
        return final

    def discard(self, pending: PendingFile) -> bool:
        """Remove a pending file whose row was never committed; False if it was already gone."""
        check_filesystem_id(pending.filesystem_id)
        source_dir = self._source_dir(pending.filesystem_id)
        if not PENDING_PATTERN.fullmatch(pending.path.name):
            raise UnsafeStorePath("Refused to discard a file that is not a pending store file.")
        return self._remove_file(source_dir, pending.path.name)

    def reconcile(self, committed_digest: CommittedDigest) -> ReconcileResult:
        """Settle the pending files of dead processes: finish those whose row committed.

        A pending file is finalized when ``committed_digest`` names a committed row for its
        final name whose SHA-256 matches the file (the number may have been reused after a
        crash, so the name alone proves nothing); every other one is removed. Files of living
        processes (their temp dir's lock is held) are left for them.
        """
        outcomes: Counter[str] = Counter()
        if not self.store_dir.is_dir():
            return ReconcileResult()
        for source_dir in sorted(self.store_dir.iterdir()):
            if source_dir.is_symlink() or not source_dir.is_dir():
                continue
            if not FILESYSTEM_ID_PATTERN.fullmatch(source_dir.name):
                continue
            touched = False
            for path in sorted(source_dir.iterdir()):
                match = PENDING_PATTERN.fullmatch(path.name)
                if match is None or path.is_symlink() or not path.is_file():
                    continue
                owner, _token, filename = match.group(1), match.group(2), match.group(3)
                if self._owner_alive(owner):
                    continue
                touched = True
                expected = committed_digest(source_dir.name, filename)
                outcomes[_settle_pending(path, source_dir / filename, expected)] += 1
            if touched:
                _fsync_dir(source_dir)
        return ReconcileResult(
            finalized=outcomes["finalized"], removed=outcomes["removed"], kept=outcomes["kept"]
        )

    def _owner_alive(self, owner: str) -> bool:
        work_dir = self.tmp_dir / f"{WORK_DIR_PREFIX}{owner}"
        if work_dir == self._work_dir:
            return True
        if work_dir.is_symlink() or not work_dir.is_dir():
            return False
        return _is_held(work_dir / LOCK_NAME)

    def _ensure_source_dir(self, filesystem_id: str) -> Path:
        """The source's directory, created if needed; safe when two threads create it at once."""
        source_dir = self._source_dir(filesystem_id)
        try:
            os.mkdir(source_dir, 0o700)
        except FileExistsError:
            # Someone (perhaps another thread storing this source's first file) made it first;
            # re-check that it is a real directory inside the store, not a planted link.
            source_dir = self._source_dir(filesystem_id)
            if not source_dir.is_dir():
                raise UnsafeStorePath(
                    f"{source_dir} exists but is not a directory; someone tampered with the "
                    "data dir: investigate before serving."
                ) from None
        else:
            _fsync_dir(self.store_dir)
        return source_dir

    def path_of(self, filesystem_id: str, filename: str) -> Path:
        """The path of a stored file; raises UnsafeStorePath or StoredFileMissing."""
        check_filesystem_id(filesystem_id)
        check_filename(filename)
        path = self._inside(self.store_dir / filesystem_id / filename)
        if not path.is_file():
            raise StoredFileMissing(
                f"{filename} is in the database but not in the store; restore the store "
                "from backup or delete the item."
            )
        return path

    def list_files(self, filesystem_id: str) -> list[str]:
        """Names of one source's stored files, sorted."""
        source_dir = self._source_dir(filesystem_id)
        if not source_dir.is_dir():
            return []
        return sorted(p.name for p in source_dir.iterdir() if FILENAME_PATTERN.fullmatch(p.name))

    def delete(self, filesystem_id: str, filename: str) -> bool:
        """Remove one stored file; False if it was already gone."""
        check_filesystem_id(filesystem_id)
        check_filename(filename)
        return self._remove_file(self._source_dir(filesystem_id), filename)

    def _remove_file(self, source_dir: Path, name: str) -> bool:
        """Unlink one file of a source and make that durable; False if it was already gone."""
        path = self._inside(source_dir / name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(source_dir)
        return True

    def delete_source(self, filesystem_id: str) -> int:
        """Remove every file of one source and its directory; return how many files went."""
        source_dir = self._source_dir(filesystem_id)
        if not source_dir.exists():
            return 0
        count = sum(1 for p in source_dir.iterdir())
        shutil.rmtree(source_dir)
        _fsync_dir(self.store_dir)
        return count

    def clean_temp(self) -> int:
        """Remove every abandoned temp file (uploads cut off by a crash); return the count.

        Safe while other processes serve: temp dirs whose owner is alive are kept.
        """
        self.tmp_dir.mkdir(mode=0o700, exist_ok=True)
        count = 0
        for entry in self.tmp_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                if entry == self._work_dir or _is_held(entry / LOCK_NAME):
                    continue
                count += sum(1 for p in entry.rglob("*") if p.name != LOCK_NAME and not p.is_dir())
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
                count += 1
        _fsync_dir(self.tmp_dir)
        return count

    def _source_dir(self, filesystem_id: str) -> Path:
        check_filesystem_id(filesystem_id)
        source_dir = self.store_dir / filesystem_id
        if source_dir.is_symlink():
            raise UnsafeStorePath(
                f"The store directory of a source is a symbolic link ({source_dir}); "
                "someone tampered with the data dir: investigate before serving."
            )
        return self._inside(source_dir)

    def _inside(self, path: Path) -> Path:
        root = os.path.realpath(self.store_dir)
        real = os.path.realpath(path)
        if os.path.commonpath([root, real]) != root or real == root:
            raise UnsafeStorePath(
                f"Refused a path that resolves outside the store ({path}); "
                "someone tampered with the data dir: investigate before serving."
            )
        return path


def _is_held(lock_path: Path) -> bool:
    """True if a living process holds the flock on ``lock_path``."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        # No lock file: either a crash right after mkdir, or a sibling that is between its
        # mkdir and its flock at this very moment. Only an old dir is the former.
        try:
            age = time.time() - lock_path.parent.stat().st_mtime
        except OSError:
            return False
        return age < _CLAIM_GRACE_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _link_or_rename(source: Path, target: Path) -> None:
    """Give ``source``'s file the name ``target`` atomically, never replacing ``target``.

    Raises FileExistsError if ``target`` exists and FileNotFoundError if ``source`` is gone.
    """
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise
        # Filesystems without hard links: check, then rename (still atomic, not race-free
        # against a second writer of the same name, which the callers' numbering prevents).
        if target.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from exc
        os.replace(source, target)
    else:
        source.unlink()


def _settle_pending(
    path: Path, final: Path, expected: str | None
) -> Literal["finalized", "removed", "kept"]:
    """Give a dead process's pending file its final name if its committed row matches it.

    ``expected`` is the committed row's SHA-256 (None: no row committed, so remove the file).
    """
    if expected is None or _sha256_of(path) != expected:
        path.unlink()
        return "removed"
    try:
        os.link(path, final)
    except FileExistsError:
        # A crash during finalize leaves both names on one file; anything else under the
        # final name is not ours to replace.
        if not os.path.samefile(path, final) and _sha256_of(final) != expected:
            return "kept"
    path.unlink()
    return "finalized"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # A rename or link is durable only once the directory entry itself is on disk.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
