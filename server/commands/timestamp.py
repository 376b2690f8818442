"""`skrynka timestamp run|status`: the trusted-timestamp job and what it has done.

`run` is what deploy/skrynka-timestamp.timer starts every few minutes: one pass of
core.timestamping (build the trees that are due, ask for missing tokens through tor). It exits 0
when it has nothing to do or did everything, 1 when an authority could not be reached or refused
a token (the failure is in the audit log and is retried on the next run), never disturbing the
web service. `status` lists the trees and what waits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.errors import TimestampError
from core.instance import open_instance
from core.models import TimestampTree
from core.settings import load_settings
from core.timestamping import count_pending, run_timestamping
from core.tsa import tsa_client_from

DataDirOf = Callable[[argparse.Namespace], Path]


def register_timestamp_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "timestamp", help="trusted timestamps on received ciphertext (RFC 3161)",
        description="Merkle trees over received ciphertext, stamped by time-stamping "
        "authorities through tor.",
    )
    commands = parser.add_subparsers(dest="timestamp_command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="build the trees that are due and fetch missing tokens")
    run.set_defaults(func=lambda args: run_job(data_dir_of(args)))
    status = commands.add_parser("status", help="list trees, their tokens and what waits")
    status.set_defaults(func=lambda args: run_status(data_dir_of(args)))
    return parser


def run_job(data_dir: Path) -> int:
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        client = tsa_client_from(instance.settings)
        if client is None:
            print("Time-stamping is off (SKRYNKA_TSA_URLS is empty); nothing to do.")
            return 0
        report = run_timestamping(instance, client)
    finally:
        instance.close()
    if report.busy:
        print("Another `skrynka timestamp run` is in progress; this one did nothing.")
        return 0
    for tree_id in report.trees_built:
        print(f"Built tree {tree_id}.")
    for tree_id, url in report.tokens:
        print(f"Tree {tree_id}: token from {url}.")
    for uuid in report.skipped_damaged:
        print(f"Left out submission {uuid}: a stored file no longer matches its hash.",
              file=sys.stderr)
    for tree_id, _url, reason in report.failures:
        print(f"Tree {tree_id}: {reason}", file=sys.stderr)
    return 1 if report.failures else 0


def run_status(data_dir: Path) -> int:
    instance = open_instance(load_settings(data_dir=data_dir))
    try:
        with instance.sessions() as db:
            pending = count_pending(db)
            trees = list(db.scalars(select(TimestampTree).order_by(TimestampTree.id)))
            lines = []
            for tree in trees:
                tokens = ", ".join(
                    f"{t.tsa_url} at {t.gen_time.isoformat()}" for t in tree.tokens
                ) or f"no token yet ({tree.last_error or 'not tried yet'})"
                lines.append(f"tree {tree.id}: {tree.size} files, root {tree.root}, "
                             f"built {tree.built_at.isoformat()}; {tokens}")
    except TimestampError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        instance.close()
    print("\n".join(lines) if lines else "No trees yet.")
    print(f"{pending} submissions wait for the next tree.")
    return 0
