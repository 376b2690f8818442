"""A control connection to tor: to a running tor, or to one we launch ourselves.

This is where stem is met and its exceptions become `onion.errors`. Three ways to reach tor:

- `ControlPortSpec`: a tor listening on a TCP ControlPort (system tor, `ControlPort 9051`);
- `ControlSocketSpec`: a tor listening on a Unix socket (`ControlSocket /run/tor/control`);
- `LaunchSpec`: we start tor with its DataDirectory in `DATA_DIR/tor`, a control socket
  inside it and cookie authentication, and stop it again when the connection closes.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stem
import stem.connection
import stem.control
import stem.process
import stem.version

from onion.errors import OnionError, TorAuthFailed, TorLaunchFailed, TorNotReachable

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
PORT_FILE_NAME = "control.port"
# sun_path holds 108 bytes including the final NUL; longer data dirs use a TCP port instead.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class ControlPortSpec:
    host: str = "127.0.0.1"
    port: int = 9051
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ControlSocketSpec:
    path: Path
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        return f"unix:{self.path}"


@dataclass(frozen=True)
class LaunchSpec:
    """Start our own tor. `extra_torrc` lines ("Option value") are added to its torrc."""

    tor_binary: str = "tor"
    extra_torrc: tuple[str, ...] = ()
    timeout: float = 90.0

    def describe(self) -> str:
        return f"a tor launched from {self.tor_binary}"


ControllerSpec = ControlPortSpec | ControlSocketSpec | LaunchSpec


def parse_controller_spec(text: str, password: str | None = None) -> ControllerSpec:
    """Read a --tor-control value: `launch`, `unix:/path`, `/path`, `host:port` or `port`."""
    if text == "launch":
        return LaunchSpec()
    if text.startswith("unix:"):
        return ControlSocketSpec(Path(text.removeprefix("unix:")), password)
    if text.startswith("/"):
        return ControlSocketSpec(Path(text), password)
    host, _, port_text = text.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise OnionError(
            f"--tor-control {text!r} is not understood: give 'launch', 'unix:/run/tor/control' "
            "or a loopback TCP address such as '127.0.0.1:9051'."
        )
    return ControlPortSpec(host or "127.0.0.1", port, password)


def find_launched_tor(tor_dir: Path) -> ControllerSpec | None:
    """How to reach the tor that `skrynka serve` launched for this data dir, if one runs."""
    socket_path = tor_dir / SOCKET_NAME
    if socket_path.exists():
        return ControlSocketSpec(socket_path)
    try:
        address = (tor_dir / PORT_FILE_NAME).read_text("ascii").strip()
    except OSError:
        return None
    return parse_controller_spec(address.removeprefix("PORT="))


class TorConnection:
    """An authenticated stem controller and, for a launched tor, its process."""

    def __init__(
        self,
        controller: stem.control.Controller,
        where: str,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.controller = controller
        self.where = where
        self.process = process

    def command(self, line: str) -> tuple[bool, list[str]]:
        """Send one control command; (ok, reply lines). Raises TorNotReachable if tor went."""
        try:
            reply = self.controller.msg(line)
        except stem.SocketError as error:
            raise TorNotReachable(self.where, f"connection lost: {error}") from error
        lines = [str(content) for _, _, content in reply.content()]
        return reply.is_ok(), lines

    def info(self, key: str) -> str:
        try:
            return str(self.controller.get_info(key))
        except stem.SocketError as error:
            raise TorNotReachable(self.where, f"connection lost: {error}") from error
        except stem.ControllerError as error:
            raise OnionError(
                f"tor at {self.where} did not answer GETINFO {key}: {error}"
            ) from error

    def version(self) -> stem.version.Version:
        try:
            return self.controller.get_version()
        except stem.ControllerError as error:
            raise TorNotReachable(self.where, f"no version: {error}") from error

    def close(self) -> None:
        """Close the connection; a launched tor is stopped and waited for.

        stem's close can deadlock if tor's SIGNAL RELOAD event (logrotate reloads tor daily)
        is being dispatched at that moment, so it runs in a helper thread with a bound:
        shutdown must not hang on it.
        """
        closer = threading.Thread(target=self.controller.close, name="tor-close", daemon=True)
        closer.start()
        closer.join(timeout=10)
        if closer.is_alive():
            log.warning("the tor control connection did not close within 10 s; leaving it")
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log.warning("tor did not stop within 15 s of SIGTERM; killing it")
            self.process.kill()
            self.process.wait(timeout=15)


def open_tor_connection(spec: ControllerSpec, tor_dir: Path) -> TorConnection:
    """Connect (or launch, then connect) and authenticate."""
    if isinstance(spec, LaunchSpec):
        return _launch_tor(spec, tor_dir)
    return _connect(spec, spec.password)


def _connect(spec: ControlPortSpec | ControlSocketSpec, password: str | None) -> TorConnection:
    where = spec.describe()
    try:
        if isinstance(spec, ControlPortSpec):
            controller = stem.control.Controller.from_port(spec.host, spec.port)
        else:
            controller = stem.control.Controller.from_socket_file(str(spec.path))
    except stem.SocketError as error:
        raise TorNotReachable(where, str(error) or type(error).__name__) from error
    try:
        controller.authenticate(password=password)
    except stem.connection.MissingPassword as error:
        controller.close()
        raise TorAuthFailed(where, "tor wants a control password and none was given") from error
    except (stem.connection.IncorrectPassword, stem.connection.PasswordAuthRejected) as error:
        controller.close()
        raise TorAuthFailed(where, "the control password is wrong") from error
    except stem.connection.UnreadableCookieFile as error:
        controller.close()
        raise TorAuthFailed(where, f"cannot read tor's cookie file: {error}") from error
    except stem.connection.AuthenticationFailure as error:
        controller.close()
        raise TorAuthFailed(where, str(error) or type(error).__name__) from error
    except stem.SocketError as error:
        controller.close()
        raise TorNotReachable(where, str(error) or type(error).__name__) from error
    return TorConnection(controller, where)


def _launch_config(spec: LaunchSpec, tor_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = {
        "DataDirectory": str(tor_dir),
        "CookieAuthentication": "1",
        "SocksPort": "0",
        # GeoIP parsing is most of tor's start-up time and an onion service never needs it.
        "GeoIPFile": "",
        "GeoIPv6File": "",
        "Log": ["NOTICE stdout", f"notice file {tor_dir / 'notice.log'}"],
        "AvoidDiskWrites": "1",
    }
    socket_path = tor_dir / SOCKET_NAME
    if len(str(socket_path)) <= _MAX_SOCKET_PATH:
        config["ControlSocket"] = str(socket_path)
    else:
        config["ControlPort"] = "auto"
        config["ControlPortWriteToFile"] = str(tor_dir / PORT_FILE_NAME)
    for line in spec.extra_torrc:
        key, _, value = line.strip().partition(" ")
        if not key or key.startswith("#"):
            continue
        existing = config.get(key)
        if existing is None:
            config[key] = value.strip()
        elif isinstance(existing, list):
            existing.append(value.strip())
        else:
            config[key] = [existing, value.strip()]
    return config


def _render_torrc(config: dict[str, Any]) -> str:
    lines = []
    for key, values in config.items():
        for value in values if isinstance(values, list) else [values]:
            lines.append(f'{key} ""' if value == "" else f"{key} {value}")
    return "\n".join(lines) + "\n"


def _launch_tor(spec: LaunchSpec, tor_dir: Path) -> TorConnection:
    tor_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(tor_dir, 0o700)
    # Left over from a tor that did not exit cleanly; a live one would hold the data dir lock.
    for stale in (tor_dir / SOCKET_NAME, tor_dir / PORT_FILE_NAME):
        stale.unlink(missing_ok=True)
    config = _launch_config(spec, tor_dir)
    # A torrc file rather than stdin: tor re-reads it on SIGHUP / SIGNAL RELOAD, and a torrc
    # read from a closed stdin would leave it with an empty configuration.
    torrc = tor_dir / "torrc"
    torrc.write_text(_render_torrc(config), encoding="utf-8")
    os.chmod(torrc, 0o600)
    # stem bounds the start with SIGALRM, which only the main thread may use.
    in_main_thread = threading.current_thread() is threading.main_thread()
    timeout = max(1, round(spec.timeout)) if in_main_thread else None
    try:
        # completion_percent=0: return once tor runs; an onion service host needs no
        # bootstrap to register services, and offline (DisableNetwork) it never completes.
        process = stem.process.launch_tor(
            spec.tor_binary,
            args=[],
            torrc_path=str(torrc),
            completion_percent=0,
            timeout=timeout,
            take_ownership=True,
        )
    except OSError as error:
        raise TorLaunchFailed(str(error)) from error
    try:
        launched = find_launched_tor(tor_dir)
        if launched is None or isinstance(launched, LaunchSpec):
            raise TorLaunchFailed("tor started but opened no control socket or port")
        connection = _connect(launched, None)
    except OnionError:
        _stop_process(process)
        raise
    return TorConnection(connection.controller, f"{launched.describe()} (launched)", process)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
