"""A backup of an instance: a consistent database snapshot plus the data directory, in one tar.

The SQLite snapshot is taken with SQLite's online backup API, so the server may keep running:
the copy is a committed state of the database, never a torn file. It is taken *before* the
files are copied, so every ciphertext the snapshot refers to is already in the store when the
store is read (a ciphertext reaches the store before its row is committed). Files that arrive
after the snapshot are copied too and are harmless orphans after a restore.

The archive holds the secrets (session key, codename salt, signing key) and the onion keys in
clear: whoever holds it can impersonate the server. Encrypt it before it leaves the machine
(docs/operations.md, "Back up"). It never contains plaintext of submissions: the store holds
ciphertext only.
"""

import os
import sqlite3
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from core.errors import BackupError
from core.settings import Settings

DATABASE_MEMBER = "db.sqlite"
# Not backed up: the launched tor's cache and sockets (rebuilt at start) and the live SQLite
# files, which the snapshot replaces; tmp/ is kept but empty (in-flight uploads are junk after
# a restart, and `skrynka check` wants the directory).
SKIPPED_TOP_LEVEL = frozenset({"tor", "db.sqlite", "db.sqlite-wal", "db.sqlite-shm"})
EMPTIED_TOP_LEVEL = frozenset({"tmp"})


@dataclass(frozen=True)
class BackupSummary:
    """What went into a backup archive."""

    path: Path
    files: int
    bytes: int
    database_included: bool


def write_backup(settings: Settings, out: Path) -> BackupSummary:
    """Write a backup of the instance to ``out`` (a new file outside the data dir), mode 0600.

    Raises BackupError, leaving nothing behind, if ``out`` exists, lies inside the data dir,
    or the database or a file cannot be read.
    """
    data_dir = settings.data_dir.resolve()
    out = Path(out).expanduser().absolute()
    _check_destination(data_dir, out)
    fd, temp_name = tempfile.mkstemp(prefix=".skrynka-backup-", suffix=".tmp", dir=out.parent)
    os.close(fd)
    temp = Path(temp_name)
    snapshot = temp.with_suffix(".sqlite")
    try:
        database_included = False
        if settings.uses_sqlite:
            _snapshot_sqlite(_sqlite_path(settings.database_url), snapshot)
            database_included = True
        files, size = 0, 0
        with tarfile.open(temp, "w", format=tarfile.PAX_FORMAT) as archive:
            if database_included:
                archive.add(snapshot, arcname=DATABASE_MEMBER, recursive=False)
                files, size = 1, snapshot.stat().st_size
            for path in _files_to_back_up(data_dir):
                archive.add(path, arcname=str(path.relative_to(data_dir)), recursive=False)
                if path.is_file():
                    files, size = files + 1, size + path.stat().st_size
        _fsync(temp)
        os.link(temp, out)  # fails if `out` appeared meanwhile: never overwrite
    except OSError as exc:
        raise BackupError(
            f"The backup could not be written ({exc.strerror or exc}); check free space and "
            f"permissions of {out.parent}. Nothing was written."
        ) from exc
    except sqlite3.Error as exc:
        raise BackupError(
            f"The database could not be copied ({exc}); run `skrynka check`, then try again."
        ) from exc
    finally:
        temp.unlink(missing_ok=True)
        snapshot.unlink(missing_ok=True)
    return BackupSummary(out, files, size, database_included)


def _check_destination(data_dir: Path, out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise BackupError(
            f"{out} already exists; choose a new file name (backups never overwrite)."
        )
    parent = out.parent.resolve()
    if parent == data_dir or data_dir in parent.parents:
        raise BackupError(
            f"{out} is inside the data directory {data_dir}; write backups elsewhere (a backup "
            "inside what it backs up grows with every run and goes wherever the data dir goes)."
        )
    if not parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory; create it first.")


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError(f"{database_url} is not a SQLite file that can be backed up.")
    return Path(database)


def _snapshot_sqlite(source: Path, destination: Path) -> None:
    # Read-only URI: a backup must never create or change the live database.
    live = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(destination)
        try:
            live.backup(copy)
            # A plain rollback-journal file: restorable without its -wal companion.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        live.close()
    os.chmod(destination, 0o600)


def _files_to_back_up(data_dir: Path) -> list[Path]:
    """Directories and regular files under the data dir, minus the skipped ones, sorted."""
    found: list[Path] = []
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_TOP_LEVEL]
            files = [f for f in files if f not in SKIPPED_TOP_LEVEL]
        else:
            found.append(here)
            if here.parent == data_dir and here.name in EMPTIED_TOP_LEVEL:
                dirs[:], files = [], []
        dirs.sort()
        for name in sorted(files):
            path = here / name
            # Sockets (gpg-agent's in gnupg/) and other special files cannot be archived and
            # are recreated when needed.
            if stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    return found


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
