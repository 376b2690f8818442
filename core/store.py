"""The ciphertext store: the only code that creates, names or removes submission files.

A file is written in full to a temp file under DATA_DIR/tmp/, fsynced, then linked into
DATA_DIR/store/<filesystem_id>/<filename> in one atomic step and the directory fsynced; only
after that may the caller commit its database row (invariant 6). Names are checked against the
patterns of docs/storage-format.md before any path is built, and every resulting path is
resolved and must stay inside the store, so neither a crafted name nor a planted symlink can
reach another file.

Temp files live in one directory per process (DATA_DIR/tmp/w-<random>/) whose lock file that
process holds with flock() for its whole life. The kernel drops the lock when the process dies,
even by SIGKILL, so clean_temp() can tell an abandoned upload (lock free: remove) from one a
sibling gunicorn worker is still receiving (lock held: keep). A worker restarted by gunicorn
therefore cleans up after its dead predecessor without touching live uploads.
"""

import errno
import fcntl
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

from core.errors import StoredFileMissing, StoreError, UnsafeStorePath

# A source id: 64 lower-case hex characters (crypto.types.SourceId).
FILESYSTEM_ID_PATTERN = re.compile(r"[0-9a-f]{64}")
# <n>-<designation_file>-<kind>.gpg, e.g. 1-rational_pizza-msg.gpg (docs/storage-format.md).
FILENAME_PATTERN = re.compile(
    r"[1-9][0-9]{0,8}-[a-z][a-z0-9_-]{0,200}-(msg|doc\.gz|reply|receipt|consent)\.gpg"
)
TEMP_SUFFIX = ".part"
WORK_DIR_PREFIX = "w-"
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

    def commit(self, temp: Path, filesystem_id: str, filename: str) -> Path:
        """Make a finished temp file durable under its final name; return the final path.

        Never replaces an existing file: an acknowledged submission is never overwritten.
        """
        check_filesystem_id(filesystem_id)
        check_filename(filename)
        temp = Path(temp)
        if temp.is_symlink() or not temp.is_file():
            raise StoreError(f"The temp file {temp.name} is missing; the upload was not stored.")
        tmp_root = os.path.realpath(self.tmp_dir)
        if os.path.commonpath([tmp_root, os.path.realpath(temp)]) != tmp_root:
            raise UnsafeStorePath("Refused to store a file that is not in the store's temp dir.")
        source_dir = self._source_dir(filesystem_id)
        if not source_dir.exists():
            source_dir.mkdir(mode=0o700)
            _fsync_dir(self.store_dir)
        target = self._inside(source_dir / filename)
        _fsync_file(temp)
        try:
            # link() fails if the target exists, which is exactly the no-overwrite rule, and is
            # atomic: a crash leaves either no target or a complete one (plus a temp name that
            # clean_temp removes at the next start).
            os.link(temp, target)
        except FileExistsError as exc:
            raise StoreError(
                f"{filename} already exists for this source; it was not overwritten."
            ) from exc
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                raise
            # Filesystems without hard links: check, then rename (still atomic, not race-free
            # against a second writer of the same name, which the caller's numbering prevents).
            if target.exists():
                raise StoreError(
                    f"{filename} already exists for this source; it was not overwritten."
                ) from exc
            os.replace(temp, target)
        else:
            temp.unlink()
        _fsync_dir(source_dir)
        return target

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
        source_dir = self._source_dir(filesystem_id)
        path = self._inside(source_dir / filename)
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
