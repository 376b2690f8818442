"""Restoring a backup (server.backup) into an empty data directory.

The flow: refuse a target that exists and is not an empty directory; create it (0700); if the
backup is an OpenPGP message, decrypt it with the administrator's keyring into a private file
inside the new data directory (it holds the same secrets the restored instance will hold); then
extract members one by one, accepting only directories and regular files whose names stay
inside the target, with private modes; the database snapshot becomes ``db.sqlite``. Last, the
restored instance.json must load.

On any failure, everything the restore wrote is removed again (the directory too if the
restore created it) and RestoreError says what to do: a half-restored instance never remains
for `skrynka serve` to start on.
"""

import contextlib
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import SettingsError
from core.settings import load_settings
from crypto.decryption import decrypt_to
from crypto.errors import CryptoError
from server.backup import DATABASE_MEMBER
from server.errors import RestoreError

#: Where ustar and PAX archives carry their magic; an OpenPGP message never has it there.
_TAR_MAGIC_OFFSET = 257
_TAR_MAGIC = b"ustar"
_DECRYPTED_NAME = ".restore.tar"


@dataclass(frozen=True)
class RestoreSummary:
    data_dir: Path
    files: int
    was_encrypted: bool
    database_restored: bool


def restore_backup(archive: Path, data_dir: Path, gnupg_home: Path | None) -> RestoreSummary:
    """Restore ``archive`` into ``data_dir`` (absent or empty).

    ``gnupg_home`` holds the administrator's secret backup key; it is needed only when the
    archive is encrypted.
    """
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
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        tar_path = archive
        if encrypted:
            assert gnupg_home is not None
            tar_path = data_dir / _DECRYPTED_NAME
            _decrypt(archive, tar_path, gnupg_home)
        try:
            files, database_restored = _extract(tar_path, data_dir)
        finally:
            if encrypted:
                tar_path.unlink(missing_ok=True)
        try:
            load_settings(data_dir=data_dir)
        except SettingsError as exc:
            raise RestoreError(f"The restored instance does not load: {exc}") from exc
    except BaseException:
        _undo(data_dir, remove_dir=created)
        raise
    return RestoreSummary(data_dir, files, encrypted, database_restored)


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


def _extract(tar_path: Path, data_dir: Path) -> tuple[int, bool]:
    files = 0
    database = False
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
                    database = database or member.name == DATABASE_MEMBER
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
