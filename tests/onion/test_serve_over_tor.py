"""`skrynka serve` for real on the private Tor network: its own tor, both onion services,
a source creating a codename and submitting a file through the onion, staff with and without
the client-authorisation key, and a clean SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from server.setup import init_instance
from tests.onion.timings import record_timing
from tests.source_app.http_source import HttpSource
from tests.support.onion import add_client_with_cli
from tests.support.tornet import (
    SOCKS_ONION_MISSING_CLIENT_AUTH,
    TorNetwork,
    free_port,
)

pytestmark = [pytest.mark.tor, pytest.mark.slow, pytest.mark.xdist_group("tor-network")]

UPLOAD_SIZE = 64 * 1024 * 1024
ONION_LINE = re.compile(r"(source|journalist) onion service:\s+(http://[a-z2-7]{56}\.onion)")


@dataclass
class Served:
    process: subprocess.Popen[str]
    data_dir: Path
    source_port: int
    urls: dict[str, str]
    staff_line: str
    output: list[str]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise


def skrynka_command() -> str:
    found = shutil.which("skrynka") or str(Path(sys.executable).with_name("skrynka"))
    assert Path(found).exists(), "the skrynka command is installed with the package"
    return found


def _read_lines(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture(scope="module")
def served(
    tor_network: TorNetwork, tmp_path_factory: pytest.TempPathFactory, submission_keypair
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve")
    settings = init_instance(
        root / "data",
        submission_keypair.public_armored,
        dev_mode=True,
        organization_name="Skrynka over Tor",
        instance_settings={"kdf": "testing"},
        env={},
    )
    staff_line = add_client_with_cli(settings.data_dir, "staff-laptop")
    source_port, journalist_port = free_port(), free_port()
    command = [
        skrynka_command(),
        "serve",
        "--data-dir",
        str(settings.data_dir),
        "--source-port",
        str(source_port),
        "--journalist-port",
        str(journalist_port),
        *(f"--tor-option={line}" for line in tor_network.host_torrc()),
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SKRYNKA_")}
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    output: list[str] = []
    urls: dict[str, str] = {}
    served = Served(process, settings.data_dir, source_port, urls, staff_line, output)
    try:
        deadline = time.monotonic() + 120
        while len(urls) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "skrynka serve did not publish its onion services:\n" + "\n".join(output)
                )
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            output.append(line)
            if match := ONION_LINE.search(line):
                urls[match.group(1)] = match.group(2)
        record_timing("serve_start_to_onion_services_published_s", time.monotonic() - started)
        yield served
    finally:
        if process.poll() is None:
            served.stop()


def test_a_source_submits_a_file_through_the_onion(tor_network, served):
    client = tor_network.clients[0]
    started = time.monotonic()
    page = tor_network.wait_until_reachable(client, served.urls["source"] + "/", 180)
    record_timing("serve_published_to_first_source_page_over_tor_s", time.monotonic() - started)
    assert "<form" in page.text

    document = os.urandom(UPLOAD_SIZE)
    over_tor = HttpSource(served.urls["source"])
    over_tor.http.proxies.update(client.proxies)
    over_tor.create()
    assert len(over_tor.codename.split()) == 7
    began = time.monotonic()
    response = over_tor.submit("sent through the onion", ("evidence.bin", document))
    onion_rate = UPLOAD_SIZE / (time.monotonic() - began) / 2**20
    assert response.status_code == 200
    assert "We received your submission" in response.text

    direct = HttpSource(f"http://127.0.0.1:{served.source_port}")
    direct.create()
    began = time.monotonic()
    response = direct.submit("sent straight to gunicorn", ("evidence.bin", document))
    direct_rate = UPLOAD_SIZE / (time.monotonic() - began) / 2**20
    assert "We received your submission" in response.text

    record_timing("gunicorn_upload_64MiB_onion_MiB_per_s", onion_rate)
    record_timing("gunicorn_upload_64MiB_direct_MiB_per_s", direct_rate)
    stored = [p for p in (served.data_dir / "store").rglob("*-doc.gz.gpg")]
    assert len(stored) == 2
    assert all(p.stat().st_size > UPLOAD_SIZE for p in stored)


def test_staff_reach_the_journalist_interface_only_with_their_key(tor_network, served):
    staff, outsider = tor_network.clients
    staff.authorize("staff-laptop", served.staff_line)
    response = tor_network.wait_until_reachable(staff, served.urls["journalist"] + "/", 180)
    assert response.status_code == 200
    tor_network.wait_until_reachable(outsider, served.urls["source"] + "/", 180)
    address = served.urls["journalist"].removeprefix("http://")
    codes = tor_network.wait_for_refusal(outsider, address, SOCKS_ONION_MISSING_CLIENT_AUTH)
    assert codes[-1] == SOCKS_ONION_MISSING_CLIENT_AUTH


def test_sigterm_stops_serve_its_tor_and_its_services(tor_network, served):
    children = psutil.Process(served.process.pid).children(recursive=True)
    assert any(child.name() == "tor" for child in children)
    assert served.stop() == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    with pytest.raises(requests.RequestException):
        tor_network.clients[0].get(served.urls["source"] + "/", timeout=60)
