"""An Onionbalance front in the private Tor network: a tor client and the `onionbalance` daemon.

The daemon is Debian's `onionbalance` (0.2.2), run unmodified with `--is-testnet`. That mode
assumes chutney's 20-second voting interval when it computes time periods, SRV runs and
revision counters (onionbalance/hs_v3/consensus.py), while tor derives them from the real
interval; so the network it joins must vote every 20 s (`TorNetwork(voting_interval=20)`), or
the front's descriptor is blinded for the wrong period and no client finds it.

It also hangs for good when it computes where to upload while the consensus has at most 4
HSDirs (HSDIR_SPREAD_STORE): filling the second replica it skips every HSDir the first one
took and never leaves the loop (hs_v3/hashring.py), and that loop runs on stem's event thread,
so no instance descriptor is processed afterwards either. A network of 3 authorities and 3
relays has 6 HSDirs; `start()` waits until the front's tor knows them all before it starts
onionbalance, since a network that just bootstrapped may not have voted every relay in yet.

Measured here: onionbalance waits 45 s before its first scheduled publish
(INITIAL_CALLBACK_DELAY); the publish it tries on each new consensus runs just before its fetch
and finds the instances' descriptors more than 20 s old ("offline"), so in practice the front
is published by the scheduled job, ~50 s after start, and reachable a few seconds later.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import stem.control

from tests.support.tornet import TorNetwork, TorNetworkError, TorNode, _die_with_parent

ONIONBALANCE = "/usr/sbin/onionbalance"
# What onionbalance's --is-testnet mode takes the voting interval to be.
TESTNET_VOTING_INTERVAL = 20


def find_onionbalance() -> str | None:
    return shutil.which("onionbalance", path="/usr/sbin:/usr/bin") or None


@dataclass
class OnionbalanceFront:
    """`start()` joins the network and runs onionbalance with `config`; `stop()` ends both."""

    network: TorNetwork
    config: Path
    log_path: Path
    binary: str = ONIONBALANCE
    tor: TorNode | None = None
    process: subprocess.Popen[bytes] | None = None

    def join_network(self) -> None:
        """Start the front's tor (it bootstraps while the app servers start)."""
        if self.network.voting_interval != TESTNET_VOTING_INTERVAL:
            raise ValueError("onionbalance --is-testnet needs a network voting every 20 s")
        self.tor = self.network.start_controller_client("front")

    def start(self) -> None:
        """Wait for the front's tor to bootstrap, then start onionbalance on it."""
        if self.tor is None:
            self.join_network()
        assert self.tor is not None
        self.network.wait_for_node(self.tor)
        self.wait_for_every_hsdir()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--is-testnet",
                    "--verbosity",
                    "info",
                    "--config",
                    str(self.config),
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.tor.control_port),
                    # Its default socket is the system tor's; point it nowhere so it uses --port.
                    "--socket",
                    str(self.log_path.parent / "no-control-socket"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # only sets the parent-death signal
            )

    def wait_for_every_hsdir(self, timeout: float = 120) -> None:
        """Until the front's tor has every relay of the network as an HSDir with its
        microdescriptor, as onionbalance builds its hash ring from them."""
        assert self.tor is not None
        wanted = len(self.network.authorities) + self.network.relay_count
        deadline = time.monotonic() + timeout
        with stem.control.Controller.from_port("127.0.0.1", self.tor.control_port) as tor:
            tor.authenticate()
            while True:
                usable = [
                    status
                    for status in tor.get_network_statuses([])
                    if "HSDir" in status.flags
                    and tor.get_microdescriptor(status.fingerprint, None) is not None
                ]
                if len(usable) >= wanted:
                    return
                if time.monotonic() > deadline:
                    raise TorNetworkError(
                        f"the front's tor knows {len(usable)} of {wanted} HSDirs after "
                        f"{timeout:.0f} s; onionbalance would hang with fewer than 5"
                    )
                time.sleep(1)

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no onionbalance log)"
        return "\n".join(text.splitlines()[-lines:])

    def published(self) -> bool:
        """True once onionbalance has uploaded a descriptor for the front."""
        try:
            return "Uploading first descriptor" in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def published_from(self, instances: int) -> bool:
        """True once onionbalance has uploaded a descriptor built from the introduction points
        of ``instances`` app servers. Its first upload may come from whichever instance's
        descriptor it fetched first, and a client keeps the descriptor it fetched: a source
        that came that early would reach only that app server until the descriptor expires."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return False
        built = text.rfind(f" intros from {instances} instances.")
        return built >= 0 and "Uploading" in text[built:]

    def wait_until_published_from(self, instances: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.published_from(instances):
            if time.monotonic() > deadline:
                raise TorNetworkError(
                    f"onionbalance published no descriptor from {instances} app servers in "
                    f"{timeout:.0f} s"
                )
            time.sleep(1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None
        if self.tor is not None:
            self.tor.stop()
