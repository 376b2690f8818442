"""A backup of an instance: a consistent database snapshot plus the data directory, in one tar.

The SQLite snapshot is taken with SQLite's online backup API, so the server may keep running:
the copy is a committed state of the database, never a torn file. It is taken *before* the
files are copied, so every ciphertext the snapshot refers to is already in the store when the
store is read (a ciphertext reaches the store before its row is committed). Files that arrive
after the snapshot are copied too and are harmless orphans after a restore.

The archive holds the secrets (session key, codename salt, signing key) and the onion keys:
whoever reads it can impersonate the server. So by default the tar is streamed straight into
``gpg --encrypt`` to the administrator's backup key (server.backup_key) and never exists in
clear on any disk; a plaintext archive is written only when the caller asks for one (no
recipient). It never contains plaintext of submissions: the store holds ciphertext only.

On any failure (no space, gpg missing or failing, an unreadable database) the partial output is
removed and BackupError says what to do; an existing file is never overwritten.
"""

import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url

from core.settings import Settings
from crypto.encryption import StreamEncryptor, open_encryptor
from crypto.errors import CryptoError
from server.backup_key import BackupRecipient
from server.errors import BackupError

DATABASE_MEMBER = "db.sqlite"
# Not backed up: the launched tor's cache and sockets (rebuilt at start) and the live SQLite
# files, which the snapshot replaces; tmp/ is kept but empty (in-flight uploads are junk after
# a restart, and `skrynka check` wants the directory).
SKIPPED_TOP_LEVEL = frozenset({"tor", "db.sqlite", "db.sqlite-wal", "db.sqlite-shm"})
EMPTIED_TOP_LEVEL = frozenset({"tmp"})
# How often directories whose files vanished while being read are listed again.
RESCANS = 5


@dataclass(frozen=True)
class BackupSummary:
    """What went into a backup archive."""

    path: Path
    files: int
    bytes: int
    database_included: bool
    encrypted_to: str = ""
    # Set on an instance whose store lives in a shared directory (several app servers): the
    # ciphertexts are there, not in this file.
    store_outside: Path | None = None


def write_backup(
    settings: Settings, out: Path, recipient: BackupRecipient | None = None
) -> BackupSummary:
    """Write a backup of the instance to ``out`` (a new file outside the data dir), mode 0600.

    With ``recipient`` the file is an OpenPGP message encrypted to that key (the tar inside it
    never touches a disk); without, a plain tar. Raises BackupError, leaving nothing behind, if
    ``out`` exists, lies inside the data dir, the database or a file cannot be read, or gpg
    fails.
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
        if recipient is None:
            with temp.open("wb") as plain:
                files, size = _write_tar(plain, data_dir, snapshot if database_included else None)
        else:
            with open_encryptor(recipient.gnupg_home, [recipient.fingerprint], temp) as sealed:
                files, size = _write_tar(
                    _EncryptorFile(sealed), data_dir, snapshot if database_included else None
                )
                sealed.finish()
        _fsync(temp)
        os.link(temp, out)  # fails if `out` appeared meanwhile: never overwrite
    except CryptoError as exc:
        raise BackupError(
            f"The backup could not be encrypted ({exc}). Nothing was written."
        ) from exc
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
    return BackupSummary(
        out, files, size, database_included, recipient.fingerprint if recipient else "",
        settings.store_dir if settings.shared_dir is not None else None,
    )


class _EncryptorFile:
    """The file-like face tarfile's stream mode needs (``write``) on a StreamEncryptor."""

    def __init__(self, encryptor: StreamEncryptor) -> None:
        self._encryptor = encryptor

    def write(self, data: bytes) -> int:
        return self._encryptor.write(data)


def _write_tar(
    stream: BinaryIO | _EncryptorFile, data_dir: Path, snapshot: Path | None
) -> tuple[int, int]:
    """Write the archive (database snapshot first, then the data dir) to ``stream``."""
    files, size = 0, 0
    # Stream mode ("w|") only ever appends: it works the same on a file and on gpg's stdin.
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        if snapshot is not None:
            archive.add(snapshot, arcname=DATABASE_MEMBER, recursive=False)
            files, size = 1, snapshot.stat().st_size
        added_files, added_bytes = _add_data_dir(archive, data_dir)
    return files + added_files, size + added_bytes


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


def _add_data_dir(archive: tarfile.TarFile, data_dir: Path) -> tuple[int, int]:
    """Add the data dir's directories and regular files; the number of files and their bytes.

    The server keeps running, so a listed file can vanish before it is read: the store renames
    a pending ciphertext to its final name after the row commits, and staff delete files. Such
    a directory is listed again and what appeared in it is added, so a file whose row is in the
    snapshot is never missed because it changed its name meanwhile.
    """
    added: set[Path] = set()
    files, size = 0, 0
    directories: list[Path] = []
    for directory in _directories(data_dir):
        try:
            archive.add(directory, arcname=str(directory.relative_to(data_dir)), recursive=False)
        except FileNotFoundError:
            continue  # a source directory deleted meanwhile
        directories.append(directory)
    to_list = [data_dir, *directories]
    for _attempt in range(RESCANS):
        vanished: set[Path] = set()
        for directory in to_list:
            for path in _regular_files(directory, data_dir):
                if path in added:
                    continue
                try:
                    info = archive.gettarinfo(path, arcname=str(path.relative_to(data_dir)))
                    with path.open("rb") as stream:
                        archive.addfile(info, stream)
                except FileNotFoundError:
                    vanished.add(directory)
                    continue
                added.add(path)
                files, size = files + 1, size + info.size
        if not vanished:
            return files, size
        to_list = sorted(vanished)
    raise BackupError(
        "Files kept changing while the backup read them; try again when the server is quieter."
    )


def _directories(data_dir: Path) -> list[Path]:
    """Every directory under the data dir that is backed up, parents first."""
    found: list[Path] = []
    for root, dirs, _files in os.walk(data_dir):
        here = Path(root)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_TOP_LEVEL]
        else:
            found.append(here)
            if here.parent == data_dir and here.name in EMPTIED_TOP_LEVEL:
                dirs[:] = []
        dirs.sort()
    return found


def _regular_files(directory: Path, data_dir: Path) -> list[Path]:
    """The regular files directly in ``directory`` that belong in a backup, sorted."""
    if directory.parent == data_dir and directory.name in EMPTIED_TOP_LEVEL:
        return []
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []  # a source directory removed meanwhile: nothing of it is needed
    return [
        Path(entry.path)
        for entry in entries
        # Sockets (gpg-agent's in gnupg/) and other special files cannot be archived and are
        # recreated when needed; symbolic links are not followed out of the data dir.
        if entry.is_file(follow_symlinks=False)
        and not (directory == data_dir and entry.name in SKIPPED_TOP_LEVEL)
    ]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
