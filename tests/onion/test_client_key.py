"""Staff device keys for v3 client authorisation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from onion.client_key import (
    check_client_name,
    decode_key,
    encode_key,
    format_auth_file,
    generate_client_key,
    parse_auth_file,
)
from onion.errors import ClientNameInvalid


def test_key_pair_halves_belong_together():
    pair = generate_client_key()
    derived = X25519PrivateKey.from_private_bytes(pair.private_key).public_key()
    assert derived.public_bytes_raw() == pair.public_key


def test_keys_are_52_base32_characters_without_padding():
    pair = generate_client_key()
    assert len(pair.public_b32) == 52
    assert "=" not in pair.public_b32
    assert decode_key(pair.public_b32) == pair.public_key
    assert base64.b32decode(pair.private_b32 + "====") == pair.private_key


def test_auth_private_line_is_tors_client_onion_auth_format():
    pair = generate_client_key()
    service_id = "a" * 56
    line = pair.auth_private_line(service_id + ".onion")
    assert line == f"{service_id}:descriptor:x25519:{pair.private_b32}"


def test_auth_file_round_trip():
    pair = generate_client_key()
    text = format_auth_file(pair.public_b32)
    assert text == f"descriptor:x25519:{pair.public_b32}\n"
    assert parse_auth_file(text) == pair.public_b32


@pytest.mark.parametrize(
    "text",
    [
        "",
        "descriptor:x25519:",
        "descriptor:ed25519:" + "A" * 52,
        "x25519:" + "A" * 52,
        "descriptor:x25519:" + "a" * 52,
        "descriptor:x25519:" + "A" * 51,
    ],
)
def test_damaged_auth_file_is_rejected(text):
    with pytest.raises(ValueError):
        parse_auth_file(text)


def test_repr_hides_the_private_key():
    pair = generate_client_key()
    assert pair.private_b32 not in repr(pair)
    assert pair.public_b32 in repr(pair)


@pytest.mark.parametrize("name", ["anna", "anna-laptop", "B_2", "x" * 32, "7"])
def test_usable_names(name):
    assert check_client_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-anna", "../anna", "anna/x", "anna.auth", "a b", "x" * 33, "анна", "a\n"]
)
def test_unusable_names_are_refused_with_advice(name):
    with pytest.raises(ClientNameInvalid, match="letters, digits"):
        check_client_name(name)


def test_encode_decode_round_trip():
    raw = bytes(range(32))
    assert decode_key(encode_key(raw)) == raw
