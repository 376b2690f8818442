"""`skrynka audit verify`: check the whole audit chain and every checkpoint signature."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.audit import verify_audit_log
from core.instance import open_instance
from core.settings import load_settings

DataDirOf = Callable[[argparse.Namespace], Path]


def register_audit_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "audit", help="the staff audit log", description="Check the staff audit log."
    )
    commands = parser.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = commands.add_parser(
        "verify", help="check the hash chain and signatures; name the first broken entry"
    )
    verify.set_defaults(func=lambda args: run_verify(data_dir_of(args)))
    return parser


def run_verify(data_dir: Path) -> int:
    """Exit 0 if the log verifies, 1 naming the first broken entry otherwise."""
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        with instance.sessions() as db:
            verdict = verify_audit_log(db, instance.signer.public_key)
    finally:
        instance.close()
    if verdict.ok:
        print(f"Audit log OK: {verdict.reason}.")
        return 0
    print(
        f"Audit log BROKEN at entry {verdict.first_bad_seq}: {verdict.reason}. "
        "Entries from there on cannot be trusted; keep a copy of the database and investigate "
        "who had access to it.",
        file=sys.stderr,
    )
    return 1
