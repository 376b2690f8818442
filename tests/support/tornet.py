"""A private Tor network on loopback, for tests that need real onion services end to end.

Directory authorities (also relays and exits), a few relays and some clients, all on
127.0.0.1 with free ports and `TestingTorNetwork 1`, the way tor's own test tooling builds
one. An onion service host joins it by adding `network.host_torrc()` to its torrc, e.g.
`LaunchSpec(extra_torrc=network.host_torrc())` for `onion.publisher.OnionPublisher`.

Use the session fixture (it costs about a minute, so it is started once and shared):

    from tests.support.tornet import tor_network  # noqa: F401  (in a conftest or test module)

    def test_x(tor_network):
        client = tor_network.clients[0]
        response = client.get("http://<id>.onion/", timeout=120)

Mark such tests `pytest.mark.xdist_group("tor-network")`: with `--dist loadgroup` they run on
one worker, which then starts the network once instead of once per worker.

Every wait is bounded and every tor is stopped at teardown, also when a test fails; each tor
also gets SIGTERM from the kernel if the test process dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

VOTING_INTERVAL = 10
_PR_SET_PDEATHSIG = 1
# SOCKS5 extended error (tor's `ExtendedErrors` SocksPort flag): the onion service wants
# client authorisation and we have no (or the wrong) key.
SOCKS_ONION_MISSING_CLIENT_AUTH = 0xF4
SOCKS_ONION_BAD_CLIENT_AUTH = 0xF5


class TorNetworkError(Exception):
    """The private network did not come up or did not do what was asked in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: stop tor if the test process disappears.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _common_torrc(authorities: list[str]) -> list[str]:
    return [
        "TestingTorNetwork 1",
        "PathsNeededToBuildCircuits 0.67",
        "TestingDirAuthVoteExit *",
        "TestingDirAuthVoteHSDir *",
        "TestingDirAuthVoteGuard *",
        "TestingMinExitFlagThreshold 0",
        "V3AuthNIntervalsValid 2",
        "ShutdownWaitLength 0",
        'GeoIPFile ""',
        'GeoIPv6File ""',
        *authorities,
    ]


@dataclass
class TorNode:
    """One tor process of the network."""

    nickname: str
    data_dir: Path
    control_port: int
    tor_binary: str
    or_port: int | None = None
    dir_port: int | None = None
    socks_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    torrc_lines: list[str] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "notice.log"

    def start(self) -> None:
        torrc = self.data_dir / "torrc"
        torrc.write_text("\n".join(self.torrc_lines) + "\n")
        self.process = subprocess.Popen(
            [self.tor_binary, "-f", str(torrc)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # only sets the parent-death signal
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_contains(self, text: str) -> bool:
        try:
            return text in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def check_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise TorNetworkError(f"tor {self.nickname} exited:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class TorClient:
    """A tor client of the network: a SOCKS port and a ClientOnionAuthDir."""

    node: TorNode
    auth_dir: Path

    @property
    def socks_port(self) -> int:
        assert self.node.socks_port is not None
        return self.node.socks_port

    @property
    def proxies(self) -> dict[str, str]:
        proxy = f"socks5h://127.0.0.1:{self.socks_port}"
        return {"http": proxy, "https": proxy}

    def get(self, url: str, timeout: float = 60) -> requests.Response:
        return requests.get(url, proxies=self.proxies, timeout=timeout)

    def post(self, url: str, data: object, timeout: float = 600) -> requests.Response:
        return requests.post(url, data=data, proxies=self.proxies, timeout=timeout)

    def authorize(self, name: str, auth_private_line: str) -> None:
        """Put a `<id>:descriptor:x25519:<key>` line into ClientOnionAuthDir and reload."""
        path = self.auth_dir / f"{name}.auth_private"
        path.write_text(auth_private_line.strip() + "\n")
        path.chmod(0o600)
        self._control("SIGNAL RELOAD")

    def forget_onions(self) -> None:
        """NEWNYM: new circuits, and forget cached descriptors and which HSDirs were asked
        (tor waits 15 minutes before asking an HSDir again for the same service)."""
        self._control("SIGNAL NEWNYM")

    def _control(self, line: str) -> None:
        """One command over a plain control connection. Not stem: a stem Controller closed
        right after SIGNAL RELOAD can deadlock on its own SIGHUP listener."""
        cookie = (self.node.data_dir / "control_auth_cookie").read_bytes().hex()
        with socket.create_connection(("127.0.0.1", self.node.control_port), timeout=30) as tor:
            replies = tor.makefile("rb")
            for command in (f"AUTHENTICATE {cookie}", line, "GETINFO version"):
                tor.sendall(command.encode("ascii") + b"\r\n")
                reply = replies.readline()
                while reply[3:4] == b"-":  # multi-line reply: read to its last line
                    reply = replies.readline()
                if not reply.startswith(b"250"):
                    raise TorNetworkError(
                        f"{command.split()[0]} refused by {self.node.nickname}: {reply!r}"
                    )
            tor.sendall(b"QUIT\r\n")

    def open_stream(self, host: str, port: int, timeout: float = 60) -> socket.socket:
        """A SOCKS5 CONNECT through this client; raises SocksRefused with tor's reply code."""
        return socks5_connect(self.socks_port, host, port, timeout)


class SocksRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"SOCKS5 reply 0x{code:02x}")
        self.code = code


def socks5_connect(socks_port: int, host: str, port: int, timeout: float) -> socket.socket:
    """Minimal SOCKS5 (RFC 1928) CONNECT by host name, so tor's reply code is visible."""
    connection = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout)
    try:
        connection.sendall(b"\x05\x01\x00")
        if _receive(connection, 2) != b"\x05\x00":
            raise TorNetworkError("SOCKS5 greeting refused")
        name = host.encode("ascii")
        connection.sendall(
            b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port)
        )
        _version, code, _, address_type = _receive(connection, 4)
        if code != 0:
            raise SocksRefused(code)
        length = {1: 4, 4: 16}.get(address_type) or _receive(connection, 1)[0]
        _receive(connection, length + 2)
        return connection
    except BaseException:
        connection.close()
        raise


def _receive(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise TorNetworkError("SOCKS5 connection closed early")
        data += chunk
    return data


class TorNetwork:
    """Authorities + relays + clients on loopback. `start()`, use, `stop()`."""

    def __init__(
        self,
        root: Path,
        tor_binary: str,
        *,
        authorities: int = 3,
        relays: int = 2,
        clients: int = 2,
        voting_interval: int = VOTING_INTERVAL,
    ) -> None:
        self.root = root
        # Onionbalance's --is-testnet mode assumes chutney's 20 s voting interval when it
        # derives time periods, so its network votes every 20 s (tests/support/onionbalance.py).
        self.voting_interval = voting_interval
        self.tor_binary = tor_binary
        self.authority_count = authorities
        self.relay_count = relays
        self.client_count = clients
        self.authorities: list[TorNode] = []
        self.relays: list[TorNode] = []
        self.clients: list[TorClient] = []
        self.dir_authority_lines: list[str] = []
        self.started_at: float | None = None
        self.bootstrap_seconds: float | None = None

    @property
    def nodes(self) -> list[TorNode]:
        return [*self.authorities, *self.relays, *(client.node for client in self.clients)]

    def host_torrc(self) -> tuple[str, ...]:
        """torrc lines that make a tor (e.g. an onion service host) use this network."""
        return tuple(_common_torrc(self.dir_authority_lines))

    def start(self, timeout: float = 180) -> None:
        self.started_at = time.monotonic()
        self._create_authorities()
        for index in range(self.relay_count):
            self.relays.append(self._relay(f"relay{index}"))
        for index in range(self.client_count):
            self.clients.append(self._client(f"client{index}"))
        for node in self.nodes:
            node.start()
        self.wait_for_bootstrap(timeout)
        self.bootstrap_seconds = time.monotonic() - self.started_at

    def wait_for_bootstrap(self, timeout: float) -> None:
        """Until every client has a consensus and built circuits (Bootstrapped 100%)."""
        deadline = time.monotonic() + timeout
        pending = [client.node for client in self.clients]
        while pending:
            for node in self.nodes:
                node.check_running()
            pending = [node for node in pending if not node.log_contains("Bootstrapped 100%")]
            if pending and time.monotonic() > deadline:
                raise TorNetworkError(
                    f"{pending[0].nickname} did not bootstrap within {timeout:.0f} s:\n"
                    f"{pending[0].log_tail()}"
                )
            time.sleep(0.5)

    def wait_until_reachable(
        self, client: TorClient, url: str, timeout: float = 180
    ) -> requests.Response:
        """GET `url` through `client` until it answers 200; TorNetworkError after `timeout`."""
        deadline = time.monotonic() + timeout
        last_problem = "no attempt"
        last_reset = time.monotonic()
        while time.monotonic() < deadline:
            try:
                response = client.get(url, timeout=min(30.0, max(1.0, deadline - time.monotonic())))
                if response.status_code == 200:
                    return response
                last_problem = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                last_problem = str(error)
            # A failed lookup marks the HSDirs asked for 15 minutes; clear that every so often.
            if time.monotonic() - last_reset > self.voting_interval:
                client.forget_onions()
                last_reset = time.monotonic()
            time.sleep(1)
        raise TorNetworkError(
            f"{url} not reachable through {client.node.nickname} within {timeout:.0f} s "
            f"({last_problem}):\n{client.node.log_tail()}"
        )

    def wait_for_refusal(
        self, client: TorClient, onion_address: str, expected: int, timeout: float = 120
    ) -> list[int]:
        """Try to open a stream until tor refuses with `expected` (a SOCKS5 reply code such as
        SOCKS_ONION_MISSING_CLIENT_AUTH); other refusals (descriptor not there yet) are
        retried. Returns the codes seen; TorNetworkError if a stream opens or time runs out."""
        deadline = time.monotonic() + timeout
        codes: list[int] = []
        while time.monotonic() < deadline:
            try:
                stream = client.open_stream(onion_address, 80, timeout=60)
            except SocksRefused as refused:
                codes.append(refused.code)
                if refused.code == expected:
                    return codes
                client.forget_onions()
                time.sleep(2)
            else:
                stream.close()
                raise TorNetworkError(f"{client.node.nickname} was let through to {onion_address}")
        raise TorNetworkError(
            f"no refusal 0x{expected:02x} for {onion_address} within {timeout:.0f} s; "
            f"saw {[hex(code) for code in codes]}"
        )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def _node(self, nickname: str) -> TorNode:
        data_dir = self.root / nickname
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return TorNode(nickname, data_dir, free_port(), self.tor_binary)

    def _base_lines(self, node: TorNode) -> list[str]:
        return [
            f"DataDirectory {node.data_dir}",
            f"Nickname {node.nickname}",
            f"ControlPort 127.0.0.1:{node.control_port}",
            "CookieAuthentication 1",
            f"Log notice file {node.log_path}",
            *_common_torrc(self.dir_authority_lines),
        ]

    def _relay_lines(self, node: TorNode) -> list[str]:
        return [
            "Address 127.0.0.1",
            f"ORPort 127.0.0.1:{node.or_port}",
            "SocksPort 0",
            "AssumeReachable 1",
            "ExitRelay 1",
            "ExitPolicy accept 127.0.0.0/8:*",
            "ExitPolicy reject *:*",
            "ContactInfo tests@localhost",
        ]

    def _create_authorities(self) -> None:
        for index in range(self.authority_count):
            node = self._node(f"auth{index}")
            node.or_port, node.dir_port = free_port(), free_port()
            keys = node.data_dir / "keys"
            keys.mkdir(mode=0o700, exist_ok=True)
            subprocess.run(
                [
                    "tor-gencert",
                    "--create-identity-key",
                    "--passphrase-fd",
                    "0",
                    "-i",
                    str(keys / "authority_identity_key"),
                    "-s",
                    str(keys / "authority_signing_key"),
                    "-c",
                    str(keys / "authority_certificate"),
                    "-m",
                    "12",
                    "-a",
                    f"127.0.0.1:{node.dir_port}",
                ],
                input=b"\n",
                check=True,
                capture_output=True,
                timeout=60,
            )
            certificate = (keys / "authority_certificate").read_text()
            v3ident = next(
                line.split()[1]
                for line in certificate.splitlines()
                if line.startswith("fingerprint ")
            )
            fingerprint = self._relay_fingerprint(node)
            self.dir_authority_lines.append(
                f"DirAuthority {node.nickname} orport={node.or_port} no-v2 v3ident={v3ident} "
                f"127.0.0.1:{node.dir_port} {fingerprint}"
            )
            self.authorities.append(node)
        for node in self.authorities:
            node.torrc_lines = [
                *self._base_lines(node),
                *self._relay_lines(node),
                f"DirPort 127.0.0.1:{node.dir_port}",
                "AuthoritativeDirectory 1",
                "V3AuthoritativeDirectory 1",
                f"V3AuthVotingInterval {self.voting_interval}",
                "V3AuthVoteDelay 2",
                "V3AuthDistDelay 2",
                f"TestingV3AuthInitialVotingInterval {self.voting_interval}",
                "TestingV3AuthInitialVoteDelay 2",
                "TestingV3AuthInitialDistDelay 2",
            ]

    def _relay_fingerprint(self, node: TorNode) -> str:
        subprocess.run(
            [
                self.tor_binary,
                "--ignore-missing-torrc",
                "-f",
                "/dev/null",
                "--list-fingerprint",
                "--orport",
                "1",
                "--dirserver",
                "x 127.0.0.1:1 " + "f" * 40,
                "--datadirectory",
                str(node.data_dir),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return (node.data_dir / "fingerprint").read_text().split()[1]

    def _relay(self, nickname: str) -> TorNode:
        node = self._node(nickname)
        node.or_port = free_port()
        node.torrc_lines = [*self._base_lines(node), *self._relay_lines(node)]
        return node

    def start_exit_client(self, nickname: str, socks_port: str, timeout: float = 120
                          ) -> TorNode:
        """One more client, for requests that leave through an exit to 127.0.0.1.

        ``socks_port`` is its SocksPort value (``unix:/path`` as a server's system tor offers
        /run/tor/socks, or ``127.0.0.1:PORT``). The relays' exit policy accepts only
        127.0.0.0/8, which a microdescriptor's policy summary (public addresses only) shows as
        "reject all", so this client reads full descriptors (`UseMicrodescriptors 0`) to see
        the real policies. Started and bootstrapped here; stopped with the network.
        """
        node = self._node(nickname)
        node.torrc_lines = [*self._base_lines(node), f"SocksPort {socks_port}",
                            "UseMicrodescriptors 0"]
        self.relays.append(node)  # stopped with the others
        node.start()
        deadline = time.monotonic() + timeout
        while not node.log_contains("Bootstrapped 100%"):
            node.check_running()
            if time.monotonic() > deadline:
                raise TorNetworkError(f"{nickname} did not bootstrap:\n{node.log_tail()}")
            time.sleep(0.5)
        return node

    def start_controller_client(self, nickname: str) -> TorNode:
        """One more client with only a control port (cookie auth) and no SOCKS port, as the
        Onionbalance front uses. Started, not waited for (`wait_for_node`); stopped with the
        network."""
        node = self._node(nickname)
        node.torrc_lines = [*self._base_lines(node), "SocksPort 0"]
        self.relays.append(node)  # stopped with the others
        node.start()
        return node

    def wait_for_node(self, node: TorNode, timeout: float = 120) -> None:
        """Until `node` has bootstrapped (Bootstrapped 100%); TorNetworkError if it does not."""
        deadline = time.monotonic() + timeout
        while not node.log_contains("Bootstrapped 100%"):
            node.check_running()
            if time.monotonic() > deadline:
                raise TorNetworkError(f"{node.nickname} did not bootstrap:\n{node.log_tail()}")
            time.sleep(0.5)

    def _client(self, nickname: str) -> TorClient:
        node = self._node(nickname)
        node.socks_port = free_port()
        auth_dir = node.data_dir / "onion-auth"
        auth_dir.mkdir(mode=0o700, exist_ok=True)
        node.torrc_lines = [
            *self._base_lines(node),
            f"SocksPort 127.0.0.1:{node.socks_port} ExtendedErrors",
            f"ClientOnionAuthDir {auth_dir}",
        ]
        return TorClient(node, auth_dir)


def find_tor() -> str | None:
    """The tor binary, if it is installed and runs."""
    binary = shutil.which("tor") or shutil.which("tor", path="/usr/sbin:/usr/bin")
    if binary is None or shutil.which("tor-gencert", path="/usr/bin:/usr/sbin") is None:
        return None
    try:
        subprocess.run([binary, "--version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return binary


@pytest.fixture(scope="session")
def tor_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TorNetwork]:
    """A started private Tor network shared by the whole test session."""
    binary = find_tor()
    if binary is None:
        pytest.skip("tor and tor-gencert are needed for the private Tor network (apt install tor)")
    network = TorNetwork(tmp_path_factory.mktemp("tornet"), binary)
    try:
        network.start()
        yield network
    finally:
        network.stop()
