"""Time-stamp requests (core.tsa, core.socks) through tor, for real, sharing this package's
private network fixture: the private Tor network on loopback
(tests/support/tornet.py) carries `skrynka timestamp`'s requests from a tor SOCKS port, through
an exit relay, to the `openssl ts` authority on 127.0.0.1; nothing is faked on the way."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from core.instance import Instance
from core.models import TimestampToken
from core.timestamping import run_timestamping
from core.tsa import tsa_client_from
from tests.support.ports import free_port
from tests.support.staff import make_source
from tests.support.tornet import TorNetwork
from tests.support.tsa import TimestampAuthority

# SQLite only: tor is what is tested, and each test starts one named exit client in the
# session's private network, which a second run of the same test could not start again.
pytestmark = [pytest.mark.tor, pytest.mark.slow, pytest.mark.xdist_group("tor-network"),
              pytest.mark.only_on("sqlite")]


def stamp_through(instance: Instance, proxy: str) -> None:
    settings = replace(instance.settings, tsa_socks_proxy=proxy, dev_mode=False)
    through_tor = replace(instance, settings=settings)
    client = tsa_client_from(settings)
    assert client is not None
    assert client.proxy == proxy
    # Tor circuits in a fresh network can take a few tries: the job's own retries cover it.
    report = run_timestamping(through_tor, client, sleep=time.sleep, delays=(5.0, 10.0, 20.0))
    assert report.failures == [], report.failures
    assert len(report.tokens) == 1


def check_token(instance: Instance, tsa: TimestampAuthority, tmp_path: Path) -> None:
    with instance.sessions() as db:
        token = db.scalars(select(TimestampToken)).one()
        (tmp_path / "token.tsr").write_bytes(token.response)
        (tmp_path / "root.bin").write_bytes(bytes.fromhex(token.tree.root))
    result = subprocess.run(["openssl", "ts", "-verify", "-in", str(tmp_path / "token.tsr"),
                             "-data", str(tmp_path / "root.bin"), "-CAfile",
                             str(tsa.ca.root_pem)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_token_is_fetched_through_a_tor_socks_port(
    tor_network: TorNetwork,
    stamping_instance: Instance, tsa: TimestampAuthority, tmp_path: Path,
) -> None:
    port = free_port()
    tor_network.start_exit_client("tsatcp", f"127.0.0.1:{port}")
    make_source(stamping_instance, "stamped through tor")
    before = tsa.requests
    stamp_through(stamping_instance, f"127.0.0.1:{port}")
    assert tsa.requests > before
    check_token(stamping_instance, tsa, tmp_path)


def test_a_token_is_fetched_through_tors_unix_socks_socket(
    tor_network: TorNetwork,
    stamping_instance: Instance, tsa: TimestampAuthority, tmp_path: Path,
) -> None:
    # As deploy/torrc offers it: `SocksPort unix:/run/tor/socks`, here in a short temp dir.
    directory = Path(tempfile.mkdtemp(prefix="socks-"))
    directory.chmod(0o700)
    socket_path = directory / "socks"
    tor_network.start_exit_client("tsaunix", f"unix:{socket_path}")
    make_source(stamping_instance, "stamped through the unix socket")
    stamp_through(stamping_instance, f"unix:{socket_path}")
    check_token(stamping_instance, tsa, tmp_path)
