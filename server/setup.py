"""Creating a new instance: the data-dir layout, secrets, the submission key and the schema.

Either the whole instance is created or nothing is left behind: a bad key or an unreachable
database must not leave a half-made data dir that a later `skrynka serve` would trip over.
"""

import json
import os
import secrets
import shutil
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.db import make_engine, upgrade_database
from core.errors import DatabaseError, SettingsError
from core.models import InstanceConfig
from core.settings import (
    DATABASE_URL_FILE,
    INSTANCE_FILE,
    INSTANCE_FORMAT,
    INSTANCE_FORMAT_VERSION,
    WORKSTATION_KEY_FILE,
    Settings,
    load_settings,
)
from crypto.errors import CryptoError
from crypto.signing import generate_signing_seed
from crypto.submission_key import import_submission_key
from server.backup_key import FINGERPRINT_FIELD, backup_key_home, import_backup_key
from server.errors import SetupError

ORGANIZATION_NAME_MAX = 64


def init_instance(
    data_dir: Path,
    submission_public_key: str,
    *,
    dev_mode: bool = False,
    organization_name: str = "Skrynka",
    instance_settings: Mapping[str, str | int] | None = None,
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    workstation_key: bytes | None = None,
    backup_public_key: str | None = None,
) -> Settings:
    """Create a new instance in ``data_dir`` (absent or empty) and return its settings.

    ``instance_settings`` are written to instance.json (e.g. ``{"kdf": "testing"}`` for a dev
    instance); ``env`` (default ``os.environ``) supplies SKRYNKA_* variables such as
    SKRYNKA_DATABASE_URL. ``database_url`` is written to the 0600 file DATA_DIR/database.url
    (the environment still overrides it); ``workstation_key`` (32 raw bytes) is pinned as the
    key that signs acknowledgements. ``backup_public_key`` is the administrator's armored
    public key that `skrynka backup` encrypts to (server.backup_key).
    """
    data_dir = Path(data_dir).expanduser().absolute()
    organization_name = _check_organization_name(organization_name)
    created_dir = not data_dir.exists()
    if not created_dir:
        if not data_dir.is_dir():
            raise SetupError(f"{data_dir} exists and is not a directory; choose another path.")
        if any(data_dir.iterdir()):
            raise SetupError(
                f"{data_dir} is not empty; `skrynka init` only creates new instances. Choose an "
                "empty or new directory (an existing instance is checked with `skrynka check`)."
            )
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        settings = _populate(
            data_dir,
            submission_public_key,
            dev_mode=dev_mode,
            organization_name=organization_name,
            instance_settings=dict(instance_settings or {}),
            env=os.environ if env is None else env,
            database_url=database_url,
            workstation_key=workstation_key,
            backup_public_key=backup_public_key,
        )
    except BaseException:
        _undo(data_dir, remove_dir=created_dir)
        raise
    return settings


def _populate(
    data_dir: Path,
    armored_key: str,
    *,
    dev_mode: bool,
    organization_name: str,
    instance_settings: dict[str, str | int],
    env: Mapping[str, str],
    database_url: str | None = None,
    workstation_key: bytes | None = None,
    backup_public_key: str | None = None,
) -> Settings:
    # Validate the settings before writing anything: the instance file must load afterwards.
    document: dict[str, Any] = {
        "format": INSTANCE_FORMAT,
        "version": INSTANCE_FORMAT_VERSION,
        "instance_id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "dev_mode": dev_mode,
        "submission_key_fingerprint": "",
        "settings": instance_settings,
    }
    _write_instance_file(data_dir, document)
    if database_url is not None:
        _write_secret(data_dir / DATABASE_URL_FILE, database_url.strip().encode("utf-8") + b"\n")
    try:
        load_settings(env, data_dir=data_dir)
    except SettingsError as exc:
        raise SetupError(str(exc)) from exc

    for name in ("secrets", "gnupg", "store", "tmp", "onion"):
        (data_dir / name).mkdir(mode=0o700)
    _write_secret(data_dir / "secrets" / "session.key", secrets.token_bytes(32))
    _write_secret(data_dir / "secrets" / "codename.salt", secrets.token_bytes(16))
    _write_secret(data_dir / "secrets" / "signing.key", generate_signing_seed())
    if workstation_key is not None:
        _write_secret(data_dir / WORKSTATION_KEY_FILE, workstation_key)

    try:
        fingerprint = import_submission_key(data_dir / "gnupg", armored_key)
    except CryptoError as exc:
        raise SetupError(f"The submission key was refused: {exc}") from exc
    document["submission_key_fingerprint"] = fingerprint
    if backup_public_key is not None:
        document[FINGERPRINT_FIELD] = import_backup_key(
            backup_key_home(data_dir), backup_public_key
        )
    _write_instance_file(data_dir, document)
    settings = load_settings(env, data_dir=data_dir)

    try:
        upgrade_database(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            with Session(engine) as session, session.begin():
                if session.get(InstanceConfig, 1) is not None:
                    raise SetupError(
                        "The database already holds an instance; point SKRYNKA_DATABASE_URL at "
                        "a new, empty database."
                    )
                session.add(InstanceConfig(id=1, organization_name=organization_name))
        finally:
            engine.dispose()
    except DatabaseError as exc:
        raise SetupError(str(exc)) from exc
    return settings


def _check_organization_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= ORGANIZATION_NAME_MAX or not name.isprintable():
        raise SetupError(
            f"The organisation name must be 1 to {ORGANIZATION_NAME_MAX} printable characters."
        )
    return name


def _write_instance_file(data_dir: Path, document: Mapping[str, Any]) -> None:
    path = data_dir / INSTANCE_FILE
    temp = path.with_suffix(".json.new")
    temp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, path)


def _write_secret(path: Path, value: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, value)
        os.fsync(fd)
    finally:
        os.close(fd)


def _undo(data_dir: Path, *, remove_dir: bool) -> None:
    """Remove what a failed init created (the directory itself only if init made it)."""
    if remove_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for entry in list(data_dir.iterdir()) if data_dir.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
