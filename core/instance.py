"""The running instance: everything an app factory needs, checked before anything is served.

`check_instance` collects every problem in plain words (`skrynka check` prints them);
`open_instance` refuses to start while there is any, so a server that would be unsafe (a secret
submission key in its keyring, an expired or weak key) or broken (schema behind the code) never
answers a source.
"""

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.db import current_revision, head_revision, make_engine, make_session_factory
from core.errors import DatabaseError, InstanceError
from core.models import InstanceConfig, Reply, Source, Submission
from core.settings import Settings
from core.shared_dir import check_shared_dir, claim_shared_dir
from core.store import CiphertextStore, ReconcileResult
from crypto.errors import (
    CryptoError,
    SecretKeyPresent,
    SubmissionKeyExpired,
    SubmissionKeyMissing,
    SubmissionKeyRevoked,
    WeakSubmissionKey,
)
from crypto.signing import Signer
from crypto.submission_key import check_submission_key
from crypto.types import Fingerprint

SESSION_KEY_BYTES = 32
CODENAME_SALT_BYTES = 16
SIGNING_SEED_BYTES = 32
# File systems whose contents vanish at power-off: where unwrapped reply keys may live.
RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


@dataclass(frozen=True)
class Instance:
    """What an app factory receives. Secrets are kept out of repr so they never reach a log."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: CiphertextStore
    submission_fingerprint: Fingerprint
    signer: Signer = field(repr=False)
    session_key: bytes = field(repr=False)
    codename_salt: bytes = field(repr=False)
    # How many abandoned temp files open_instance removed (uploads cut off by a crash).
    cleaned_temp_files: int = 0
    # What open_instance did with store files a crash left pending (store.reconcile).
    reconciled: ReconcileResult = field(default_factory=ReconcileResult)

    def close(self) -> None:
        """Release the database connections and this process's temp dir."""
        self.store.close()
        self.engine.dispose()


def open_instance(settings: Settings) -> Instance:
    """Check the instance and open it; raise one InstanceError naming everything to fix."""
    problems = check_instance(settings)
    if problems:
        raise InstanceError(problems)
    claim_shared_dir(settings)
    engine = make_engine(settings.database_url)
    store = CiphertextStore(settings.store_dir, settings.tmp_dir)
    sessions = make_session_factory(engine)
    # Before clean_temp: a dead process's temp dir is how reconcile knows its owner is dead,
    # and either order is safe because a missing temp dir also means a dead owner.
    reconciled = store.reconcile(lambda fsid, name: committed_digest(sessions, fsid, name))
    cleaned = store.clean_temp()
    return Instance(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        submission_fingerprint=Fingerprint(settings.submission_key_fingerprint),
        signer=Signer(_read_secret(settings.signing_key_path)),
        session_key=_read_secret(settings.session_key_path),
        codename_salt=_read_secret(settings.codename_salt_path),
        cleaned_temp_files=cleaned,
        reconciled=reconciled,
    )


def committed_digest(
    sessions: sessionmaker[Session], filesystem_id: str, filename: str
) -> str | None:
    """The ciphertext SHA-256 a committed row expects for one store file, or None if no row."""
    with sessions() as db:
        for query in (
            select(Submission.sha256)
            .join(Source, Submission.source_id == Source.id)
            .where(Source.filesystem_id == filesystem_id, Submission.filename == filename),
            select(Submission.receipt_sha256)
            .join(Source, Submission.source_id == Source.id)
            .where(Source.filesystem_id == filesystem_id, Submission.receipt_filename == filename),
            select(Reply.sha256)
            .join(Source, Reply.source_id == Source.id)
            .where(Source.filesystem_id == filesystem_id, Reply.filename == filename),
        ):
            digest = db.scalar(query)
            if digest is not None:
                return str(digest)
    return None


def check_instance(settings: Settings) -> list[str]:
    """Every problem that keeps this instance from serving safely, in plain words."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        return [f"The data directory {data_dir} does not exist; create it with `skrynka init`."]
    if not settings.instance_file.is_file() or not settings.instance_id:
        return [
            f"{data_dir} is not a Skrynka data directory (no instance.json); "
            "create one with `skrynka init`."
        ]
    problems: list[str] = []
    problems += _check_private_dirs(settings)
    problems += _check_secrets(settings)
    problems += _check_submission_key(settings)
    problems += _check_ram_dir(settings)
    problems += _check_database(settings)
    problems += check_shared_dir(settings)
    return problems


def _check_private_dirs(settings: Settings) -> list[str]:
    problems = []
    for path in (
        settings.data_dir,
        settings.secrets_dir,
        settings.gnupg_home,
        settings.store_dir,
        settings.tmp_dir,
    ):
        try:
            info = path.lstat()
        except FileNotFoundError:
            problems.append(f"{path} is missing; restore it from backup or re-run `skrynka init`.")
            continue
        if not stat.S_ISDIR(info.st_mode):
            problems.append(f"{path} must be a directory (not a link or a file).")
        elif info.st_mode & 0o077:
            problems.append(
                f"{path} is readable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"run `chmod 700 {path}`."
            )
        elif info.st_uid != os.geteuid():
            problems.append(
                f"{path} belongs to another user; run Skrynka as the user that owns the data dir."
            )
    return problems


def _check_secrets(settings: Settings) -> list[str]:
    problems = []
    for path, size in (
        (settings.session_key_path, SESSION_KEY_BYTES),
        (settings.codename_salt_path, CODENAME_SALT_BYTES),
        (settings.signing_key_path, SIGNING_SEED_BYTES),
    ):
        try:
            info = path.lstat()
        except FileNotFoundError:
            problems.append(
                f"{path} is missing; restore it from backup (without it, existing sources "
                "and sessions cannot be recognised)."
            )
            continue
        if not stat.S_ISREG(info.st_mode):
            problems.append(f"{path} must be a regular file (not a link).")
        elif info.st_size != size:
            problems.append(
                f"{path} must hold exactly {size} bytes, not {info.st_size}; "
                "restore it from backup."
            )
        elif info.st_mode & 0o077:
            problems.append(
                f"{path} is readable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"run `chmod 600 {path}`."
            )
    return problems


def _check_submission_key(settings: Settings) -> list[str]:
    fingerprint = Fingerprint(settings.submission_key_fingerprint)
    if not fingerprint:
        return [
            f"{settings.instance_file} names no submission key; re-create the instance with "
            "`skrynka init --submission-key FILE`."
        ]
    try:
        check_submission_key(settings.gnupg_home, fingerprint)
    except SecretKeyPresent:
        return [
            f"The keyring {settings.gnupg_home} holds a SECRET key: this server could decrypt "
            "submissions. Remove it (`gpg --homedir DIR --delete-secret-keys FINGERPRINT`), "
            "move it to the air-gapped workstation, and consider the key exposed."
        ]
    except SubmissionKeyExpired:
        return [
            f"The submission key {fingerprint} has expired; extend its expiry on the "
            "workstation, then import the refreshed public key."
        ]
    except SubmissionKeyRevoked:
        return [
            f"The submission key {fingerprint} is revoked; create a new submission key on the "
            "workstation and set up a new instance with it."
        ]
    except WeakSubmissionKey as exc:
        return [
            f"The submission key {fingerprint} is too weak ({exc}); create a stronger key "
            "(e.g. Curve25519 or RSA 4096) on the workstation."
        ]
    except SubmissionKeyMissing as exc:
        return [str(exc)]
    except CryptoError as exc:
        return [f"The submission key cannot be checked: {exc}"]
    return []


def _check_ram_dir(settings: Settings) -> list[str]:
    ram_dir = settings.ram_dir
    if not ram_dir.is_dir() or not os.access(ram_dir, os.W_OK | os.X_OK):
        return [
            f"{ram_dir} (SKRYNKA_RAM_DIR) must be an existing directory this user can write; "
            "it holds unwrapped reply keys for a moment."
        ]
    fs_type = filesystem_type(ram_dir)
    if fs_type is not None and fs_type not in RAM_FILESYSTEMS:
        return [
            f"{ram_dir} (SKRYNKA_RAM_DIR) is on a {fs_type} file system, not in RAM; point it "
            "at a tmpfs such as /dev/shm so unwrapped keys never reach a disk."
        ]
    return []


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding ``path`` (from /proc/self/mounts), if known."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8")
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = "", None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def _check_database(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
        head = head_revision()
        if revision is None:
            return ["The database is empty; create the instance with `skrynka init`."]
        if revision != head:
            return [
                f"The database schema is at revision {revision} but this version of Skrynka "
                f"needs {head}; back up the data dir, then run `skrynka migrate`."
            ]
        with Session(engine) as session:
            if session.scalar(select(InstanceConfig).limit(1)) is None:
                return [
                    "The database has no instance configuration row; re-run `skrynka init` on "
                    "an empty data dir and restore from backup."
                ]
    except DatabaseError as exc:
        return [str(exc)]
    except SQLAlchemyError as exc:
        return [f"The database cannot be read ({type(exc).__name__}); check SKRYNKA_DATABASE_URL."]
    finally:
        engine.dispose()
    return []


def _read_secret(path: Path) -> bytes:
    return path.read_bytes()
