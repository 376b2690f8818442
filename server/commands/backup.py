"""`skrynka backup` and `skrynka restore`: encrypted backups of a (possibly running) instance.

`backup` encrypts to the administrator's backup key given at `init` (or with --backup-key for
one run); without a key it refuses, unless --plaintext asks for a clear archive, which it warns
about. The archive holds the database (a SQLite snapshot or a PostgreSQL dump) and the store,
also when the store lies in a shared directory; the report names both. `restore` writes a
backup into a new or empty data directory, an empty PostgreSQL database for a PostgreSQL
backup, and the store where the restored settings keep it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.settings import DATABASE_URL_FILE, Settings, load_settings
from server.backup import POSTGRESQL, BackupSummary, write_backup
from server.backup_key import BackupRecipient, configured_recipient, import_backup_key
from server.errors import BackupKeyError
from server.restore import restore_backup

DataDirOf = Callable[[argparse.Namespace], Path]


def register_backup_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backup",
        help="write an encrypted backup (database, data dir and store)",
        description="Write a backup of the instance (the database, SQLite or PostgreSQL via "
        "pg_dump, the data directory and the store, shared or not) to a new file outside the "
        "data directory, while the server runs if need be. It is encrypted to the "
        "administrator's backup key "
        "(given at `skrynka init --backup-key`, or here with --backup-key); the file holds the "
        "instance's secrets and onion keys (docs/operations.md).",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the new backup file (.tar.gpg)"
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--backup-key",
        type=Path,
        metavar="FILE.asc",
        help="encrypt to this armored PUBLIC key instead of the one given at init",
    )
    choice.add_argument(
        "--plaintext",
        action="store_true",
        help="write an UNENCRYPTED tar (it holds the server's secrets: keep it off the network)",
    )
    parser.set_defaults(
        func=lambda args: run_backup(
            data_dir_of(args), args.out, backup_key=args.backup_key, plaintext=args.plaintext
        )
    )
    restore = subparsers.add_parser(
        "restore",
        help="restore a backup into a new or empty data directory",
        description="Restore a backup written by `skrynka backup` into a new or empty data "
        "directory (a non-empty one is refused). An encrypted backup is decrypted with the "
        "keyring that holds the backup key's secret half. A PostgreSQL backup goes into the "
        "empty database named by SKRYNKA_DATABASE_URL (or the backup's own settings), with "
        "pg_restore; the store goes where the restored settings keep it (shared_dir).",
    )
    restore.add_argument(
        "--from", dest="archive", type=Path, required=True, metavar="FILE", help="the backup"
    )
    restore.add_argument(
        "--gnupg-home",
        type=Path,
        default=None,
        metavar="DIR",
        help="keyring with the backup key's secret half (default: $GNUPGHOME, then ~/.gnupg)",
    )
    restore.set_defaults(
        func=lambda args: run_restore(data_dir_of(args), args.archive, args.gnupg_home)
    )
    return parser


def run_backup(
    data_dir: Path, out: Path, *, backup_key: Path | None = None, plaintext: bool = False
) -> int:
    settings = load_settings(data_dir=data_dir)
    if plaintext:
        print(
            "WARNING: writing an UNENCRYPTED backup. It holds the server's secrets and onion "
            "keys: whoever reads it can impersonate this server.",
            file=sys.stderr,
        )
        return _report(write_backup(settings, out))
    if backup_key is not None:
        with tempfile.TemporaryDirectory(prefix="skrynka-backup-key-") as home:
            recipient = BackupRecipient(
                Path(home), import_backup_key(Path(home), _read(backup_key))
            )
            return _report(write_backup(settings, out, recipient))
    return _report(write_backup(settings, out, _configured(settings)))


def run_restore(data_dir: Path, archive: Path, gnupg_home: Path | None) -> int:
    if gnupg_home is None:
        gnupg_home = Path(os.environ.get("GNUPGHOME") or Path.home() / ".gnupg")
    summary = restore_backup(archive, data_dir, gnupg_home)
    print(
        f"Restored {summary.files} files into {summary.data_dir}"
        f"{' (decrypted)' if summary.was_encrypted else ''}; the store is in "
        f"{summary.store_dir}."
    )
    if summary.database == POSTGRESQL:
        print("The PostgreSQL database was restored with pg_restore.")
    if summary.database_url_recorded:
        print(
            f"Its URL (from SKRYNKA_DATABASE_URL) is now in {summary.data_dir / DATABASE_URL_FILE}."
        )
    if not summary.database_restored:
        print(
            "The backup holds no database (an archive of a PostgreSQL instance made before "
            "backups held the dump): restore your separate dump with pg_restore, then run "
            "`skrynka check`."
        )
    print(f"Next: skrynka check --data-dir {summary.data_dir}, then skrynka serve.")
    return 0


def _configured(settings: Settings) -> BackupRecipient:
    recipient = configured_recipient(settings)
    if recipient is None:
        raise BackupKeyError(
            "This instance has no backup key. Give the administrator's public key with "
            "--backup-key FILE.asc (export it with `gpg --armor --export FINGERPRINT`), or, "
            "knowing the risk, write a clear archive with --plaintext."
        )
    return recipient


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupKeyError(
            f"Cannot read the backup key file {path} ({getattr(exc, 'strerror', None) or exc}); "
            "give the armored public key exported with `gpg --armor --export FINGERPRINT`."
        ) from exc


def _report(summary: BackupSummary) -> int:
    how = f"encrypted to {summary.encrypted_to}" if summary.encrypted_to else "NOT encrypted"
    database = "a PostgreSQL dump" if summary.database == POSTGRESQL else "a SQLite snapshot"
    print(
        f"Wrote {summary.path}: {summary.files} files, {summary.bytes} bytes, {how}. It holds "
        f"{database} of the database and the store from {summary.store_dir}."
    )
    if not summary.encrypted_to:
        print("It holds the server's secrets: encrypt it before it leaves this machine.")
    return 0
