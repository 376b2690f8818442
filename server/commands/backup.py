"""`skrynka backup --out FILE`: a consistent backup of a (possibly running) instance."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.settings import load_settings
from server.backup import write_backup

DataDirOf = Callable[[argparse.Namespace], Path]


def register_backup_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backup",
        help="write a consistent backup (database snapshot and data dir) to a tar file",
        description="Write a backup of the instance to a new tar file outside the data "
        "directory, while the server runs if need be. The file holds the instance's secrets "
        "and onion keys: encrypt it before it leaves this machine (docs/operations.md).",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="the new backup file (.tar)"
    )
    parser.set_defaults(func=lambda args: run_backup(data_dir_of(args), args.out))
    return parser


def run_backup(data_dir: Path, out: Path) -> int:
    settings = load_settings(data_dir=data_dir)
    summary = write_backup(settings, out)
    print(f"Wrote {summary.path}: {summary.files} files, {summary.bytes} bytes.")
    if not summary.database_included:
        print(
            "The database is not SQLite and is NOT in this file: dump it too, "
            "e.g. `pg_dump --format=custom --file=skrynka.dump DBNAME`."
        )
    print("It holds the server's secrets: encrypt it before it leaves this machine.")
    return 0
