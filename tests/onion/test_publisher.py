"""Publishing the two onion services through a real, offline tor (DisableNetwork 1)."""

from __future__ import annotations

import nacl.bindings
import pytest

from onion.address import address_from_public_key
from onion.client_key import generate_client_key
from onion.errors import BalanceNeedsOwnTor, OnionError, OnionPublishFailed
from onion.keystore import OnionKeyStore, ServiceRole
from onion.publisher import (
    POW_MINIMUM_VERSION,
    OnionPublisher,
    read_onion_status,
    refresh_journalist_service,
)
from onion.service_key import generate_service_key, parse_secret_key_file
from onion.tor_connection import ControlPortSpec, LaunchSpec, open_tor_connection
from server.cli import keep_onions_published
from tests.support.onion import OFFLINE

pytestmark = pytest.mark.tor

SOURCE_PORT, JOURNALIST_PORT = 18080, 18081


def address_implied_by_stored_key(data_dir, role):
    """Derive the address from the secret key file alone, independently of onion/."""
    secret_file = data_dir / "onion" / role / "hs_ed25519_secret_key"
    expanded = parse_secret_key_file(secret_file.read_bytes())
    public = bytes(nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(expanded[:32]))
    return address_from_public_key(public) + ".onion"


def hosted_by(connection):
    return set(connection.info("onions/detached").split()) | set(
        connection.info("onions/current").split()
    )


def authorise(data_dir, *names):
    keystore = OnionKeyStore(data_dir / "onion")
    return {name: keystore.add_client(name, generate_client_key().public_b32) for name in names}


@pytest.fixture
def launched(tor_binary):
    return LaunchSpec(tor_binary, OFFLINE)


@pytest.fixture
def system_spec(system_tor):
    return ControlPortSpec("127.0.0.1", system_tor.control_port, system_tor.password)


def test_publish_returns_the_addresses_the_stored_keys_imply(data_dir, launched):
    authorise(data_dir, "anna")
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        ids = hosted_by(publisher.connection)
    assert published.source == address_implied_by_stored_key(data_dir, "source")
    assert published.journalist == address_implied_by_stored_key(data_dir, "journalist")
    assert published.source != published.journalist
    assert {published.source[:56], published.journalist[:56]} <= ids
    assert published.source_url == f"http://{published.source}"


def test_addresses_survive_a_restart_of_tor_and_publisher(data_dir, launched):
    authorise(data_dir, "anna")
    with OnionPublisher(data_dir, launched) as publisher:
        first = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        first_tor = publisher.connection.process
    assert first_tor.poll() is not None, "close() stops the tor it launched"
    with OnionPublisher(data_dir, launched) as publisher:
        second = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        ids = hosted_by(publisher.connection)
    assert (second.source, second.journalist) == (first.source, first.journalist)
    assert {second.source[:56], second.journalist[:56]} <= ids


def test_addresses_survive_a_restart_of_a_system_tor(data_dir, system_tor, system_spec):
    authorise(data_dir, "anna")
    with OnionPublisher(data_dir, system_spec) as publisher:
        first = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
    system_tor.stop()
    system_tor.start()
    with OnionPublisher(data_dir, system_spec) as publisher:
        second = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        assert {second.source[:56], second.journalist[:56]} <= hosted_by(publisher.connection)
    assert (second.source, second.journalist) == (first.source, first.journalist)


def test_close_removes_both_services_but_leaves_a_system_tor_running(
    data_dir, system_tor, system_spec
):
    authorise(data_dir, "anna")
    with OnionPublisher(data_dir, system_spec) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
    assert system_tor.process.poll() is None
    observer = open_tor_connection(system_spec, data_dir)
    try:
        ids = hosted_by(observer)
    finally:
        observer.close()
    assert published.source[:56] not in ids
    assert published.journalist[:56] not in ids


def test_journalist_service_is_not_published_without_staff_devices(data_dir, launched):
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        ids = hosted_by(publisher.connection)
    assert published.source[:56] in ids
    assert not published.journalist_published
    assert published.journalist[:56] not in ids


def test_staff_devices_added_and_removed_are_what_tor_confirms(data_dir, launched):
    clients = authorise(data_dir, "anna")
    keystore = OnionKeyStore(data_dir / "onion")
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        assert published.journalist_client_keys == {clients["anna"].public_b32}

        clients |= authorise(data_dir, "boris", "chen")
        assert publisher.refresh_clients() == {c.public_b32 for c in clients.values()}

        keystore.remove_client("anna")
        assert publisher.refresh_clients() == {
            clients["boris"].public_b32,
            clients["chen"].public_b32,
        }
        assert published.journalist[:56] in hosted_by(publisher.connection)

        keystore.remove_client("boris")
        keystore.remove_client("chen")
        assert publisher.refresh_clients() == frozenset()
        assert published.journalist[:56] not in hosted_by(publisher.connection)


def test_another_process_can_update_the_staff_devices_of_a_running_service(data_dir, launched):
    authorise(data_dir, "anna")
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        boris = authorise(data_dir, "boris")["boris"]
        # As `skrynka onion add-client` does: its own connection, found through the data dir.
        refresh = refresh_journalist_service(data_dir, None)
        assert refresh is not None
        assert boris.public_b32 in refresh.journalist_client_keys
        assert len(refresh.journalist_client_keys) == 2
        assert published.journalist[:56] in hosted_by(publisher.connection)


def test_nothing_to_refresh_when_no_service_runs(data_dir):
    authorise(data_dir, "anna")
    assert refresh_journalist_service(data_dir, None) is None


def test_stale_services_left_by_a_crash_are_replaced(data_dir, system_spec):
    authorise(data_dir, "anna")
    crashed = OnionPublisher(data_dir, system_spec)
    first = crashed.publish(SOURCE_PORT, JOURNALIST_PORT)
    crashed.connection.controller.close()  # gone without DEL_ONION, as after a SIGKILL
    with OnionPublisher(data_dir, system_spec) as publisher:
        second = publisher.publish(SOURCE_PORT + 10, JOURNALIST_PORT + 10)
    assert second.source == first.source


def test_address_held_by_someone_else_is_a_publish_failure(data_dir, system_spec):
    key = OnionKeyStore(data_dir / "onion").ensure_service_key(ServiceRole.SOURCE)
    squatter = open_tor_connection(system_spec, data_dir)
    try:
        ok, _ = squatter.command(f"ADD_ONION {key.add_onion_key()} Port=80,127.0.0.1:9")
        assert ok
        with pytest.raises(OnionPublishFailed, match="source") as caught:
            OnionPublisher(data_dir, system_spec).publish(SOURCE_PORT, JOURNALIST_PORT)
        assert "collision" in str(caught.value).lower()
    finally:
        squatter.close()


def test_proof_of_work_defence_is_on_where_tor_has_it(data_dir, launched):
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        version = publisher.connection.version()
    assert version >= POW_MINIMUM_VERSION, "Debian's tor 0.4.9 has the defence"
    assert published.pow_defense is True


def test_tor_rejects_a_bad_proof_of_work_setting(data_dir, launched):
    """So tor accepting `PoWDefensesEnabled=1` above means it understood it."""
    key = OnionKeyStore(data_dir / "onion").ensure_service_key(ServiceRole.SOURCE)
    with OnionPublisher(data_dir, launched) as publisher:
        publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        publisher.close()
    connection = open_tor_connection(launched, data_dir / "tor")
    try:
        ok, lines = connection.command(
            f"ADD_ONION {key.add_onion_key()} PoWDefensesEnabled=maybe Port=80,127.0.0.1:9"
        )
    finally:
        connection.close()
    assert not ok, lines


def test_status_reports_addresses_devices_and_publication(data_dir, launched):
    authorise(data_dir, "anna", "boris")
    before = read_onion_status(data_dir, None)
    assert before.source.address is None
    assert before.client_names == ("anna", "boris")
    with OnionPublisher(data_dir, launched) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        during = read_onion_status(data_dir, None)
    after = read_onion_status(data_dir, None)
    assert during.source.address == published.source
    assert during.source.published is True
    assert during.journalist.published is True
    assert during.tor is not None
    assert "control.sock" in during.tor
    assert after.source.published is None  # tor gone: not asked, not guessed
    assert after.journalist.address == published.journalist


def test_a_restarted_system_tor_gets_the_same_services_and_staff_devices_again(
    data_dir, system_tor, system_spec, caplog
):
    clients = authorise(data_dir, "anna", "boris")
    with OnionPublisher(data_dir, system_spec) as publisher:
        first = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        assert publisher.keep_published() is None  # nothing lost, nothing done

        system_tor.stop()
        # While tor is down, serve's watch logs and carries on.
        keep_onions_published(publisher)
        assert "tor is not back yet" in caplog.text
        with pytest.raises(OnionError):
            publisher.keep_published()

        system_tor.start()
        again = publisher.keep_published()
        assert again is not None
        assert (again.source, again.journalist) == (first.source, first.journalist)
        assert again.journalist_client_keys == {c.public_b32 for c in clients.values()}
        assert {first.source[:56], first.journalist[:56]} <= hosted_by(publisher.connection)
        assert publisher.keep_published() is None


def test_a_launched_tor_that_died_is_launched_again_with_the_same_services(data_dir, launched):
    clients = authorise(data_dir, "anna")
    with OnionPublisher(data_dir, launched) as publisher:
        first = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        dead = publisher.connection.process
        dead.kill()
        dead.wait(timeout=30)
        keep_onions_published(publisher)
        assert publisher.connection.process is not dead
        assert publisher.connection.process.poll() is None
        assert {first.source[:56], first.journalist[:56]} <= hosted_by(publisher.connection)
        assert publisher.keep_published() is None
    assert clients


def test_an_onionbalance_instance_hosts_its_source_service_from_the_launched_torrc(
    data_dir, launched
):
    authorise(data_dir, "anna")
    front = generate_service_key().onion_address
    with OnionPublisher(data_dir, launched, onionbalance_front=front) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        controller = publisher.connection.controller
        service_dir = data_dir / "onion" / "source"
        assert controller.get_conf("HiddenServiceDir") == str(service_dir)
        assert controller.get_conf("HiddenServiceOnionbalanceInstance") == "1"
        assert controller.get_conf("HiddenServicePort") == f"80 127.0.0.1:{SOURCE_PORT}"
        # tor read the key we keep and wrote back the address it implies.
        assert (service_dir / "hostname").read_text().strip() == published.source
        assert (service_dir / "ob_config").read_text() == f"MasterOnionAddress {front}\n"
        # Only the journalist service is added over the control port.
        assert published.source[:56] not in hosted_by(publisher.connection)
        assert published.journalist[:56] in hosted_by(publisher.connection)
        assert publisher.keep_published() is None, "a torrc service is not published again"
    assert published.source == address_implied_by_stored_key(data_dir, "source")
    assert published.onionbalance_front == front
    assert not published.pow_defense


def test_an_onionbalance_instance_whose_tor_died_gets_it_back(data_dir, launched):
    front = generate_service_key().onion_address
    with OnionPublisher(data_dir, launched, onionbalance_front=front) as publisher:
        publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        dead = publisher.connection.process
        dead.kill()
        dead.wait(timeout=30)
        keep_onions_published(publisher)
        assert publisher.connection.process is not dead
        controller = publisher.connection.controller
        assert controller.get_conf("HiddenServiceOnionbalanceInstance") == "1"
        # The torrc lines are added once, not once per relaunch.
        assert controller.get_conf("HiddenServiceDir", multiple=True) == [
            str(data_dir / "onion" / "source")
        ]


def test_an_onionbalance_instance_refuses_a_tor_it_did_not_launch(data_dir):
    front = generate_service_key().onion_address
    publisher = OnionPublisher(data_dir, ControlPortSpec("127.0.0.1", 9), onionbalance_front=front)
    with pytest.raises(BalanceNeedsOwnTor, match="only for services in its torrc"):
        publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
    assert not (data_dir / "onion" / "source" / "ob_config").exists()


def test_status_and_staff_devices_work_for_an_onionbalance_instance(data_dir, launched):
    front = generate_service_key().onion_address
    with OnionPublisher(data_dir, launched, onionbalance_front=front) as publisher:
        published = publisher.publish(SOURCE_PORT, JOURNALIST_PORT)
        status = read_onion_status(data_dir, None)
        assert status.source.address == published.source
        assert status.source.published is True
        assert status.journalist.published is False
        # `skrynka onion add-client` from another process reaches the running instance.
        authorise(data_dir, "anna")
        refresh = refresh_journalist_service(data_dir, None)
        assert refresh is not None
        assert refresh.journalist_published
        assert published.journalist[:56] in hosted_by(publisher.connection)
