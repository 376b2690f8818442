"""Two app servers behind one onion address, for real, in the private Tor network.

Set up the way docs/operations.md tells an operator: `skrynka init` on the first machine with
PostgreSQL, its store moved into a shared directory, `skrynka onion balance-config` for the
front's key, `shared_dir` and `onionbalance_front` in instance.json, the data dir copied to the
second machine without its onion keys, both served with `skrynka serve`, and Debian's
onionbalance on the front listing the two addresses the servers printed.

Then sources reach the FRONT address through tor: each source makes its codename over one
circuit and submits over another, so a session begun on one app server is carried on by
whichever the front sends it to. Which app server took an upload is seen from outside, in the
bytes its source workers wrote (gunicorn keeps no access log, on purpose): the plaintext goes
through a worker into gpg. Both app servers must take uploads; with one stopped the front still
takes them; staff signed in on one app server see and decrypt everything sent through both.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
import pytest
import requests

from core.instance import open_instance
from core.settings import load_settings
from tests.onion.timings import record_timing
from tests.source_app.http_source import HttpSource
from tests.support.ciphertext import gpg_decrypt, gunzip_with_name
from tests.support.keys import KeyPair
from tests.support.onionbalance import (
    TESTNET_VOTING_INTERVAL,
    OnionbalanceFront,
    find_onionbalance,
)
from tests.support.postgres import PostgresServer
from tests.support.shared_dir import init_first_machine, update_instance_settings
from tests.support.staff import fresh_code, make_staff_account
from tests.support.tornet import TorNetwork, TorNetworkError, find_tor, free_port

pytestmark = [pytest.mark.tor, pytest.mark.slow, pytest.mark.xdist_group("onionbalance")]

UPLOAD_SIZE = 1024 * 1024
# A worker that took an upload wrote at least the plaintext into gpg; an idle one writes little.
TOOK_UPLOAD_BYTES = UPLOAD_SIZE // 2
RECEIVED = "We received your submission"
MIN_SOURCES = 4
# Each source picks an introduction point at random: 16 tries miss one server 1 time in 30,000.
MAX_SOURCES = 16
# Sources in a row that may meet a timeout while one app server is down (see below).
DOWN_ATTEMPTS = 3


@dataclass
class AppServer:
    """One `skrynka serve` of the pair: its own data dir, tor and onion address."""

    name: str
    data_dir: Path
    source_port: int
    journalist_port: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    address: str = ""

    def source_workers(self) -> list[psutil.Process]:
        """The source interface's gunicorn master and its forked workers (same command line)."""
        found = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if "source_app:create_app()" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.NoSuchProcess:
                continue  # a gpg that just finished
        return found

    def bytes_written_by_source_workers(self) -> int:
        total = 0
        for process in self.source_workers():
            try:
                total += process.io_counters().write_chars
            except psutil.NoSuchProcess:
                continue
        return total

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise


@dataclass
class Sent:
    message: str
    filename: str
    content: bytes
    taken_by: str


@dataclass
class Balanced:
    network: TorNetwork
    front: OnionbalanceFront
    front_url: str
    servers: list[AppServer]
    started: float
    sent: list[Sent] = field(default_factory=list)


def skrynka(*args: str) -> str:
    command = shutil.which("skrynka") or str(Path(sys.executable).with_name("skrynka"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SKRYNKA_")}
    result = subprocess.run(
        [command, *args], capture_output=True, text=True, timeout=120, env=environment
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def front_address_in(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Front address"))
    return line.rsplit("http://", 1)[1].strip()


def _read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def serve_all(data_dirs: dict[str, Path], network: TorNetwork) -> list[AppServer]:
    """Start `skrynka serve` on each data dir at once; wait until each prints its own
    (instance) onion address."""
    servers: list[AppServer] = []
    try:
        for name, data_dir in data_dirs.items():
            servers.append(start_serve(name, data_dir, network))
        for server in servers:
            wait_for_address(server)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def start_serve(name: str, data_dir: Path, network: TorNetwork) -> AppServer:
    source_port, journalist_port = free_port(), free_port()
    command = shutil.which("skrynka") or str(Path(sys.executable).with_name("skrynka"))
    process = subprocess.Popen(
        [
            command,
            "serve",
            "--data-dir",
            str(data_dir),
            "--source-port",
            str(source_port),
            "--journalist-port",
            str(journalist_port),
            *(f"--tor-option={line}" for line in network.host_torrc()),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("SKRYNKA_")},
    )
    server = AppServer(name, data_dir, source_port, journalist_port, process)
    assert process.stdout is not None
    threading.Thread(target=_read_lines, args=(process.stdout, server.lines), daemon=True).start()
    return server


def wait_for_address(server: AppServer) -> None:
    deadline = time.monotonic() + 120
    while not server.address:
        if server.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"{server.name} did not publish its onion service:\n" + "\n".join(server.output)
            )
        try:
            line = server.lines.get(timeout=1)
        except queue.Empty:
            continue
        server.output.append(line)
        if "onionbalance instance:" in line:
            server.address = line.split(":", 1)[1].split()[0]
    return server


def set_up_first_machine(root: Path, keypair: KeyPair, database_url: str) -> Path:
    """`skrynka init` with PostgreSQL (its URL in database.url), then the store moved into the
    shared directory."""
    return init_first_machine(
        root / "app-1", root / "shared", keypair,
        organization_name="Skrynka behind Onionbalance", database_url=database_url,
    )


def make_balanced(first: Path, shared: Path, front_address: str) -> None:
    update_instance_settings(first, shared_dir=str(shared), onionbalance_front=front_address)


@pytest.fixture(scope="module")
def balanced(
    tmp_path_factory: pytest.TempPathFactory,
    submission_keypair: KeyPair,
    postgres_server: PostgresServer,
) -> Iterator[Balanced]:
    tor = find_tor()
    assert tor is not None, "tor and tor-gencert are installed (apt install tor)"
    assert find_onionbalance() is not None, "onionbalance is installed (apt install onionbalance)"
    root = tmp_path_factory.mktemp("balanced")
    started = time.monotonic()
    network = TorNetwork(
        root / "tornet", tor, relays=3, clients=1, voting_interval=TESTNET_VOTING_INTERVAL
    )
    servers: list[AppServer] = []
    front: OnionbalanceFront | None = None
    try:
        database_url = postgres_server.create_database("skrynka_balanced")
        first = set_up_first_machine(root, submission_keypair, database_url)
        front_dir = root / "front"
        front_address = front_address_in(
            skrynka("onion", "balance-config", "--output", str(front_dir))
        )
        make_balanced(first, root / "shared", front_address)
        second = root / "app-2"
        shutil.copytree(first, second, ignore=shutil.ignore_patterns("onion", "tor", "S.*"))
        # In this thread: each tor gets SIGTERM when the thread that started it ends.
        network.start()
        record_timing("onionbalance_network_bootstrap_s", network.bootstrap_seconds or 0.0)
        front = OnionbalanceFront(network, front_dir / "config.yaml", root / "onionbalance.log")
        front.join_network()
        began = time.monotonic()
        servers = serve_all({"app-1": first, "app-2": second}, network)
        record_timing("onionbalance_two_app_servers_published_s", time.monotonic() - began)
        configured = skrynka(
            "onion",
            "balance-config",
            "--output",
            str(front_dir),
            *(f"--instance={server.address}" for server in servers),
        )
        assert front_address_in(configured) == front_address
        front.start()
        yield Balanced(network, front, f"http://{front_address}", servers, started)
    finally:
        for server in servers:
            server.stop()
        if front is not None:
            front.stop()
        network.stop()


def source_through(balanced: Balanced, circuit: str) -> HttpSource:
    """A source whose requests go through the front over its own tor circuit (tor isolates
    streams by SOCKS user name)."""
    source = HttpSource(balanced.front_url)
    use_circuit(balanced, source, circuit)
    return source


def use_circuit(balanced: Balanced, source: HttpSource, circuit: str) -> None:
    port = balanced.network.clients[0].socks_port
    proxy = f"socks5h://{circuit}:x@127.0.0.1:{port}"
    source.http.proxies.update({"http": proxy, "https": proxy})


def submit_and_see_who_took_it(balanced: Balanced, number: int) -> Sent:
    """A new source: codename over one circuit, submission over another; which app server's
    source workers wrote the upload into gpg."""
    began = time.monotonic()
    source = source_through(balanced, f"create-{number}")
    source.create()
    use_circuit(balanced, source, f"submit-{number}")
    running = [server for server in balanced.servers if server.process.poll() is None]
    before = {server.name: server.bytes_written_by_source_workers() for server in running}
    sent = Sent(
        f"message {number} through the front", f"evidence-{number}.bin", os.urandom(UPLOAD_SIZE), ""
    )
    response = source.submit(sent.message, (sent.filename, sent.content))
    assert response.status_code == 200
    assert RECEIVED in response.text
    grown = {
        server.name: server.bytes_written_by_source_workers() - before[server.name]
        for server in running
    }
    takers = [name for name, written in grown.items() if written >= TOOK_UPLOAD_BYTES]
    assert len(takers) == 1, f"expected one app server to take the upload, saw {grown}"
    sent.taken_by = takers[0]
    balanced.sent.append(sent)
    print(f"source {number}: taken by {sent.taken_by} in {time.monotonic() - began:.1f} s")
    return sent


def test_two_app_servers_answer_one_onion_address(
    balanced: Balanced, submission_keypair: KeyPair, tmp_path: Path
) -> None:
    # One story, not three tests: each step needs what the one before it sent, and a
    # module fixture can be rebuilt between tests when other modules' tests run in between.
    sources_reach_both_app_servers_through_the_front(balanced)
    the_front_takes_uploads_while_one_app_server_is_down(balanced)
    staff_on_one_app_server_see_every_submission(balanced, submission_keypair, tmp_path)


def sources_reach_both_app_servers_through_the_front(balanced: Balanced) -> None:
    client = balanced.network.clients[0]
    waited = time.monotonic()
    try:
        # Before any source asks: what a client fetches first it keeps (see published_from).
        balanced.front.wait_until_published_from(len(balanced.servers), 240)
        page = balanced.network.wait_until_reachable(client, balanced.front_url + "/", 240)
    except TorNetworkError as exc:
        pytest.fail(f"the front was not reachable: {exc}; onionbalance said:\n"
                    + balanced.front.log_tail())
    record_timing("onionbalance_front_reachable_after_start_s", time.monotonic() - waited)
    assert "<form" in page.text
    assert balanced.front.published()

    taken: dict[str, int] = {server.name: 0 for server in balanced.servers}
    for number in range(MAX_SOURCES):
        taken[submit_and_see_who_took_it(balanced, number).taken_by] += 1
        if number + 1 >= MIN_SOURCES and all(taken.values()):
            break
    assert all(taken.values()), f"one app server took every upload: {taken}"


def the_front_takes_uploads_while_one_app_server_is_down(balanced: Balanced) -> None:
    stopped, remaining = balanced.servers
    assert stopped.stop() == 0
    # The front's descriptor still lists the stopped server's introduction points; tor tries
    # another when one refuses. On a loaded machine a client can also meet the moment the
    # front re-publishes without the stopped server and answer "descriptor not found" once,
    # as a Tor Browser user would see before pressing reload: wait for the front as a source
    # would, within the same bound as at start, then send.
    client = balanced.network.clients[0]
    try:
        balanced.network.wait_until_reachable(client, balanced.front_url + "/", 240)
    except TorNetworkError:
        pytest.fail("with one app server down the front was not reachable; onionbalance said:\n"
                    + balanced.front.log_tail())
    # Half the introduction points in the front's descriptor are dead now: a new circuit may
    # spend its whole 30 s trying them on a loaded machine. A source meeting that timeout
    # presses reload; nothing was sent, since it failed before the upload began.
    for attempt in range(DOWN_ATTEMPTS):
        try:
            sent = submit_and_see_who_took_it(balanced, 100 + attempt)
            break
        except requests.exceptions.ConnectionError as exc:
            print(f"with one app server down, attempt {attempt + 1} timed out: {exc}")
    else:
        pytest.fail(f"with one app server down, {DOWN_ATTEMPTS} sources in a row could not "
                    "reach the front; onionbalance said:\n" + balanced.front.log_tail())
    assert sent.taken_by == remaining.name


def staff_on_one_app_server_see_every_submission(
    balanced: Balanced, submission_keypair: KeyPair, tmp_path: Path
) -> None:
    server = balanced.servers[1]
    instance = open_instance(load_settings({}, data_dir=server.data_dir))
    try:
        account = make_staff_account(instance, "dana")
        code = fresh_code(instance, account)
    finally:
        instance.close()
    base = f"http://127.0.0.1:{server.journalist_port}/api/v1"
    signed_in = requests.post(
        f"{base}/token",
        data=json.dumps(
            {"username": "dana", "passphrase": account.passphrase, "one_time_code": code}
        ),
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Token {signed_in.json()['token']}"}
    listing = requests.get(f"{base}/submissions", headers=headers, timeout=30).json()
    items = listing["submissions"]
    assert len(items) == 2 * len(balanced.sent)  # a message and a file from each source

    messages, files = set(), {}
    for item in items:
        download = requests.get(
            f"http://127.0.0.1:{server.journalist_port}{item['download_url']}",
            headers=headers,
            timeout=60,
        )
        assert download.status_code == 200
        path = tmp_path / item["filename"]
        path.write_bytes(download.content)
        plaintext = gpg_decrypt(submission_keypair.secret_home, path)
        if item["filename"].endswith("-doc.gz.gpg"):
            name, content = gunzip_with_name(plaintext)
            files[name] = content
        else:
            messages.add(plaintext.decode("utf-8"))
    assert messages == {sent.message for sent in balanced.sent}
    assert files == {sent.filename: sent.content for sent in balanced.sent}
    assert {sent.taken_by for sent in balanced.sent} == {s.name for s in balanced.servers}
    record_timing("onionbalance_set_up_to_staff_check_s", time.monotonic() - balanced.started)
