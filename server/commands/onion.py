"""`skrynka onion ...`: onion addresses, staff devices and the system-tor configuration.

`server.cli` calls `register_onion_commands(subparsers, data_dir_of)`; each sub-command sets
`func` (Namespace -> exit code) with `set_defaults`, so the caller runs `args.func(args)`.
Everything tor-specific lives in the onion package; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.settings import load_settings
from onion.balance import write_front_config
from onion.client_key import check_client_name, generate_client_key
from onion.errors import OnionError
from onion.keystore import OnionKeyStore, ServiceRole
from onion.publisher import (
    ServiceStatus,
    onion_dir_of,
    read_onion_status,
    refresh_journalist_service,
)
from onion.tor_connection import ControllerSpec, parse_controller_spec
from onion.torrc import render_system_torrc

DataDirOf = Callable[[argparse.Namespace], Path]
DEFAULT_SOURCE_PORT = 8080
DEFAULT_JOURNALIST_PORT = 8081


def register_onion_commands(
    subparsers: argparse._SubParsersAction[Any], data_dir_of: DataDirOf
) -> argparse.ArgumentParser:
    """Add `onion` and its sub-commands; `data_dir_of(args)` gives the instance data dir."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "onion",
        help="onion addresses, staff devices, system tor configuration",
        description="Manage the onion services: addresses, authorised staff devices, torrc.",
    )
    commands = parser.add_subparsers(dest="onion_command", required=True, metavar="COMMAND")

    status = commands.add_parser("status", help="show addresses, whether tor hosts them, devices")
    _add_tor_options(status)
    status.set_defaults(func=lambda args: show_status(args, data_dir_of(args)))

    add = commands.add_parser(
        "add-client", help="authorise a staff device for the journalist interface"
    )
    add.add_argument("name", help="a name for the device, e.g. anna-laptop")
    _add_tor_options(add)
    add.set_defaults(func=lambda args: add_client(args, data_dir_of(args)))

    remove = commands.add_parser("remove-client", help="revoke a staff device")
    remove.add_argument("name")
    _add_tor_options(remove)
    remove.set_defaults(func=lambda args: remove_client(args, data_dir_of(args)))

    torrc = commands.add_parser(
        "torrc", help="print the HiddenServiceDir configuration for a system tor"
    )
    torrc.add_argument("--source-port", type=int, default=None)
    torrc.add_argument("--journalist-port", type=int, default=None)
    torrc.add_argument("--tor-services-dir", type=Path, default=Path("/var/lib/tor"))
    torrc.add_argument("--tor-user", default="debian-tor")
    torrc.set_defaults(func=lambda args: print_torrc(args, data_dir_of(args)))

    balance = commands.add_parser(
        "balance-config",
        help="make the Onionbalance front's key and config (several app servers, one address)",
        description="Create the Onionbalance front's key in DIR if it has none, print the "
        "front's address (set it as onionbalance_front on every app server), and with "
        "--instance write DIR/config.yaml for onionbalance listing those app servers. "
        "Run it again with the full list to add or remove an app server.",
    )
    balance.add_argument(
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="the front's directory (e.g. /etc/onionbalance); its key is kept there",
    )
    balance.add_argument(
        "--instance",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an app server's source onion address, as its 'skrynka serve' prints it "
        "(repeatable; all of them, every time)",
    )
    balance.set_defaults(func=write_balance_config)
    return parser


def _add_tor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tor-control",
        metavar="ADDRESS",
        help="tor's control port ('127.0.0.1:9051') or socket ('unix:/run/tor/control'); "
        "default: the tor that 'skrynka serve' launched for this data dir, if it runs",
    )
    parser.add_argument(
        "--tor-password-file",
        type=Path,
        metavar="FILE",
        help="file holding the control port password (HashedControlPassword in torrc)",
    )


def _controller_spec(args: argparse.Namespace) -> ControllerSpec | None:
    password = None
    if args.tor_password_file is not None:
        try:
            password = args.tor_password_file.read_text("utf-8").rstrip("\r\n")
        except OSError as error:
            raise OnionError(
                f"Cannot read the tor control password file {args.tor_password_file}: "
                f"{error.strerror}."
            ) from error
    if args.tor_control is None:
        return None
    return parse_controller_spec(args.tor_control, password)


def _fail(error: OnionError) -> int:
    print(f"skrynka onion: {error}", file=sys.stderr)
    return 1


def _describe(status: ServiceStatus) -> str:
    if status.address is None:
        return "no key yet (created by 'skrynka serve', 'add-client' or 'torrc')"
    state = {True: "published", False: "not published", None: "tor not asked"}[status.published]
    return f"{status.address}  ({state})"


def show_status(args: argparse.Namespace, data_dir: Path) -> int:
    try:
        status = read_onion_status(data_dir, _controller_spec(args))
    except OnionError as error:
        return _fail(error)
    print(f"source interface:     {_describe(status.source)}")
    print(f"journalist interface: {_describe(status.journalist)}")
    names = ", ".join(status.client_names) if status.client_names else "none"
    print(f"staff devices:        {len(status.client_names)} ({names})")
    if status.tor_problem is not None:
        print(f"tor:                  {status.tor_problem}")
    elif status.tor is None:
        print(
            "tor:                  no running tor found for this data dir "
            "(start 'skrynka serve' or pass --tor-control)"
        )
    else:
        print(f"tor:                  {status.tor}")
    return 0


def add_client(args: argparse.Namespace, data_dir: Path) -> int:
    keystore = OnionKeyStore(onion_dir_of(data_dir))
    try:
        check_client_name(args.name)
        spec = _controller_spec(args)
        journalist = keystore.ensure_service_key(ServiceRole.JOURNALIST)
        pair = generate_client_key()
        keystore.add_client(args.name, pair.public_b32)
    except OnionError as error:
        return _fail(error)
    # Only the public half is stored; the private half exists in this output alone.
    print(f"Staff device {args.name!r} is authorised for the journalist interface.")
    print(f"Address: http://{journalist.onion_address}")
    print("Hand this line to the staff member over a safe channel; it is shown only once:")
    print()
    print(pair.auth_private_line(journalist.service_id))
    print()
    print(
        "Tor Browser asks for the key when the address is first opened: paste the part after "
        "'x25519:'. A tor client instead takes the whole line as a file ending in "
        ".auth_private in its ClientOnionAuthDir."
    )
    return _refresh(data_dir, spec)


def remove_client(args: argparse.Namespace, data_dir: Path) -> int:
    keystore = OnionKeyStore(onion_dir_of(data_dir))
    try:
        spec = _controller_spec(args)
        keystore.remove_client(args.name)
    except OnionError as error:
        return _fail(error)
    print(f"Staff device {args.name!r} is no longer authorised.")
    return _refresh(data_dir, spec)


def _refresh(data_dir: Path, spec: ControllerSpec | None) -> int:
    try:
        refresh = refresh_journalist_service(data_dir, spec)
    except OnionError as error:
        print("The change is stored but the running tor was not updated:", file=sys.stderr)
        return _fail(error)
    if refresh is None:
        print("No running onion service found: the change applies when 'skrynka serve' starts.")
    elif refresh.journalist_published:
        count = len(refresh.journalist_client_keys)
        print(f"Tor at {refresh.tor} now admits {count} staff device(s).")
    else:
        print(
            f"Tor at {refresh.tor} no longer publishes the journalist interface: "
            "no staff device is authorised."
        )
    return 0


def print_torrc(args: argparse.Namespace, data_dir: Path) -> int:
    keystore = OnionKeyStore(onion_dir_of(data_dir))
    try:
        ports = keystore.load_ports()
        source_port = args.source_port or (ports.source_port if ports else DEFAULT_SOURCE_PORT)
        journalist_port = args.journalist_port or (
            ports.journalist_port if ports else DEFAULT_JOURNALIST_PORT
        )
        text = render_system_torrc(
            keystore,
            source_port,
            journalist_port,
            tor_services_dir=args.tor_services_dir,
            tor_user=args.tor_user,
            onionbalance_front=load_settings(data_dir=data_dir).onionbalance_front or None,
        )
    except OnionError as error:
        return _fail(error)
    print(text)
    return 0


def write_balance_config(args: argparse.Namespace) -> int:
    try:
        front = write_front_config(args.output, list(args.instance))
    except OnionError as error:
        return _fail(error)
    if front.key_created:
        print(f"Created the front's key: {front.key_path} (keep it secret; back it up).")
    print(f"Front address (what sources use): http://{front.address}")
    print(
        "On every app server, set it in instance.json's settings or the environment:\n"
        f'  "onionbalance_front": "{front.address}"   (SKRYNKA_ONIONBALANCE_FRONT)'
    )
    if front.config_path is None:
        print(
            "No app server given yet: start each one with 'skrynka serve', then run this again "
            "with --instance ADDRESS for each address it prints."
        )
        return 0
    print(f"Wrote {front.config_path} for {len(front.instances)} app server(s):")
    for address in front.instances:
        print(f"  {address}")
    print(
        f"Start onionbalance with it (onionbalance -c {front.config_path}), or make a running "
        "one read it again with SIGHUP (Debian: /etc/onionbalance/config.yaml, owned by the "
        "onionbalance user; systemctl kill --signal=HUP onionbalance)."
    )
    return 0
