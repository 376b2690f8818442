"""Publishing the source and journalist onion services through tor's control port.

The flow `skrynka serve` drives: `OnionPublisher(data_dir, spec).publish(source_port,
journalist_port)` makes sure both keys exist, connects to (or launches) tor, removes any stale
copy of our services, and adds them with ADD_ONION:

- source: `Port=80,127.0.0.1:<source_port>`, public;
- journalist: `Port=80,127.0.0.1:<journalist_port>` with `Flags=V3Auth` and one `ClientAuthV3`
  per authorised staff device (stem's helper takes only one key, so we build the command).
  With no device authorised the journalist service is not published at all: never
  unrestricted.

An app server behind an Onionbalance front (`onionbalance_front=`) hosts its source service
from the torrc of the tor it launches instead (`onion.balance`: tor accepts Onionbalance
instances only there); a tor it did not launch is refused with BalanceNeedsOwnTor.

Services are added `Detach`ed so that `skrynka onion add-client` (another process, another
control connection) can replace the journalist service while `serve` runs. `close()` removes
both again. Tor's answer is checked against the stored key: a ServiceID other than the stored
address is an error, not a new address.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import stem
import stem.control
import stem.response.events
import stem.version

from onion.balance import check_onion_address, instance_torrc_lines, write_ob_config
from onion.errors import BalanceNeedsOwnTor, OnionError, OnionPublishFailed
from onion.keystore import OnionKeyStore, PublishedPorts, ServiceRole
from onion.service_key import ServiceKey
from onion.tor_connection import (
    ControllerSpec,
    LaunchSpec,
    TorConnection,
    find_launched_tor,
    open_tor_connection,
)

log = logging.getLogger(__name__)

VIRTUAL_PORT = 80
# ADD_ONION learnt PoWDefensesEnabled with the proof-of-work defence (tor 0.4.8/0.4.9).
POW_MINIMUM_VERSION = stem.version.Version("0.4.8.1-alpha")


@dataclass(frozen=True)
class PublishedAddresses:
    """What `publish` registered with tor."""

    source: str
    journalist: str
    journalist_published: bool
    journalist_client_keys: frozenset[str]
    pow_defense: bool
    # The address sources use when `source` is an Onionbalance instance behind it.
    onionbalance_front: str | None = None

    @property
    def source_url(self) -> str:
        return f"http://{self.source}"

    @property
    def journalist_url(self) -> str:
        return f"http://{self.journalist}"


@dataclass(frozen=True)
class ServiceStatus:
    role: ServiceRole
    address: str | None
    published: bool | None


@dataclass(frozen=True)
class OnionStatus:
    """What the data dir holds and, when a tor could be asked, what tor hosts."""

    source: ServiceStatus
    journalist: ServiceStatus
    client_names: tuple[str, ...]
    tor: str | None
    tor_problem: str | None


def onion_dir_of(data_dir: Path) -> Path:
    return data_dir / "onion"


def tor_dir_of(data_dir: Path) -> Path:
    return data_dir / "tor"


class _ServiceRegistry:
    """ADD_ONION / DEL_ONION for our two services over one connection."""

    def __init__(self, connection: TorConnection, keystore: OnionKeyStore) -> None:
        self.connection = connection
        self.keystore = keystore
        self.pow_supported = connection.version() >= POW_MINIMUM_VERSION

    def hosted_ids(self) -> set[str]:
        ids: set[str] = set()
        for key in ("onions/current", "onions/detached"):
            ids.update(line.strip() for line in self.connection.info(key).splitlines())
        ids.discard("")
        return ids

    def torrc_hosted_ids(self) -> set[str]:
        """Ids of our services that tor hosts from its torrc (an Onionbalance instance's
        source service): those whose key directory is one of tor's HiddenServiceDirs."""
        try:
            configured = self.connection.controller.get_conf("HiddenServiceDir", multiple=True)
        except (stem.ControllerError, ValueError):
            # stem raises ValueError when tor has no HiddenService option at all.
            return set()
        ids: set[str] = set()
        for role in ServiceRole:
            key = self.keystore.load_service_key(role)
            if key is not None and str(self.keystore.service_dir(role)) in configured:
                ids.add(key.service_id)
        return ids

    def remove(self, key: ServiceKey) -> None:
        if key.service_id in self.hosted_ids():
            ok, lines = self.connection.command(f"DEL_ONION {key.service_id}")
            if not ok:
                raise OnionPublishFailed(key.service_id, "; ".join(lines))

    def add(
        self, role: ServiceRole, key: ServiceKey, port: int, client_keys: list[str]
    ) -> tuple[frozenset[str], bool]:
        """Publish; returns the client keys tor confirmed and whether PoW is on."""
        self.remove(key)
        flags = ["Detach"] + (["V3Auth"] if client_keys else [])
        words = [f"ADD_ONION {key.add_onion_key()}", "Flags=" + ",".join(flags)]
        words.append(f"Port={VIRTUAL_PORT},127.0.0.1:{port}")
        words.extend(f"ClientAuthV3={client}" for client in client_keys)
        pow_defense = self.pow_supported
        ok, lines = self.connection.command(
            " ".join([*words, "PoWDefensesEnabled=1"] if pow_defense else words)
        )
        if not ok and pow_defense and any("PoW" in line for line in lines):
            # A tor built without the GPL'd Equi-X solver rejects the option.
            log.warning("tor refused the proof-of-work defence; publishing without it")
            pow_defense = False
            ok, lines = self.connection.command(" ".join(words))
        if not ok:
            raise OnionPublishFailed(role.value, "; ".join(lines))
        replied = dict(line.split("=", 1) for line in lines if "=" in line)
        if replied.get("ServiceID") != key.service_id:
            raise OnionPublishFailed(role.value, "tor derived another address from the stored key")
        confirmed = frozenset(
            line.split("=", 1)[1] for line in lines if line.startswith("ClientAuthV3=")
        )
        if confirmed != frozenset(client_keys):
            raise OnionPublishFailed(role.value, "tor did not confirm every staff device key")
        return confirmed, pow_defense


class OnionPublisher:
    """Publishes the two onion services of one instance for as long as it is open."""

    def __init__(
        self, data_dir: Path, spec: ControllerSpec, *, onionbalance_front: str | None = None
    ) -> None:
        self.data_dir = data_dir
        self.spec = spec
        # The tor to launch for an Onionbalance instance: `spec` plus the service's torrc lines.
        self._base_spec = spec
        self.onionbalance_front = (
            None
            if onionbalance_front is None
            else check_onion_address(onionbalance_front, "Onionbalance front address")
        )
        self.keystore = OnionKeyStore(onion_dir_of(data_dir))
        self._connection: TorConnection | None = None
        self._registry: _ServiceRegistry | None = None
        self._keys: dict[ServiceRole, ServiceKey] = {}

    @property
    def connection(self) -> TorConnection | None:
        return self._connection

    def publish(
        self, source_port: int, journalist_port: int, *, upload_timeout: float | None = None
    ) -> PublishedAddresses:
        """Publish both services; with `upload_timeout`, also wait until tor reports each
        descriptor uploaded to an HSDir (only possible when tor is on a network)."""
        for role in ServiceRole:
            self._keys[role] = self.keystore.ensure_service_key(role)
        ports = PublishedPorts(source_port, journalist_port)
        if self.onionbalance_front is not None:
            self._prepare_instance(source_port)
        registry = self._open()
        clients = [client.public_b32 for client in self.keystore.list_clients()]
        watched: set[str] = set()
        if upload_timeout is not None:
            watched.add(self._keys[ServiceRole.SOURCE].service_id)
            if clients:
                watched.add(self._keys[ServiceRole.JOURNALIST].service_id)
        # Listen before adding: the first upload can follow ADD_ONION within milliseconds.
        uploads = _UploadWatch(registry.connection, watched)
        try:
            pow_defense = False
            if self.onionbalance_front is None:
                _, pow_defense = registry.add(
                    ServiceRole.SOURCE, self._keys[ServiceRole.SOURCE], source_port, []
                )
            confirmed = self._publish_journalist(registry, journalist_port, clients)
            self.keystore.save_ports(ports)
            if upload_timeout is not None:
                uploads.wait(upload_timeout)
        finally:
            uploads.stop()
        log.info("onion services published (%d staff devices authorised)", len(clients))
        return PublishedAddresses(
            source=self._keys[ServiceRole.SOURCE].onion_address,
            journalist=self._keys[ServiceRole.JOURNALIST].onion_address,
            journalist_published=bool(clients),
            journalist_client_keys=confirmed,
            pow_defense=pow_defense,
            onionbalance_front=self.onionbalance_front,
        )

    def refresh_clients(self) -> frozenset[str]:
        """Re-publish the journalist service with the staff devices stored now."""
        ports = self.keystore.load_ports()
        if self._registry is None or ports is None:
            raise OnionError("the onion services are not published; call publish() first")
        clients = [client.public_b32 for client in self.keystore.list_clients()]
        return self._publish_journalist(self._registry, ports.journalist_port, clients)

    def keep_published(self) -> PublishedAddresses | None:
        """Publish the services again if tor lost them; None when tor still hosts them.

        A tor that restarted (the control connection is gone) or was told to drop services
        forgets ephemeral onion services. They are published again from the same stored keys,
        so the addresses do not change, with the staff devices stored now, on the ports of the
        last :meth:`publish`. Raises OnionError while tor is not back yet: call again later.
        """
        ports = self.keystore.load_ports()
        if ports is None or ServiceRole.SOURCE not in self._keys:
            raise OnionError("the onion services are not published; call publish() first")
        wanted = set()
        if self.onionbalance_front is None:
            # An Onionbalance instance's source service is in the launched tor's torrc: it
            # lives as long as that tor, whose loss the hosted_ids() call below notices.
            wanted.add(self._keys[ServiceRole.SOURCE].service_id)
        if self.keystore.list_clients():
            wanted.add(self.keystore.ensure_service_key(ServiceRole.JOURNALIST).service_id)
        if self._registry is not None:
            try:
                if wanted <= self._registry.hosted_ids():
                    return None
            except OnionError:
                pass  # the connection died with tor: open a new one below
        self._forget_connection()
        log.warning("tor no longer hosts the onion services (restarted?); publishing them again")
        return self.publish(ports.source_port, ports.journalist_port)

    def _prepare_instance(self, source_port: int) -> None:
        """Write ob_config and launch tor with the source service in its torrc."""
        assert self.onionbalance_front is not None
        if not isinstance(self._base_spec, LaunchSpec):
            raise BalanceNeedsOwnTor(self._base_spec.describe())
        service_dir = self.keystore.service_dir(ServiceRole.SOURCE)
        write_ob_config(service_dir, self.onionbalance_front)
        base = self._base_spec
        self.spec = LaunchSpec(
            tor_binary=base.tor_binary,
            extra_torrc=(*base.extra_torrc, *instance_torrc_lines(service_dir, source_port)),
            timeout=base.timeout,
        )

    def _forget_connection(self) -> None:
        connection, self._connection, self._registry = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Remove both services from tor and close the connection (stopping a launched tor)."""
        connection, self._connection = self._connection, None
        registry, self._registry = self._registry, None
        if connection is None or registry is None:
            return
        try:
            for key in self._keys.values():
                registry.remove(key)
        except OnionError as error:
            log.warning("could not remove the onion services: %s", error)
        finally:
            connection.close()

    def __enter__(self) -> OnionPublisher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self) -> _ServiceRegistry:
        if self._registry is None:
            connection = open_tor_connection(self.spec, tor_dir_of(self.data_dir))
            try:
                self._registry = _ServiceRegistry(connection, self.keystore)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._registry

    def _publish_journalist(
        self, registry: _ServiceRegistry, port: int, clients: list[str]
    ) -> frozenset[str]:
        key = self.keystore.ensure_service_key(ServiceRole.JOURNALIST)
        self._keys[ServiceRole.JOURNALIST] = key
        if not clients:
            registry.remove(key)
            log.warning(
                "journalist interface not published: no staff device is authorised yet "
                "(skrynka onion add-client NAME)"
            )
            return frozenset()
        confirmed, _ = registry.add(ServiceRole.JOURNALIST, key, port, clients)
        return confirmed


class _UploadWatch:
    """Waits for HS_DESC UPLOADED events for the given service ids."""

    def __init__(self, connection: TorConnection, service_ids: set[str]) -> None:
        self.connection = connection
        self.pending = set(service_ids)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.listening = bool(self.pending)
        if self.listening:
            connection.controller.add_event_listener(self._on_event, stem.control.EventType.HS_DESC)

    def _on_event(self, event: stem.response.events.HSDescEvent) -> None:
        if event.action == stem.HSDescAction.UPLOADED:
            with self.lock:
                self.pending.discard(event.address)
                if not self.pending:
                    self.done.set()

    def wait(self, timeout: float) -> None:
        started = time.monotonic()
        if not self.done.wait(timeout):
            raise OnionPublishFailed(
                ", ".join(sorted(self.pending)),
                f"no descriptor upload within {timeout:.0f} s; is tor connected to the network?",
            )
        log.info("onion descriptors uploaded after %.1f s", time.monotonic() - started)

    def stop(self) -> None:
        if self.listening:
            self.listening = False
            with contextlib.suppress(stem.ControllerError):
                self.connection.controller.remove_event_listener(self._on_event)


def read_onion_status(data_dir: Path, spec: ControllerSpec | None) -> OnionStatus:
    """Addresses from the data dir; published or not from tor when one can be reached.

    Without a spec, the tor that `skrynka serve` launched for this data dir is asked if it
    runs. A spec that would launch a tor is not followed: status never starts one.
    """
    keystore = OnionKeyStore(onion_dir_of(data_dir))
    keys = {role: keystore.load_service_key(role) for role in ServiceRole}
    names = tuple(client.name for client in keystore.list_clients())
    if spec is None or isinstance(spec, LaunchSpec):
        spec = find_launched_tor(tor_dir_of(data_dir))
    hosted: set[str] | None = None
    where: str | None = None
    problem: str | None = None
    if spec is not None and not isinstance(spec, LaunchSpec):
        where = spec.describe()
        try:
            connection = open_tor_connection(spec, tor_dir_of(data_dir))
            try:
                registry = _ServiceRegistry(connection, keystore)
                hosted = registry.hosted_ids() | registry.torrc_hosted_ids()
            finally:
                connection.close()
        except OnionError as error:
            problem = str(error)

    def status_of(role: ServiceRole) -> ServiceStatus:
        key = keys[role]
        if key is None:
            return ServiceStatus(role, None, None)
        return ServiceStatus(
            role, key.onion_address, None if hosted is None else key.service_id in hosted
        )

    return OnionStatus(
        status_of(ServiceRole.SOURCE), status_of(ServiceRole.JOURNALIST), names, where, problem
    )


@dataclass(frozen=True)
class ClientRefresh:
    """A running journalist service re-published with a new set of staff devices."""

    tor: str
    journalist_published: bool
    journalist_client_keys: frozenset[str]


def refresh_journalist_service(data_dir: Path, spec: ControllerSpec | None) -> ClientRefresh | None:
    """After a staff device was added or removed: if a reachable tor hosts this instance's
    services, re-publish the journalist service with the stored devices. None when no running
    service was found (the change then applies at the next publish)."""
    keystore = OnionKeyStore(onion_dir_of(data_dir))
    key = keystore.load_service_key(ServiceRole.JOURNALIST)
    ports = keystore.load_ports()
    if spec is None or isinstance(spec, LaunchSpec):
        spec = find_launched_tor(tor_dir_of(data_dir))
    if key is None or ports is None or spec is None or isinstance(spec, LaunchSpec):
        return None
    connection = open_tor_connection(spec, tor_dir_of(data_dir))
    try:
        registry = _ServiceRegistry(connection, keystore)
        source = keystore.load_service_key(ServiceRole.SOURCE)
        running = registry.hosted_ids() | registry.torrc_hosted_ids()
        # Only touch a tor that hosts this instance: its source service marks a live serve.
        if source is None or source.service_id not in running:
            return None
        clients = [client.public_b32 for client in keystore.list_clients()]
        confirmed: frozenset[str] = frozenset()
        if clients:
            confirmed, _ = registry.add(ServiceRole.JOURNALIST, key, ports.journalist_port, clients)
        else:
            registry.remove(key)
        return ClientRefresh(connection.where, bool(clients), confirmed)
    finally:
        connection.close()
