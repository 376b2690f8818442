"""The `skrynka` command: create, check and serve an instance.

Sub-commands of `server.commands` (`onion`, `user`, `audit`, `backup`, `dev-data`) are added
through `COMMAND_REGISTRATIONS`: each is `register_*_commands(subparsers, data_dir_of)` and sets
`func` (Namespace -> exit code) on its parsers. `dev-data` exists only in a development install
(the `devtools` package); elsewhere it says so and exits 1.

Exit codes: 0 success, 1 a problem the operator must fix (printed in plain words), 2 wrong usage,
130 interrupted. `main` is the edge: it catches `HANDLED_ERRORS` (`CoreError`, `ServerError`,
`CryptoError`, `OnionError`, `DevToolsError` through the dev hook) and prints the message, which
already says what to do; anything else is a defect and keeps its traceback.
"""

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from core.acknowledgements import read_workstation_key_file
from core.db import head_revision, upgrade_database
from core.errors import CoreError, InstanceError, SettingsError
from core.instance import check_instance
from core.settings import SOURCE_LOCALES, Settings, env_name, load_settings
from crypto.errors import CryptoError
from crypto.signing import Signer
from onion.errors import OnionError
from onion.publisher import OnionPublisher
from onion.tor_connection import LaunchSpec, parse_controller_spec
from server.balance import balance_problems
from server.commands.audit import register_audit_commands
from server.commands.backup import register_backup_commands
from server.commands.devdata import DEV_ERRORS, register_devdata_commands
from server.commands.onion import register_onion_commands
from server.commands.retention import register_retention_commands
from server.commands.timestamp import register_timestamp_commands
from server.commands.user import register_user_commands
from server.demo import create_demo_instance, prepare_demo, saved_demo_notes
from server.errors import ServeError, ServerError
from server.serve import (
    JOURNALIST_APP,
    SOURCE_APP,
    AppServer,
    StopRequest,
    configure_logging,
    start_servers,
    stop_servers,
    supervise,
)
from server.setup import init_instance

DataDirOf = Callable[[argparse.Namespace], Path]
Registration = Callable[[Any, DataDirOf], object]

# Every module that adds sub-commands. Add yours here when its module exists.
COMMAND_REGISTRATIONS: tuple[Registration, ...] = (
    register_onion_commands,
    register_devdata_commands,
    register_user_commands,
    register_audit_commands,
    register_backup_commands,
    register_retention_commands,
    register_timestamp_commands,
)

DEMO_DATA_DIR = Path("demo-data")

# What a command may raise on purpose; each message tells the operator what to do next.
HANDLED_ERRORS: tuple[type[Exception], ...] = (
    CoreError,
    ServerError,
    CryptoError,
    OnionError,
    *DEV_ERRORS,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    # Everything Skrynka (and the gunicorn it starts) creates is private to its user.
    previous_umask = os.umask(0o077)
    try:
        return func(args)
    except HANDLED_ERRORS as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    finally:
        os.umask(previous_umask)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skrynka",
        description="Skrynka: an anonymous submission drop reachable over Tor.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the instance's data directory (default: ${env_name('data_dir')})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="create a new instance",
        description="Create a new instance: data directory, secrets, submission key, database.",
    )
    _data_dir_option(init)
    init.add_argument(
        "--submission-key",
        type=Path,
        required=True,
        metavar="FILE.asc",
        help="the armored PUBLIC submission key exported on the air-gapped workstation",
    )
    init.add_argument("--organization", default="Skrynka", help="name shown to sources")
    init.add_argument(
        "--workstation-key",
        type=Path,
        metavar="FILE",
        help="the workstation's public key (`skrynka-workstation public-key`), which signs "
        "acknowledgements; can be set later with `skrynka workstation-key set`",
    )
    init.add_argument(
        "--database-url",
        metavar="URL",
        help="database URL kept in the 0600 file DATA_DIR/database.url (default: SQLite in "
        "the data directory); SKRYNKA_DATABASE_URL still overrides it",
    )
    init.add_argument(
        "--default-language",
        choices=SOURCE_LOCALES,
        default=None,
        help="the language a new source sees first (asked when not given and run in a terminal)",
    )
    init.add_argument(
        "--backup-key",
        type=Path,
        default=None,
        metavar="FILE.asc",
        help="the administrator's armored PUBLIC key that backups are encrypted to",
    )
    init.set_defaults(func=run_init)

    demo = commands.add_parser(
        "demo",
        help="serve a throw-away demo instance (created if absent) on 127.0.0.1",
        description="Create a dev-mode demo instance with its own demo key pair if the data "
        "directory has none, then serve it without tor. Never use it for real sources.",
    )
    _data_dir_option(demo, f"default: ${env_name('data_dir')} or ./{DEMO_DATA_DIR}")
    _port_options(demo)
    _app_options(demo)
    demo.set_defaults(func=run_demo)

    serve = commands.add_parser(
        "serve",
        help="serve both interfaces (gunicorn on 127.0.0.1) and publish them as onion services",
    )
    _data_dir_option(serve)
    _port_options(serve)
    _app_options(serve)
    serve.add_argument(
        "--no-tor",
        action="store_true",
        help="do not publish onion services (development, or a tor configured by hand)",
    )
    serve.add_argument(
        "--tor-control",
        default="launch",
        metavar="ADDRESS",
        help="'launch' (default: start a private tor), 'unix:/run/tor/control' or "
        "'127.0.0.1:9051' to use a running tor",
    )
    serve.add_argument(
        "--tor-password-file", type=Path, metavar="FILE", help="tor control port password"
    )
    serve.add_argument(
        "--tor-option",
        action="append",
        default=[],
        metavar="'Option value'",
        help="an extra torrc line for a launched tor (repeatable)",
    )
    serve.set_defaults(func=run_serve)

    check = commands.add_parser(
        "check", help="say what is wrong with an instance, in plain words (or 'ok')"
    )
    _data_dir_option(check)
    check.add_argument(
        "--keys",
        action="store_true",
        help="if all is well, also print the submission key fingerprint and the server signing "
        "public key (hex) with its fingerprint, for pinning on the workstation",
    )
    check.set_defaults(func=run_check)

    migrate = commands.add_parser(
        "migrate", help="bring the database schema up to date (back up first)"
    )
    _data_dir_option(migrate)
    migrate.set_defaults(func=run_migrate)

    for register in COMMAND_REGISTRATIONS:
        register(commands, data_dir_of)
    _offer_data_dir_everywhere(commands)
    return parser


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data dir from --data-dir or SKRYNKA_DATA_DIR; SettingsError if neither is set."""
    value = getattr(args, "data_dir", None) or os.environ.get(env_name("data_dir"))
    if not value:
        raise SettingsError(
            [f"No data directory given: pass --data-dir DIR or set {env_name('data_dir')}."]
        )
    return Path(value).expanduser().absolute()


def run_init(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    try:
        armored = args.submission_key.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(
            f"Cannot read the submission key file {args.submission_key} "
            f"({getattr(exc, 'strerror', None) or exc}); give the armored public key exported "
            "with `gpg --armor --export FINGERPRINT`."
        )
    key = read_workstation_key_file(args.workstation_key) if args.workstation_key else None
    language = args.default_language or ask_default_language()
    backup_key = None
    if args.backup_key is not None:
        try:
            backup_key = args.backup_key.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return _fail(
                f"Cannot read the backup key file {args.backup_key} "
                f"({getattr(exc, 'strerror', None) or exc}); give the armored public key."
            )
    settings = init_instance(
        data_dir,
        armored,
        organization_name=args.organization,
        database_url=args.database_url,
        workstation_key=key,
        instance_settings={"source_default_locale": language},
        backup_public_key=backup_key,
    )
    print(f"Created a Skrynka instance in {settings.data_dir}")
    print(f"Sources first see the site in: {language} (sources can switch on every page)")
    print(f"Submission key: {settings.submission_key_fingerprint}")
    if settings.backup_key_fingerprint:
        print(f"Backups are encrypted to: {settings.backup_key_fingerprint}")
    print(f"Next: skrynka serve --data-dir {settings.data_dir}")
    return 0


def ask_default_language(
    read: Callable[[str], str] = input, interactive: bool | None = None
) -> str:
    """Ask which language new sources see first; Belarusian when nobody is there to answer.

    Sources reach the site from Belarus: a Belarusian or Russian page is what they expect, and
    an English first page would look foreign. Every page still offers all three languages.
    """
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        return "be"
    choices = "/".join(SOURCE_LOCALES)
    while True:
        answer = read(f"Language sources see first ({choices}) [be]: ").strip().lower() or "be"
        if answer in SOURCE_LOCALES:
            return answer
        print(f"Please answer one of {', '.join(SOURCE_LOCALES)}.")


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=data_dir_of(args))
    problems = check_instance(settings) + balance_problems(settings)
    if problems:
        for problem in problems:
            print(f"- {problem}")
        return 1
    print("ok")
    if getattr(args, "keys", False):
        signer = Signer(settings.signing_key_path.read_bytes())
        print(f"submission key fingerprint:     {settings.submission_key_fingerprint}")
        print(f"server signing public key:      {signer.public_key.hex()}")
        print(f"server signing key fingerprint: {signer.fingerprint}")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=data_dir_of(args))
    upgrade_database(settings.database_url)
    print(f"The database schema is at revision {head_revision()}.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    data_dir = (
        args.data_dir
        if getattr(args, "data_dir", None)
        else Path(os.environ.get(env_name("data_dir")) or DEMO_DATA_DIR)
    )
    data_dir = Path(data_dir).expanduser().absolute()
    if not (data_dir / "instance.json").exists():
        print(f"Creating a demo instance in {data_dir} ...")
        # The ports are applied before the demo steps run: their notes (banner and DEMO.txt)
        # name the journalist interface's address.
        settings = _with_ports(create_demo_instance(data_dir), args)
        notes = prepare_demo(settings)
    else:
        settings = load_settings(data_dir=data_dir)
        if not settings.dev_mode:
            return _fail(
                f"{data_dir} holds a real (non-demo) instance; `skrynka demo` only serves demo "
                "instances. Use `skrynka serve` for it, or pick another --data-dir."
            )
        settings = _with_ports(settings, args)
        notes = saved_demo_notes(settings)
    _require_healthy(settings)
    stop = StopRequest()
    restore = stop.install()
    try:
        processes = start_servers(settings, _servers(settings, args), env=_child_env(settings))
        print()
        print("Skrynka demo is running (press Ctrl-C to stop). THIS IS NOT A REAL INSTANCE.")
        _print_urls(_servers(settings, args))
        print(f"  demo workstation (secret key): {settings.demo_workstation_dir}")
        for line in notes:
            print(f"  {line}")
        sys.stdout.flush()
        return supervise(processes, stop)
    finally:
        restore()


def run_serve(args: argparse.Namespace) -> int:
    settings = _with_ports(load_settings(data_dir=data_dir_of(args)), args)
    configure_logging()
    _require_healthy(
        settings, balance_problems(settings, tor_control=args.tor_control, no_tor=args.no_tor)
    )
    stop = StopRequest()
    restore = stop.install()
    publisher: OnionPublisher | None = None
    try:
        processes = start_servers(settings, _servers(settings, args), env=_child_env(settings))
        try:
            if not args.no_tor:
                publisher = _publish_onions(settings, args)
        except BaseException:
            stop_servers(processes)
            raise
        print("Skrynka is serving (SIGTERM or Ctrl-C stops it).")
        # Ports, not URLs: the production log then holds no IP address whatsoever.
        for server in _servers(settings, args):
            print(f"  {server.name} interface: loopback port {server.port}")
        sys.stdout.flush()
        watch = None if publisher is None else partial(keep_onions_published, publisher)
        return supervise(processes, stop, watch=watch)
    finally:
        if publisher is not None:
            publisher.close()
        restore()


def keep_onions_published(publisher: OnionPublisher) -> None:
    """Publish the onion services again if tor restarted; log, never raise (serve goes on)."""
    try:
        published = publisher.keep_published()
    except OnionError as error:
        logging.getLogger("skrynka").warning("tor is not back yet (%s); will try again", error)
        return
    if published is not None:
        logging.getLogger("skrynka").warning(
            "onion services published again after tor lost them (same addresses, %d staff devices)",
            len(published.journalist_client_keys),
        )


def _publish_onions(settings: Settings, args: argparse.Namespace) -> OnionPublisher:
    password = None
    if args.tor_password_file is not None:
        password = args.tor_password_file.read_text("utf-8").rstrip("\r\n")
    try:
        spec = parse_controller_spec(args.tor_control, password)
        if isinstance(spec, LaunchSpec) and args.tor_option:
            spec = LaunchSpec(
                tor_binary=spec.tor_binary,
                extra_torrc=(*spec.extra_torrc, *args.tor_option),
                timeout=spec.timeout,
            )
        publisher = OnionPublisher(
            settings.data_dir, spec, onionbalance_front=settings.onionbalance_front or None
        )
        try:
            addresses = publisher.publish(settings.source_port, settings.journalist_port)
        except BaseException:
            publisher.close()
            raise
    except OnionError as exc:
        raise ServeError(f"The onion services could not be published: {exc}") from exc
    if addresses.onionbalance_front is not None:
        print(f"  source onion service:     http://{addresses.onionbalance_front} (Onionbalance)")
        print(f"  onionbalance instance:    {addresses.source} (list it in the front's config)")
    else:
        print(f"  source onion service:     {addresses.source_url}")
    if addresses.journalist_published:
        print(f"  journalist onion service: {addresses.journalist_url} (client auth)")
    else:
        print(
            "  journalist onion service: not published until a staff device is authorised "
            "(skrynka onion add-client NAME)"
        )
    return publisher


def _require_healthy(settings: Settings, more_problems: Sequence[str] = ()) -> None:
    problems = check_instance(settings) + list(more_problems)
    if problems:
        raise InstanceError(problems)


def _with_ports(settings: Settings, args: argparse.Namespace) -> Settings:
    ports = {}
    if args.source_port is not None:
        ports["source_port"] = args.source_port
    if args.journalist_port is not None:
        ports["journalist_port"] = args.journalist_port
    if not ports:
        return settings
    return load_settings(data_dir=settings.data_dir, **ports)


def _child_env(settings: Settings) -> dict[str, str]:
    """The environment for gunicorn: ours, plus the ports actually used."""
    environment = dict(os.environ)
    environment[env_name("source_port")] = str(settings.source_port)
    environment[env_name("journalist_port")] = str(settings.journalist_port)
    return environment


def _print_urls(servers: Sequence[AppServer]) -> None:
    for server in servers:
        print(f"  {server.name} interface: {server.url}")


def _data_dir_option(parser: argparse.ArgumentParser, default_text: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        # SUPPRESS keeps a value given before the sub-command (skrynka --data-dir X serve).
        default=argparse.SUPPRESS,
        help=f"the instance's data directory ({default_text or '$' + env_name('data_dir')})",
    )


def _app_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-app",
        default=SOURCE_APP,
        metavar="MODULE:FACTORY()",
        help=f"the source app for gunicorn (default {SOURCE_APP}; for development)",
    )
    parser.add_argument(
        "--journalist-app",
        default=JOURNALIST_APP,
        metavar="MODULE:FACTORY()",
        help=f"the journalist app for gunicorn (default {JOURNALIST_APP}; for development)",
    )


def _servers(settings: Settings, args: argparse.Namespace) -> list[AppServer]:
    return [
        AppServer("source", args.source_app, settings.source_port),
        AppServer("journalist", args.journalist_app, settings.journalist_port),
    ]


def _port_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-port", type=int, default=None, help="source interface port (default 8080)"
    )
    parser.add_argument(
        "--journalist-port",
        type=int,
        default=None,
        help="journalist interface port (default 8081)",
    )


def _offer_data_dir_everywhere(commands: Any) -> None:
    """Let every sub-command, also those registered by other modules, take --data-dir."""
    for parser in set(commands.choices.values()):
        nested = [
            action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
        ]
        if nested:
            for action in nested:
                _offer_data_dir_everywhere(action)
        elif "--data-dir" not in parser._option_string_actions:
            _data_dir_option(parser)


def _fail(message: str) -> int:
    print(f"skrynka: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
