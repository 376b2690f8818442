"""v3 onion addresses: computed by us, checked against tor's own answer."""

from __future__ import annotations

import base64

import nacl.bindings
import pytest

from onion.address import address_from_public_key, public_key_from_address
from onion.service_key import generate_service_key
from onion.tor_connection import LaunchSpec, open_tor_connection


def public_key_of_expanded(expanded: bytes) -> bytes:
    """ed25519 public key of an expanded secret key: the clamped scalar times the base point."""
    return bytes(nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(expanded[:32]))


@pytest.mark.tor
def test_address_matches_what_tor_derives_from_its_own_key(tmp_path, tor_binary):
    connection = open_tor_connection(
        LaunchSpec(tor_binary, ("DisableNetwork 1",)), tmp_path / "tor"
    )
    try:
        ok, with_key = connection.command("ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:9")
        assert ok
    finally:
        connection.close()
    replied = dict(line.split("=", 1) for line in with_key if "=" in line)
    expanded = base64.b64decode(replied["PrivateKey"].removeprefix("ED25519-V3:"))
    assert address_from_public_key(public_key_of_expanded(expanded)) == replied["ServiceID"]


def test_generated_key_public_half_matches_its_expanded_secret():
    key = generate_service_key()
    assert public_key_of_expanded(key.expanded_secret) == key.public_key
    assert key.onion_address == address_from_public_key(key.public_key) + ".onion"


def test_address_round_trips_to_its_public_key():
    key = generate_service_key()
    assert public_key_from_address(key.onion_address) == key.public_key
    assert len(key.service_id) == 56


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a[:-1],
        lambda a: ("b" if a[0] == "a" else "a") + a[1:],
        lambda a: a[:55] + "1",
    ],
    ids=["short", "checksum", "not-base32"],
)
def test_damaged_address_is_rejected(mangle):
    address = generate_service_key().service_id
    with pytest.raises(ValueError):
        public_key_from_address(mangle(address))


def test_public_key_must_be_32_bytes():
    with pytest.raises(ValueError):
        address_from_public_key(b"\0" * 31)
