"""`skrynka-workstation`: the workstation's commands plus `desk`, which starts the desk.

`workstation.cli` must not import Flask, so the desk command is added to its parser from here
(`workstation.cli.main(argv, extensions=...)`); everything else is the workstation's own CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flask import Flask

from workstation import cli
from workstation.catalogue_index import index_path
from workstation.metadata_tool import MetadataTool
from workstation.service import WorkstationService
from workstation.store import open_store
from workstation_app import create_app
from workstation_app.errors import DeskError
from workstation_app.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES
from workstation_app.launch import LaunchGate
from workstation_app.server import LOOPBACK, check_host, serve

DEFAULT_PORT = 8765


def command_desk(args: argparse.Namespace) -> int:
    try:
        check_host(args.host)
        store = open_store(cli._store_path(args))
        service = WorkstationService(store)
        if not index_path(store).is_file():
            print("building the catalogue index of the store (once; a minute per ~50,000"
                  " items)...", flush=True)
        service.index()  # now, rather than on the first page
        gate, secret = LaunchGate.create()

        def build(port: int) -> Flask:
            return create_app(service, gate, hosts={f"{LOOPBACK}:{port}"},
                              metadata_tool=MetadataTool(args.mat2),
                              default_locale=args.language)

        def announce(port: int) -> None:
            print(f"evidence desk for {store.root}", flush=True)
            print("open this address in the browser on this machine (it works once):",
                  flush=True)
            print(f"  http://{LOOPBACK}:{port}/launch/{secret}", flush=True)
            print("stop the desk with Ctrl+C", flush=True)

        serve(build, args.port, announce)
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.EXIT_USAGE
    return cli.EXIT_OK


def add_desk_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                     common: argparse.ArgumentParser) -> None:
    desk = commands.add_parser("desk", parents=[common],
                               help="start the evidence desk (a browser interface on 127.0.0.1)")
    desk.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    desk.add_argument("--host", default=LOOPBACK,
                      help="only 127.0.0.1 is accepted; the desk is never reachable from outside")
    desk.add_argument("--language", choices=SUPPORTED_LOCALES, default=DEFAULT_LOCALE,
                      help="language until each person chooses their own")
    desk.add_argument("--mat2", default="mat2", help=argparse.SUPPRESS)
    desk.set_defaults(handler=command_desk)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, extensions=[add_desk_command])


