"""The onion services for real: a private Tor network on loopback, clients fetching by .onion.

The network (tests/support/tornet.py) is started once per session; the service host is the
tor that `OnionPublisher` launches, exactly as `skrynka serve` does, joined to the network by
extra torrc lines. The web apps here are a small stand-in served on loopback; `onion_site`
takes any two local ports, so a real gunicorn can be published the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from onion.publisher import OnionPublisher, PublishedAddresses
from onion.tor_connection import LaunchSpec
from tests.onion.timings import record_timing
from tests.support.onion import add_client_with_cli
from tests.support.tornet import (
    SOCKS_ONION_MISSING_CLIENT_AUTH,
    TorNetwork,
)

# One worker runs every test of the shared network (with `pytest -n 2 --dist loadgroup`).
pytestmark = [pytest.mark.tor, pytest.mark.slow, pytest.mark.xdist_group("tor-network")]

UPLOAD_SIZE = 64 * 1024 * 1024
CHUNK = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    """GET answers the server's name; POST counts the bytes received."""

    server: _NamedServer

    def do_GET(self) -> None:
        self._answer(self.server.name.encode())

    def do_POST(self) -> None:
        remaining = int(self.headers["Content-Length"])
        received = 0
        while remaining:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self._answer(json.dumps({"received": received}).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """No request logging, as in production."""


class _NamedServer(ThreadingHTTPServer):
    name = ""


@contextlib.contextmanager
def loopback_app(name: str) -> Iterator[int]:
    server = _NamedServer(("127.0.0.1", 0), _Handler)
    server.name = name
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class OnionSite:
    addresses: PublishedAddresses
    source_port: int
    journalist_port: int
    data_dir: Path
    publish_seconds: float
    staff_line: str


@contextlib.contextmanager
def onion_site(
    network: TorNetwork, data_dir: Path, source_port: int, journalist_port: int
) -> Iterator[OnionSite]:
    """Publish two local ports as the instance's onion services on the private network."""
    staff_line = add_client_with_cli(data_dir, "anna")
    started = time.monotonic()
    publisher = OnionPublisher(data_dir, LaunchSpec(extra_torrc=network.host_torrc()))
    try:
        addresses = publisher.publish(source_port, journalist_port, upload_timeout=180)
        yield OnionSite(
            addresses,
            source_port,
            journalist_port,
            data_dir,
            time.monotonic() - started,
            staff_line,
        )
    finally:
        publisher.close()


@pytest.fixture(scope="module")
def site(tor_network: TorNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnionSite]:
    data_dir = tmp_path_factory.mktemp("onion-host")
    os.chmod(data_dir, 0o700)
    with (
        loopback_app("source") as source_port,
        loopback_app("journalist") as journalist_port,
        onion_site(tor_network, data_dir, source_port, journalist_port) as published,
    ):
        record_timing(
            "network_launch_to_clients_bootstrapped_s", tor_network.bootstrap_seconds or 0
        )
        record_timing("publisher_publish_to_descriptors_uploaded_s", published.publish_seconds)
        yield published


def test_source_interface_is_reachable_by_its_onion_address(tor_network, site):
    client = tor_network.clients[0]
    response = tor_network.wait_until_reachable(client, site.addresses.source_url)
    assert response.text == "source"
    assert tor_network.started_at is not None
    record_timing(
        "network_launch_to_first_onion_fetch_s", time.monotonic() - tor_network.started_at
    )


def test_journalist_interface_is_reachable_with_the_staff_key(tor_network, site):
    client = tor_network.clients[0]
    service_id = site.addresses.journalist.removesuffix(".onion")
    assert site.staff_line.startswith(f"{service_id}:descriptor:x25519:")
    client.authorize("anna", site.staff_line)
    response = tor_network.wait_until_reachable(client, site.addresses.journalist_url, 120)
    assert response.text == "journalist"


def test_journalist_interface_is_closed_to_a_client_without_the_key(tor_network, site):
    outsider = tor_network.clients[1]
    # The outsider reaches the network and the public service...
    assert tor_network.wait_until_reachable(outsider, site.addresses.source_url).text == "source"
    # ...but tor refuses the journalist service for want of client authorisation.
    address = site.addresses.journalist
    codes = tor_network.wait_for_refusal(outsider, address, SOCKS_ONION_MISSING_CLIENT_AUTH)
    assert codes[-1] == SOCKS_ONION_MISSING_CLIENT_AUTH


def _upload(url: str, proxies: dict[str, str] | None) -> float:
    block = os.urandom(CHUNK)

    def body() -> Iterator[bytes]:
        for _ in range(UPLOAD_SIZE // CHUNK):
            yield block

    started = time.monotonic()
    response = requests.post(
        url,
        data=body(),
        headers={"Content-Length": str(UPLOAD_SIZE)},
        proxies=proxies,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert response.json() == {"received": UPLOAD_SIZE}
    return UPLOAD_SIZE / elapsed / CHUNK


def test_upload_throughput_through_the_onion_against_loopback(tor_network, site):
    client = tor_network.clients[0]
    tor_network.wait_until_reachable(client, site.addresses.source_url)
    direct = _upload(f"http://127.0.0.1:{site.source_port}/", None)
    onion = _upload(site.addresses.source_url + "/", client.proxies)
    record_timing("stand_in_app_upload_64MiB_direct_MiB_per_s", direct)
    record_timing("stand_in_app_upload_64MiB_onion_MiB_per_s", onion)
    assert onion > 0.2, "an onion upload this slow would time out for real sources"
