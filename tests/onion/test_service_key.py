"""Service keys in tor's file formats and in ADD_ONION form."""

from __future__ import annotations

import base64

import pytest

from onion.service_key import (
    generate_service_key,
    parse_public_key_file,
    parse_secret_key_file,
)


def test_secret_key_file_is_tors_header_and_the_expanded_key():
    key = generate_service_key()
    data = key.secret_key_file()
    assert data[:32] == b"== ed25519v1-secret: type0 ==\0\0\0"
    assert len(data) == 96
    assert parse_secret_key_file(data) == key.expanded_secret


def test_public_key_file_is_tors_header_and_the_key():
    key = generate_service_key()
    data = key.public_key_file()
    assert data[:32] == b"== ed25519v1-public: type0 ==\0\0\0"
    assert parse_public_key_file(data) == key.public_key


def test_add_onion_blob_is_base64_of_the_same_64_bytes():
    key = generate_service_key()
    kind, _, blob = key.add_onion_key().partition(":")
    assert kind == "ED25519-V3"
    assert base64.b64decode(blob) == key.expanded_secret


def test_expanded_key_is_clamped():
    scalar = generate_service_key().expanded_secret[:32]
    assert scalar[0] & 7 == 0
    assert scalar[31] & 128 == 0
    assert scalar[31] & 64 == 64


def test_keys_are_fresh_each_time():
    assert generate_service_key().public_key != generate_service_key().public_key


def test_repr_shows_the_address_but_no_key_material():
    key = generate_service_key()
    text = repr(key)
    assert key.onion_address in text
    assert base64.b64encode(key.expanded_secret).decode() not in text
    assert key.expanded_secret.hex() not in text


@pytest.mark.parametrize(
    "data",
    [b"", b"== ed25519v1-public: type0 ==\0\0\0" + b"\0" * 64, b"x" * 96, b"\0" * 95],
)
def test_damaged_secret_key_file_is_rejected(data):
    with pytest.raises(ValueError):
        parse_secret_key_file(data)
