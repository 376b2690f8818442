"""`skrynka retention run|status` and `skrynka workstation-key set|show`.

`retention run` deletes every submission the workstation acknowledged at least the retention
period ago (core.retention), with an audit entry each by ``console``; the systemd timer in
deploy/ runs it hourly. `retention status` shows what the server holds that no workstation has
acknowledged. `workstation-key set FILE` pins the workstation's Ed25519 public key (exported with
`skrynka-workstation public-key`), replacing an earlier one with an audit entry; only
acknowledgements signed by that key delete anything.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.acknowledgements import (
    pin_workstation_key,
    read_pinned_workstation_key,
    read_workstation_key_file,
)
from core.audit import AuditLog
from core.audit_actions import AuditAction
from core.instance import open_instance
from core.retention import delete_expired, holdings
from core.settings import load_settings
from crypto.signing import fingerprint_of

DataDirOf = Callable[[argparse.Namespace], Path]
CONSOLE = "console"


def register_retention_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "retention",
        help="delete acknowledged submissions once the retention period has passed",
        description="Delete what the workstation acknowledged, after SKRYNKA_RETENTION_DAYS.",
    )
    commands = parser.add_subparsers(dest="retention_command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="delete what the retention period no longer covers")
    run.set_defaults(func=lambda args: run_retention(data_dir_of(args)))
    status = commands.add_parser("status", help="what the server holds unacknowledged")
    status.set_defaults(func=lambda args: show_status(data_dir_of(args)))

    key = subparsers.add_parser(
        "workstation-key",
        help="the workstation key that signs acknowledgements",
        description="Pin or show the workstation's Ed25519 public key.",
    )
    key_commands = key.add_subparsers(dest="key_command", required=True, metavar="COMMAND")
    set_key = key_commands.add_parser("set", help="pin the key exported on the workstation")
    set_key.add_argument("file", type=Path)
    set_key.set_defaults(func=lambda args: set_workstation_key(data_dir_of(args), args.file))
    show = key_commands.add_parser("show", help="print the pinned key's fingerprint")
    show.set_defaults(func=lambda args: show_workstation_key(data_dir_of(args)))
    return parser


def run_retention(data_dir: Path) -> int:
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        with instance.sessions() as db:
            deleted = delete_expired(
                db, instance, AuditLog(instance.signer), actor=CONSOLE, now=datetime.now(UTC)
            )
    finally:
        instance.close()
    days = instance.settings.retention_days
    print(f"Deleted {deleted} acknowledged submission(s) older than {days} day(s).")
    return 0


def show_status(data_dir: Path) -> int:
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        with instance.sessions() as db:
            held = holdings(db)
    finally:
        instance.close()
    oldest = held.oldest.strftime("%Y-%m-%d") if held.oldest else "-"
    print(f"Unacknowledged: {held.count} submission(s), {held.bytes} bytes, oldest {oldest}.")
    print(f"Retention after acknowledgement: {instance.settings.retention_days} day(s).")
    return 0


def set_workstation_key(data_dir: Path, file: Path) -> int:
    settings = load_settings(data_dir=data_dir)
    key = read_workstation_key_file(file)
    earlier = read_pinned_workstation_key(settings)
    instance = open_instance(settings)
    try:
        with instance.sessions() as db:
            AuditLog(instance.signer).record(
                db,
                actor=CONSOLE,
                action=AuditAction.INSTANCE_SETTINGS,
                detail=f"workstation key {fingerprint_of(key)}"
                + (f" replaces {fingerprint_of(earlier)}" if earlier else ""),
            )
            fingerprint = pin_workstation_key(settings, key)
            db.commit()
    finally:
        instance.close()
    print(f"Pinned workstation key {fingerprint}.")
    print("Compare it with the fingerprint `skrynka-workstation init` printed.")
    return 0


def show_workstation_key(data_dir: Path) -> int:
    key = read_pinned_workstation_key(load_settings(data_dir=data_dir))
    if key is None:
        print("No workstation key is pinned; acknowledgements are refused.")
        return 1
    print(f"Workstation key {fingerprint_of(key)}")
    return 0
