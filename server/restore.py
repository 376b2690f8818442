"""Restoring a backup (server.backup) into an empty data directory, store and database.

The flow: refuse a target that exists and is not an empty directory; create it (0700); if the
backup is an OpenPGP message, decrypt it with the administrator's keyring into a private file
inside the new data directory (it holds the same secrets the restored instance will hold); then
extract members one by one, accepting only directories and regular files whose names stay
inside the target, with private modes; a SQLite snapshot becomes ``db.sqlite``. Then the
restored instance's settings must load, the way every command loads them: instance.json and
database.url from the backup, with SKRYNKA_* variables over them. They say where the database
and the store go:

- the database engine must be the backup's (a SQLite snapshot is not poured into PostgreSQL
  or back); a PostgreSQL dump goes into the database the settings name, which must be empty,
  with ``pg_restore --single-transaction`` (server.database_dump). A URL given in
  SKRYNKA_DATABASE_URL for such a restore is written into the restored DATA_DIR/database.url
  (0600), so the restored instance keeps using the database its rows were restored into;
- ``store/`` and ``logo.png`` move to the instance's store_dir and logo path when those lie in
  a shared directory (several app servers), which must exist and hold no store or logo yet.

On any failure, everything the restore wrote is removed again (the directory too if the
restore created it, a store it moved into the shared directory, and the database dump, which
pg_restore either commits whole or not at all) and RestoreError says what to do: a
half-restored instance never remains for `skrynka serve` to start on.
"""

import contextlib
import os
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from core.errors import SettingsError
from core.settings import DATABASE_URL_FILE, Settings, env_name, load_settings
from crypto.decryption import decrypt_to
from crypto.errors import CryptoError
from server.backup import (
    LOGO_MEMBER,
    POSTGRESQL,
    POSTGRESQL_MEMBER,
    SQLITE,
    SQLITE_MEMBER,
    STORE_MEMBER,
)
from server.database_dump import check_database_empty, restore_dump
from server.errors import DumpError, RestoreError

#: Where ustar and PAX archives carry their magic; an OpenPGP message never has it there.
_TAR_MAGIC_OFFSET = 257
_TAR_MAGIC = b"ustar"
_DECRYPTED_NAME = ".restore.tar"
_DATABASE_MEMBERS = {SQLITE_MEMBER: SQLITE, POSTGRESQL_MEMBER: POSTGRESQL}


@dataclass(frozen=True)
class RestoreSummary:
    data_dir: Path
    files: int
    was_encrypted: bool
    # "sqlite" or "postgresql"; "" for an archive written before backups held PostgreSQL.
    database: str
    store_dir: Path
    # The database URL given in SKRYNKA_DATABASE_URL was written into DATA_DIR/database.url.
    database_url_recorded: bool = False

    @property
    def database_restored(self) -> bool:
        return bool(self.database)


@dataclass
class _PlacedStore:
    """What was moved into the shared directory, and how to take it out again."""

    store_dir: Path
    existed: bool
    tmp_dir: Path | None
    logo: Path | None = None

    def undo(self) -> None:
        shutil.rmtree(self.store_dir, ignore_errors=True)
        if self.existed:
            self.store_dir.mkdir(mode=0o700, exist_ok=True)
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if self.logo is not None:
            self.logo.unlink(missing_ok=True)


def restore_backup(
    archive: Path,
    data_dir: Path,
    gnupg_home: Path | None,
    env: Mapping[str, str] | None = None,
) -> RestoreSummary:
    """Restore ``archive`` into ``data_dir`` (absent or empty) and the database it names.

    ``gnupg_home`` holds the administrator's secret backup key; it is needed only when the
    archive is encrypted. ``env`` (default ``os.environ``) may override the restored settings
    (SKRYNKA_DATABASE_URL, SKRYNKA_SHARED_DIR), as for every command.
    """
    environment: Mapping[str, str] = os.environ if env is None else env
    archive = Path(archive).expanduser().absolute()
    data_dir = Path(data_dir).expanduser().absolute()
    _check_target(data_dir)
    encrypted = _is_encrypted(archive)
    if encrypted and gnupg_home is None:
        raise RestoreError(
            f"{archive} is encrypted; give the keyring that holds the backup key's secret half "
            "with --gnupg-home DIR (or set GNUPGHOME)."
        )
    created = not data_dir.exists()
    placed: _PlacedStore | None = None
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        tar_path = archive
        if encrypted:
            assert gnupg_home is not None
            tar_path = data_dir / _DECRYPTED_NAME
            _decrypt(archive, tar_path, gnupg_home)
        try:
            files, database = _extract(tar_path, data_dir)
        finally:
            if encrypted:
                tar_path.unlink(missing_ok=True)
        try:
            settings = load_settings(environment, data_dir=data_dir)
        except SettingsError as exc:
            raise RestoreError(f"The restored instance does not load: {exc}") from exc
        _check_engine(archive, database, settings)
        _check_store_target(settings)
        if database == POSTGRESQL:
            _check_empty_database(settings.database_url)
        placed = _place_store(settings)
        # Only a dump is poured into the database a URL names; a SQLite snapshot is the data
        # dir's own db.sqlite, whatever the variable says.
        recorded = database == POSTGRESQL and _record_database_url(data_dir, environment)
        if database == POSTGRESQL:
            try:
                restore_dump(settings.database_url, data_dir / POSTGRESQL_MEMBER)
            except DumpError as exc:
                raise RestoreError(f"The database could not be restored: {exc}") from exc
            (data_dir / POSTGRESQL_MEMBER).unlink()
    except BaseException:
        if placed is not None:
            placed.undo()
        _undo(data_dir, remove_dir=created)
        raise
    return RestoreSummary(data_dir, files, encrypted, database, settings.store_dir, recorded)


def _check_engine(archive: Path, database: str, settings: Settings) -> None:
    """Refuse to pour one engine's copy into the other: that is a migration, not a restore."""
    if database == POSTGRESQL and settings.uses_sqlite:
        raise RestoreError(
            f"{archive} holds a PostgreSQL database, but the restored instance's database is "
            f"SQLite ({settings.database_url}). Create an empty PostgreSQL database and give its "
            f"URL in {env_name('database_url')} for the restore; a backup is not converted from "
            "one database engine to another."
        )
    if database == SQLITE and not settings.uses_sqlite:
        safe = make_url(settings.database_url).render_as_string(hide_password=True)
        raise RestoreError(
            f"{archive} holds a SQLite database, but the restored instance's database is "
            f"{safe} ({env_name('database_url')} or the backup's database.url). Restore it "
            f"without {env_name('database_url')}, into SQLite; a backup is not converted from "
            "one database engine to another."
        )


def _check_empty_database(database_url: str) -> None:
    try:
        check_database_empty(database_url)
    except DumpError as exc:
        raise RestoreError(str(exc)) from exc


def _moves_store(settings: Settings) -> bool:
    """Whether the instance keeps its store outside the data dir (a shared directory)."""
    extracted = settings.data_dir / STORE_MEMBER
    return settings.shared_dir is not None and settings.store_dir.absolute() != extracted


def _check_store_target(settings: Settings) -> None:
    """Refuse a shared directory that is missing or already holds a store or a logo."""
    if not _moves_store(settings):
        return
    assert settings.shared_dir is not None
    if not settings.shared_dir.is_dir():
        raise RestoreError(
            f"The shared directory {settings.shared_dir} ({env_name('shared_dir')} or the "
            "backup's instance.json) does not exist: mount the shared file system there, or "
            "create it (mode 0700), then restore again."
        )
    store_dir = settings.store_dir
    empty_dir = store_dir.is_dir() and not store_dir.is_symlink() and not any(store_dir.iterdir())
    if (store_dir.exists() or store_dir.is_symlink()) and not empty_dir:
        raise RestoreError(
            f"{store_dir} already holds a store; restore only into a shared directory without "
            "one, so that no other instance's ciphertexts are mixed in or overwritten."
        )
    logo = settings.logo_path
    if (settings.data_dir / LOGO_MEMBER).is_file() and (logo.exists() or logo.is_symlink()):
        raise RestoreError(
            f"{logo} already exists; restore only into a shared directory without one, so "
            "that no other instance's logo is overwritten."
        )


def _place_store(settings: Settings) -> _PlacedStore | None:
    """Move the restored store/ to the instance's store_dir if that is a shared directory."""
    if not _moves_store(settings):
        for directory in (settings.store_dir, settings.tmp_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
        return None
    extracted = settings.data_dir / STORE_MEMBER
    store_dir = settings.store_dir.absolute()
    existed = store_dir.is_dir()
    tmp_dir = None if settings.tmp_dir.exists() else settings.tmp_dir
    placed = _PlacedStore(store_dir, existed, tmp_dir)
    try:
        if existed:
            store_dir.rmdir()
        if extracted.is_dir():
            # A rename when the shared directory is on the same file system, else a copy.
            shutil.move(extracted, store_dir)
        else:
            store_dir.mkdir(mode=0o700)
        os.chmod(store_dir, 0o700)
        settings.tmp_dir.mkdir(mode=0o700, exist_ok=True)
        extracted_logo = settings.data_dir / LOGO_MEMBER
        if extracted_logo.is_file():
            placed.logo = settings.logo_path
            shutil.move(extracted_logo, settings.logo_path)
    except OSError as exc:
        placed.undo()
        raise RestoreError(
            f"The store could not be written into {store_dir} ({exc.strerror or exc}); check "
            "free space and permissions of the shared directory."
        ) from exc
    return placed


def _record_database_url(data_dir: Path, environment: Mapping[str, str]) -> bool:
    """Write SKRYNKA_DATABASE_URL, if given, into the restored DATA_DIR/database.url (0600)."""
    url = environment.get(env_name("database_url"), "").strip()
    if not url:
        return False
    path = data_dir / DATABASE_URL_FILE
    temporary = path.with_name(f".{DATABASE_URL_FILE}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, url.encode("utf-8") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        raise RestoreError(
            f"{path} could not be written ({exc.strerror or exc}); check free space."
        ) from exc
    return True


def _check_target(data_dir: Path) -> None:
    if data_dir.is_symlink() or (data_dir.exists() and not data_dir.is_dir()):
        raise RestoreError(f"{data_dir} exists and is not a directory; choose another path.")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RestoreError(
            f"{data_dir} is not empty; restore only into a new or empty directory, so that "
            "nothing of another instance is mixed in or overwritten."
        )


def _is_encrypted(archive: Path) -> bool:
    try:
        with archive.open("rb") as stream:
            head = stream.read(_TAR_MAGIC_OFFSET + len(_TAR_MAGIC))
    except OSError as exc:
        raise RestoreError(f"Cannot read {archive} ({exc.strerror or exc}).") from exc
    return head[_TAR_MAGIC_OFFSET:] != _TAR_MAGIC


def _decrypt(archive: Path, out: Path, gnupg_home: Path) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            decrypt_to(gnupg_home, archive, stream)
            stream.flush()
            os.fsync(stream.fileno())
    except CryptoError as exc:
        raise RestoreError(
            f"{archive} could not be decrypted ({exc}); is the backup key's secret half in "
            f"{gnupg_home}?"
        ) from exc
    except OSError as exc:
        raise RestoreError(
            f"The backup could not be decrypted into {out.parent} ({exc.strerror or exc}); "
            "check free space."
        ) from exc


def _extract(tar_path: Path, data_dir: Path) -> tuple[int, str]:
    files = 0
    database = ""
    try:
        with tarfile.open(tar_path, "r:") as archive:
            for member in archive:
                if not (member.isfile() or member.isdir()):
                    raise RestoreError(
                        f"The backup holds {member.name!r}, which is neither a file nor a "
                        "directory; it was not written by `skrynka backup`."
                    )
                # The "data" filter refuses absolute names and names that leave the target.
                archive.extract(member, data_dir, filter="data")
                target = data_dir / member.name
                os.chmod(target, 0o700 if member.isdir() else 0o600)
                if member.isfile():
                    files += 1
                    database = database or _DATABASE_MEMBERS.get(member.name, "")
    except tarfile.FilterError as exc:
        raise RestoreError(
            f"The backup holds a name outside the data directory ({exc}); refused."
        ) from exc
    except tarfile.TarError as exc:
        raise RestoreError(
            f"The backup is damaged or not a Skrynka backup ({exc}); try an older one."
        ) from exc
    except OSError as exc:
        raise RestoreError(
            f"The backup could not be written into {data_dir} ({exc.strerror or exc}); check "
            "free space and permissions."
        ) from exc
    return files, database


def _undo(data_dir: Path, *, remove_dir: bool) -> None:
    if remove_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for entry in list(data_dir.iterdir()) if data_dir.is_dir() else []:
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
