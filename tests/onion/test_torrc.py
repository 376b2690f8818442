"""The system-tor route: our key directories work as tor HiddenServiceDirs."""

from __future__ import annotations

import shutil

import pytest
import stem.process

from onion.client_key import generate_client_key
from onion.keystore import OnionKeyStore, ServiceRole
from onion.service_key import generate_service_key
from onion.torrc import render_system_torrc


def config_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.tor
def test_system_tor_derives_our_addresses_from_the_copied_keys(data_dir, tmp_path, tor_binary):
    keystore = OnionKeyStore(data_dir / "onion")
    keystore.add_client("anna", generate_client_key().public_b32)
    services = tmp_path / "var-lib-tor"
    text = render_system_torrc(keystore, 9000, 9001, tor_services_dir=services)
    expected = {}
    for role in ServiceRole:
        target = services / f"skrynka-{role.value}"
        shutil.copytree(keystore.service_dir(role), target)
        # Leave tor only the secret key (and clients): it must derive the rest itself.
        (target / "hostname").unlink()
        (target / "hs_ed25519_public_key").unlink()
        expected[role] = keystore.load_service_key(role).onion_address
    torrc = tmp_path / "torrc"
    header = [f"DataDirectory {tmp_path / 'tor'}", "SocksPort 0", "DisableNetwork 1"]
    torrc.write_text("\n".join([*header, 'GeoIPFile ""', 'GeoIPv6File ""', text]) + "\n")
    process = stem.process.launch_tor(
        tor_binary, torrc_path=str(torrc), completion_percent=0, timeout=60
    )
    try:
        for role in ServiceRole:
            hostname = services / f"skrynka-{role.value}" / "hostname"
            assert hostname.read_text().strip() == expected[role]
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_lines_name_both_services_with_pow(data_dir):
    keystore = OnionKeyStore(data_dir / "onion")
    keystore.add_client("anna", generate_client_key().public_b32)
    lines = config_lines(render_system_torrc(keystore, 9000, 9001))
    assert lines == [
        "HiddenServiceDir /var/lib/tor/skrynka-source",
        "HiddenServicePort 80 127.0.0.1:9000",
        "HiddenServicePoWDefensesEnabled 1",
        "HiddenServiceDir /var/lib/tor/skrynka-journalist",
        "HiddenServicePort 80 127.0.0.1:9001",
        "HiddenServicePoWDefensesEnabled 1",
    ]


def test_an_onionbalance_instance_is_marked_and_told_its_front(data_dir):
    keystore = OnionKeyStore(data_dir / "onion")
    keystore.add_client("anna", generate_client_key().public_b32)
    front = generate_service_key().onion_address
    text = render_system_torrc(keystore, 9000, 9001, onionbalance_front=front)
    assert config_lines(text) == [
        "HiddenServiceDir /var/lib/tor/skrynka-source",
        "HiddenServicePort 80 127.0.0.1:9000",
        "HiddenServiceOnionbalanceInstance 1",
        "HiddenServiceDir /var/lib/tor/skrynka-journalist",
        "HiddenServicePort 80 127.0.0.1:9001",
        "HiddenServicePoWDefensesEnabled 1",
    ]
    assert f"echo 'MasterOnionAddress {front}' > /var/lib/tor/skrynka-source/ob_config" in text
