"""Helpers for onion tests: tor kept offline, and authorising a staff device through the CLI."""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

from server.commands.onion import register_onion_commands

OFFLINE = ("DisableNetwork 1",)


def add_client_with_cli(data_dir: Path, name: str) -> str:
    """Run `skrynka onion add-client NAME`; the line it prints for the staff device."""
    parser = argparse.ArgumentParser(prog="skrynka")
    register_onion_commands(parser.add_subparsers(), lambda args: data_dir)
    args = parser.parse_args(["onion", "add-client", name])
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert args.func(args) == 0
    return next(line for line in output.getvalue().splitlines() if ":descriptor:x25519:" in line)
