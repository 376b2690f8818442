"""`skrynka dev-data --data-dir DIR [--sources N]`: create or fill a development instance.

`server.cli` calls `register_devdata_commands(subparsers, data_dir_of)` (the second argument is
optional, so the command also works registered on its own).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.instance import open_instance
from core.settings import env_name, load_settings
from devtools.devdata import DEV_ACCOUNTS, DEV_OTP_SECRET, DEV_PASSPHRASE, seed_dev_data
from devtools.errors import DevDataRefused
from server.demo import create_demo_instance

DataDirOf = Callable[[argparse.Namespace], Path]


def register_devdata_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dev-data",
        help="create or fill a DEVELOPMENT instance with sources and well-known staff accounts",
        description="Create a development instance in --data-dir if there is none, then add "
        "the development accounts (journalist, dellsberg; public passphrase and TOTP secret) "
        "and N sources with messages, files and replies. Refuses a non-development instance.",
    )
    parser.add_argument(
        "--sources", type=_count, default=5, metavar="N", help="sources to add (default 5)"
    )
    parser.add_argument(
        "--workers", type=_count, default=2, metavar="N", help="parallel gpg processes"
    )
    parser.set_defaults(func=lambda args: run_dev_data(args, _resolve(args, data_dir_of)))
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _resolve(args: argparse.Namespace, data_dir_of: DataDirOf | None) -> Path:
    if data_dir_of is not None:
        return data_dir_of(args)
    value = getattr(args, "data_dir", None)
    if not value:
        raise DevDataRefused(
            f"No data directory given: pass --data-dir DIR or set {env_name('data_dir')}."
        )
    return Path(value).expanduser().absolute()


def run_dev_data(args: argparse.Namespace, data_dir: Path) -> int:
    started = time.monotonic()
    if not (data_dir / "instance.json").exists():
        print(f"Creating a development instance in {data_dir} ...")
        settings = create_demo_instance(data_dir)
    else:
        settings = load_settings(data_dir=data_dir)
    instance = open_instance(settings)
    try:
        summary = seed_dev_data(
            instance,
            sources=args.sources,
            workers=args.workers,
            progress=_print_progress if args.sources >= 500 else None,
        )
    finally:
        instance.close()
    elapsed = time.monotonic() - started
    print(
        f"Added {summary.sources} sources, {summary.submissions} submissions "
        f"({summary.unread} unread) and {summary.replies} replies in {elapsed:.1f} s."
    )
    for account in DEV_ACCOUNTS:
        state = "created" if account.username in summary.accounts_created else "already there"
        role = "admin" if account.is_admin else "journalist"
        print(f"  {role} account {account.username!r} ({state})")
    print(f"  passphrase: {DEV_PASSPHRASE}")
    print(f"  TOTP secret: {DEV_OTP_SECRET}")
    for codename in summary.codenames:
        print(f"  source codename: {codename}")
    return 0


def _print_progress(done: int, total: int) -> None:
    print(f"  {done}/{total} sources", file=sys.stderr, flush=True)
