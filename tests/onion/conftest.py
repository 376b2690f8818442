"""Fixtures for the onion tests: real tor processes, offline (DisableNetwork 1)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stem.process

from tests.support.ports import free_port

# The private Tor network, shared by the whole session (see tests/support/tornet.py).
from tests.support.tornet import tor_network  # noqa: F401


@pytest.fixture(scope="session")
def tor_binary() -> str:
    found = shutil.which("tor") or shutil.which("tor", path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.skip("tor is not installed (apt install tor): the onion tests need a real tor")
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return directory


@dataclass
class SystemTor:
    """A tor started like a system service would be: TCP control port, password auth."""

    data_dir: Path
    control_port: int
    password: str
    binary: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        hashed = subprocess.run(
            [self.binary, "--hash-password", self.password, "--quiet"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        self.process = stem.process.launch_tor_with_config(
            {
                "DataDirectory": str(self.data_dir),
                "ControlPort": f"127.0.0.1:{self.control_port}",
                "HashedControlPassword": hashed,
                "SocksPort": "0",
                "DisableNetwork": "1",
                "GeoIPFile": "",
                "GeoIPv6File": "",
            },
            tor_cmd=self.binary,
            completion_percent=0,
            timeout=60,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None


@pytest.fixture
def system_tor(tmp_path: Path, tor_binary: str) -> Iterator[SystemTor]:
    tor_dir = tmp_path / "system-tor"
    tor_dir.mkdir(mode=0o700)
    tor = SystemTor(tor_dir, free_port(), "correct horse battery staple", tor_binary)
    tor.start()
    try:
        yield tor
    finally:
        tor.stop()
