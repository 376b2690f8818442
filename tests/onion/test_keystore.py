"""Onion keys and staff devices on disk: private, atomic, persistent, and safe on bad input."""

from __future__ import annotations

import os
import stat

import pytest

from onion.client_key import generate_client_key
from onion.errors import ClientExists, ClientNameInvalid, ClientUnknown, OnionKeyInvalid
from onion.keystore import OnionKeyStore, PublishedPorts, ServiceRole


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def keystore(data_dir):
    return OnionKeyStore(data_dir / "onion")


def test_no_key_until_one_is_asked_for(keystore):
    assert keystore.load_service_key(ServiceRole.SOURCE) is None
    assert not keystore.onion_dir.exists()


def test_created_key_is_stored_privately_in_tors_layout(keystore):
    key = keystore.ensure_service_key(ServiceRole.SOURCE)
    directory = keystore.service_dir(ServiceRole.SOURCE)
    assert mode_of(keystore.onion_dir) == 0o700
    assert mode_of(directory) == 0o700
    names = sorted(os.listdir(directory))
    assert names == ["hostname", "hs_ed25519_public_key", "hs_ed25519_secret_key"]
    for name in names:
        assert mode_of(directory / name) == 0o600
    assert (directory / "hostname").read_text() == key.onion_address + "\n"


def test_stored_key_is_reused(keystore):
    first = keystore.ensure_service_key(ServiceRole.JOURNALIST)
    again = OnionKeyStore(keystore.onion_dir).ensure_service_key(ServiceRole.JOURNALIST)
    assert again.expanded_secret == first.expanded_secret
    assert again.onion_address == first.onion_address


def test_source_and_journalist_get_different_keys(keystore):
    source = keystore.ensure_service_key(ServiceRole.SOURCE)
    journalist = keystore.ensure_service_key(ServiceRole.JOURNALIST)
    assert source.onion_address != journalist.onion_address


def test_tampered_hostname_is_refused_not_replaced(keystore):
    keystore.ensure_service_key(ServiceRole.SOURCE)
    hostname = keystore.service_dir(ServiceRole.SOURCE) / "hostname"
    hostname.write_text("x" * 56 + ".onion\n")
    secret_before = (hostname.parent / "hs_ed25519_secret_key").read_bytes()
    with pytest.raises(OnionKeyInvalid, match="backup"):
        keystore.ensure_service_key(ServiceRole.SOURCE)
    assert (hostname.parent / "hs_ed25519_secret_key").read_bytes() == secret_before


def test_truncated_secret_key_is_refused(keystore):
    keystore.ensure_service_key(ServiceRole.SOURCE)
    secret = keystore.service_dir(ServiceRole.SOURCE) / "hs_ed25519_secret_key"
    secret.write_bytes(secret.read_bytes()[:50])
    with pytest.raises(OnionKeyInvalid):
        keystore.load_service_key(ServiceRole.SOURCE)


def test_no_temporary_files_are_left_behind(keystore):
    keystore.ensure_service_key(ServiceRole.SOURCE)
    keystore.add_client("anna", generate_client_key().public_b32)
    leftovers = [p for p in keystore.onion_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_clients_are_stored_as_torrc_auth_files(keystore):
    anna = generate_client_key()
    keystore.add_client("anna", anna.public_b32)
    keystore.add_client("boris", generate_client_key().public_b32)
    path = keystore.clients_dir / "anna.auth"
    assert path.read_text() == f"descriptor:x25519:{anna.public_b32}\n"
    assert mode_of(path) == 0o600
    assert mode_of(keystore.clients_dir) == 0o700
    assert [c.name for c in keystore.list_clients()] == ["anna", "boris"]
    assert anna.private_b32 not in "".join(
        p.read_text(errors="replace") for p in keystore.onion_dir.rglob("*") if p.is_file()
    )


def test_adding_an_existing_name_changes_nothing(keystore):
    first = generate_client_key().public_b32
    keystore.add_client("anna", first)
    with pytest.raises(ClientExists, match="remove-client anna"):
        keystore.add_client("anna", generate_client_key().public_b32)
    assert keystore.list_clients()[0].public_b32 == first


def test_bad_name_changes_nothing(keystore):
    with pytest.raises(ClientNameInvalid):
        keystore.add_client("../evil", generate_client_key().public_b32)
    assert not keystore.onion_dir.exists()


def test_removing_a_client(keystore):
    keystore.add_client("anna", generate_client_key().public_b32)
    keystore.add_client("boris", generate_client_key().public_b32)
    keystore.remove_client("anna")
    assert [c.name for c in keystore.list_clients()] == ["boris"]


def test_removing_an_unknown_client_is_an_error(keystore):
    keystore.add_client("anna", generate_client_key().public_b32)
    with pytest.raises(ClientUnknown, match="status"):
        keystore.remove_client("boris")
    assert [c.name for c in keystore.list_clients()] == ["anna"]


def test_damaged_client_file_is_reported(keystore):
    keystore.add_client("anna", generate_client_key().public_b32)
    (keystore.clients_dir / "anna.auth").write_text("descriptor:x25519:short\n")
    with pytest.raises(OnionKeyInvalid, match=r"anna\.auth"):
        keystore.list_clients()


def test_ports_round_trip_and_damage_means_unknown(keystore):
    assert keystore.load_ports() is None
    keystore.save_ports(PublishedPorts(8080, 8081))
    assert keystore.load_ports() == PublishedPorts(8080, 8081)
    (keystore.onion_dir / "ports.json").write_text("{")
    assert keystore.load_ports() is None
