"""A backup of an instance: a database snapshot, the data directory and the store, in one tar.

The database comes first. SQLite is copied with SQLite's online backup API, PostgreSQL with
``pg_dump --format=custom`` (server.database_dump: one repeatable-read snapshot, the password in
pg_dump's environment, never on its command line), so the server may keep running: the copy is
a committed state of the database, never a torn file. It is taken *before* the files are copied,
so every ciphertext the copy refers to is already in the store when the store is read (a
ciphertext reaches the store before its row is committed). Files that arrive after the snapshot
are copied too and are harmless orphans after a restore. A tar member's size must be known
before its bytes, so the copy is spooled in ``DATA_DIR/backup-spool/`` (0700, on the server's
own disk beside the live database, never on the drive the backup goes to) and removed on every
path.

The store goes in as ``store/`` wherever it lives: in the data dir, or in ``shared_dir`` when
several app servers share it, together with the logo kept beside it (then the data dir's own
leftover ``store/`` and ``logo.png``, if any, are not the live ones and are left out). Restore
(server.restore) puts them where the restoring instance keeps its store and logo.

The archive holds the secrets (session key, codename salt, signing key) and the onion keys:
whoever reads it can impersonate the server. So by default the tar is streamed straight into
``gpg --encrypt`` to the administrator's backup key (server.backup_key) and never exists in
clear on any disk; a plaintext archive is written only when the caller asks for one (no
recipient). It never contains plaintext of submissions: the store holds ciphertext only.

On any failure (no space, gpg or pg_dump missing or failing, an unreadable or unreachable
database) the partial output and the spooled database copy are removed and BackupError says
what to do; an existing file is never overwritten.
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
from server.database_dump import dump_database
from server.errors import BackupError, DumpError

SQLITE_MEMBER = "db.sqlite"
POSTGRESQL_MEMBER = "db.pgdump"
# Kept for callers that know only SQLite archives.
DATABASE_MEMBER = SQLITE_MEMBER
STORE_MEMBER = "store"
LOGO_MEMBER = "logo.png"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# Not backed up: the launched tor's cache and sockets (rebuilt at start) and the live SQLite
# files, which the snapshot replaces; tmp/ is kept but empty (in-flight uploads are junk after
# a restart, and `skrynka check` wants the directory).
SKIPPED_TOP_LEVEL = frozenset({"tor", "db.sqlite", "db.sqlite-wal", "db.sqlite-shm",
                               "backup-spool"})
# Where the database copy waits until it goes into the tar (a tar member's size comes before
# its bytes, so it cannot be streamed): inside the data dir, on the server's own disk beside
# the live database. Never next to the output, which is often a removable or network drive
# that must only ever see the encrypted archive.
SPOOL_DIR = "backup-spool"
EMPTIED_TOP_LEVEL = frozenset({"tmp"})
# How often directories whose files vanished while being read are listed again.
RESCANS = 5


@dataclass(frozen=True)
class BackupSummary:
    """What went into a backup archive."""

    path: Path
    files: int
    bytes: int
    # "sqlite" or "postgresql": the engine whose copy is in the archive.
    database: str
    # Where the ciphertexts were read from (the data dir's store/, or the shared directory's).
    store_dir: Path
    encrypted_to: str = ""

    @property
    def database_included(self) -> bool:
        return bool(self.database)


@dataclass(frozen=True)
class _Tree:
    """A directory tree that goes into the archive under ``arcname`` ("" is the top)."""

    root: Path
    arcname: str
    skipped: frozenset[str] = frozenset()
    emptied: frozenset[str] = frozenset()

    def name_of(self, path: Path) -> str:
        return str(Path(self.arcname) / path.relative_to(self.root))


def write_backup(
    settings: Settings, out: Path, recipient: BackupRecipient | None = None
) -> BackupSummary:
    """Write a backup of the instance to ``out`` (a new file outside the data dir), mode 0600.

    With ``recipient`` the file is an OpenPGP message encrypted to that key (the tar inside it
    never touches a disk); without, a plain tar. Raises BackupError, leaving nothing behind, if
    ``out`` exists, lies inside the data dir (or the shared store), the database or a file
    cannot be read, or gpg or pg_dump fails.
    """
    data_dir = settings.data_dir.resolve()
    out = Path(out).expanduser().absolute()
    trees = _trees(settings, data_dir)
    for tree in trees:
        what = "the shared store" if tree.arcname else "the data directory"
        _check_destination(tree.root, what, out)
    _check_free_name(out)
    fd, temp_name = tempfile.mkstemp(prefix=".skrynka-backup-", suffix=".tmp", dir=out.parent)
    os.close(fd)
    temp = Path(temp_name)
    engine = SQLITE if settings.uses_sqlite else POSTGRESQL
    try:
        (data_dir / SPOOL_DIR).mkdir(mode=0o700, exist_ok=True)
        copy_dir = Path(tempfile.mkdtemp(prefix="database-", dir=data_dir / SPOOL_DIR))
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise BackupError(
            f"The database could not be copied into {data_dir / SPOOL_DIR} "
            f"({exc.strerror or exc}); check free space and permissions of the data directory. "
            "Nothing was written."
        ) from exc
    copy = copy_dir / (SQLITE_MEMBER if engine == SQLITE else POSTGRESQL_MEMBER)
    try:
        if engine == SQLITE:
            _snapshot_sqlite(_sqlite_path(settings.database_url), copy)
        else:
            dump_database(settings.database_url, copy)
        members = [(copy, SQLITE_MEMBER if engine == SQLITE else POSTGRESQL_MEMBER)]
        shared_files = _shared_files(settings)
        if recipient is None:
            with temp.open("wb") as plain:
                files, size = _write_tar(plain, members, trees, shared_files)
        else:
            with open_encryptor(recipient.gnupg_home, [recipient.fingerprint], temp) as sealed:
                files, size = _write_tar(_EncryptorFile(sealed), members, trees, shared_files)
                sealed.finish()
        _fsync(temp)
        os.link(temp, out)  # fails if `out` appeared meanwhile: never overwrite
    except CryptoError as exc:
        raise BackupError(
            f"The backup could not be encrypted ({exc}). Nothing was written."
        ) from exc
    except DumpError as exc:
        raise BackupError(f"No backup was written: {exc}") from exc
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
        copy.unlink(missing_ok=True)
        copy_dir.rmdir()
    return BackupSummary(
        out,
        files,
        size,
        engine,
        settings.store_dir,
        recipient.fingerprint if recipient else "",
    )


def _trees(settings: Settings, data_dir: Path) -> list[_Tree]:
    """What goes into the archive: the data dir, and the shared store when there is one."""
    if settings.shared_dir is None:
        return [_Tree(data_dir, "", SKIPPED_TOP_LEVEL, EMPTIED_TOP_LEVEL)]
    # The data dir's own store/ and logo (left from before the move to shared_dir) are not
    # the live ones, and two sources for one name would collide in the archive.
    shared = frozenset({STORE_MEMBER, LOGO_MEMBER})
    return [
        _Tree(data_dir, "", SKIPPED_TOP_LEVEL | shared, EMPTIED_TOP_LEVEL),
        _Tree(settings.store_dir.resolve(), STORE_MEMBER),
    ]


def _shared_files(settings: Settings) -> list[tuple[Path, str]]:
    """Single files kept beside the shared store (the organisation's logo), with their names."""
    if settings.shared_dir is None:
        return []
    return [(settings.logo_path, LOGO_MEMBER)]


class _EncryptorFile:
    """The file-like face tarfile's stream mode needs (``write``) on a StreamEncryptor."""

    def __init__(self, encryptor: StreamEncryptor) -> None:
        self._encryptor = encryptor

    def write(self, data: bytes) -> int:
        return self._encryptor.write(data)


def _write_tar(
    stream: BinaryIO | _EncryptorFile,
    database: list[tuple[Path, str]],
    trees: list[_Tree],
    shared_files: list[tuple[Path, str]],
) -> tuple[int, int]:
    """Write the archive (database copy first, each tree, then shared files) to ``stream``."""
    files, size = 0, 0
    # Stream mode ("w|") only ever appends: it works the same on a file and on gpg's stdin.
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        for path, name in database:
            archive.add(path, arcname=name, recursive=False)
            files, size = files + 1, size + path.stat().st_size
        for tree in trees:
            added_files, added_bytes = _add_tree(archive, tree)
            files, size = files + added_files, size + added_bytes
        for path, name in shared_files:
            # Only a regular file: a link is not followed out of the shared directory.
            if not path.is_file() or path.is_symlink():
                continue
            try:
                info = archive.gettarinfo(path, arcname=name)
                with path.open("rb") as stream_in:
                    archive.addfile(info, stream_in)
            except FileNotFoundError:
                continue  # removed meanwhile (an administrator deleted the logo)
            files, size = files + 1, size + info.size
    return files, size


def _check_free_name(out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise BackupError(
            f"{out} already exists; choose a new file name (backups never overwrite)."
        )
    if not out.parent.resolve().is_dir():
        raise BackupError(f"{out.parent} is not a directory; create it first.")


def _check_destination(backed_up: Path, what: str, out: Path) -> None:
    parent = out.parent.resolve()
    if parent == backed_up or backed_up in parent.parents:
        raise BackupError(
            f"{out} is inside {what} {backed_up}; write backups elsewhere (a backup inside "
            "what it backs up grows with every run and goes wherever the data dir goes)."
        )


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


def _add_tree(archive: tarfile.TarFile, tree: _Tree) -> tuple[int, int]:
    """Add a tree's directories and regular files; the number of files and their bytes.

    The server keeps running, so a listed file can vanish before it is read: the store renames
    a pending ciphertext to its final name after the row commits, and staff delete files. Such
    a directory is listed again and what appeared in it is added, so a file whose row is in the
    snapshot is never missed because it changed its name meanwhile.
    """
    if tree.arcname:
        try:
            archive.add(tree.root, arcname=tree.arcname, recursive=False)
        except FileNotFoundError:
            return 0, 0  # no store yet: nothing was ever received
    added: set[Path] = set()
    files, size = 0, 0
    directories: list[Path] = []
    for directory in _directories(tree):
        try:
            archive.add(directory, arcname=tree.name_of(directory), recursive=False)
        except FileNotFoundError:
            continue  # a source directory deleted meanwhile
        directories.append(directory)
    to_list = [tree.root, *directories]
    for _attempt in range(RESCANS):
        vanished: set[Path] = set()
        for directory in to_list:
            for path in _regular_files(directory, tree):
                if path in added:
                    continue
                try:
                    info = archive.gettarinfo(path, arcname=tree.name_of(path))
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


def _directories(tree: _Tree) -> list[Path]:
    """Every directory under the tree's root that is backed up, parents first."""
    found: list[Path] = []
    for root, dirs, _files in os.walk(tree.root):
        here = Path(root)
        if here == tree.root:
            dirs[:] = [d for d in dirs if d not in tree.skipped]
        else:
            found.append(here)
            if here.parent == tree.root and here.name in tree.emptied:
                dirs[:] = []
        dirs.sort()
    return found


def _regular_files(directory: Path, tree: _Tree) -> list[Path]:
    """The regular files directly in ``directory`` that belong in a backup, sorted."""
    if directory.parent == tree.root and directory.name in tree.emptied:
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
        and not (directory == tree.root and entry.name in tree.skipped)
    ]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
