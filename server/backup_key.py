"""The administrator's backup key: the OpenPGP public key every backup is encrypted to.

`skrynka init --backup-key FILE.asc` (or `skrynka backup --backup-key FILE.asc` for one run)
gives the public half of a key whose secret half the administrator keeps off the server. It is
checked like the submission key (public only, strong, able to encrypt), imported into a keyring
of its own, ``DATA_DIR/backup-key/``, so that it can never be mistaken for the submission key,
and its fingerprint is written to instance.json (``backup_key_fingerprint``).

A key that fails a check raises :class:`BackupKeyError` and nothing is changed.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.settings import INSTANCE_FILE, Settings
from crypto.errors import CryptoError
from crypto.submission_key import check_submission_key, import_submission_key
from crypto.types import Fingerprint
from server.errors import BackupKeyError

BACKUP_KEY_DIR = "backup-key"
FINGERPRINT_FIELD = "backup_key_fingerprint"


@dataclass(frozen=True)
class BackupRecipient:
    """Where a backup's recipient key is: a keyring and the key's fingerprint in it."""

    gnupg_home: Path
    fingerprint: Fingerprint


def backup_key_home(data_dir: Path) -> Path:
    return data_dir / BACKUP_KEY_DIR


def import_backup_key(gnupg_home: Path, armored: str) -> Fingerprint:
    """Check ``armored`` and import it into ``gnupg_home``; the key's fingerprint."""
    try:
        return import_submission_key(gnupg_home, armored)
    except CryptoError as exc:
        raise BackupKeyError(str(exc).replace("submission key", "backup key")) from exc


def remember_backup_key(data_dir: Path, armored: str) -> Fingerprint:
    """Import the backup key into the instance and record its fingerprint in instance.json."""
    fingerprint = import_backup_key(backup_key_home(data_dir), armored)
    path = data_dir / INSTANCE_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    document[FINGERPRINT_FIELD] = fingerprint
    temp = path.with_suffix(".json.new")
    temp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return fingerprint


def configured_recipient(settings: Settings) -> BackupRecipient | None:
    """The backup key given at `init`, checked to be usable still; None if none was given."""
    if not settings.backup_key_fingerprint:
        return None
    recipient = BackupRecipient(
        backup_key_home(settings.data_dir), Fingerprint(settings.backup_key_fingerprint)
    )
    try:
        check_submission_key(recipient.gnupg_home, recipient.fingerprint)
    except CryptoError as exc:
        raise BackupKeyError(
            f"The backup key {recipient.fingerprint} in {recipient.gnupg_home} cannot be used "
            f"({exc}); give a new one with --backup-key FILE.asc."
        ) from exc
    return recipient
