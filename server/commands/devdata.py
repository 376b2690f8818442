"""`skrynka dev-data`: present only where the development tools (`devtools`) are installed.

The production distributions do not ship `devtools` (it seeds fake sources and carries its own
OpenPGP packet writer). Here the command is registered from `devtools.commands` when that package
can be imported; otherwise a `dev-data` command that explains why it is missing is registered in
its place, so an operator gets a plain answer (exit 1) instead of "invalid choice".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DataDirOf = Callable[[argparse.Namespace], Path]

MISSING_MESSAGE = (
    "skrynka: `dev-data` is a development command and this installation does not include the "
    "development tools (the `devtools` package). Run it from a source checkout installed with "
    "`make install`."
)

try:
    # The only import of devtools from production code; guarded because it is usually absent.
    from devtools import commands as _dev_commands
    from devtools.errors import DevToolsError
except ModuleNotFoundError as missing:
    if missing.name not in ("devtools", "devtools.commands", "devtools.errors"):
        raise
    _dev_commands = None  # type: ignore[assignment]
    DEV_ERRORS: tuple[type[Exception], ...] = ()
else:
    DEV_ERRORS = (DevToolsError,)


def dev_tools_installed() -> bool:
    return _dev_commands is not None


def register_devdata_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf | None = None
) -> argparse.ArgumentParser:
    if _dev_commands is not None:
        return _dev_commands.register_devdata_commands(subparsers, data_dir_of)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dev-data", help="(development install only) fill a development instance"
    )
    # The real command's options are accepted, so the explanation shows instead of a usage error.
    parser.add_argument("--sources", help=argparse.SUPPRESS)
    parser.add_argument("--workers", help=argparse.SUPPRESS)
    parser.set_defaults(func=_explain_missing)
    return parser


def _explain_missing(args: argparse.Namespace) -> int:
    print(MISSING_MESSAGE, file=sys.stderr)
    return 1
