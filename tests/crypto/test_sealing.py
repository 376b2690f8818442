import base64
import hashlib
import os

import nacl.secret
import pytest

from crypto.errors import SealError, SealExpired
from crypto.sealing import MAX_TOKEN_CHARS, seal, unseal

KEY = bytes(range(32))


def test_round_trip_is_urlsafe() -> None:
    token = seal(KEY, b'{"codename": "secret words"}')
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert b"secret" not in token.encode()
    assert unseal(KEY, token) == b'{"codename": "secret words"}'


def test_tokens_differ_each_time() -> None:
    assert seal(KEY, b"x") != seal(KEY, b"x")


def test_wrong_key_is_refused() -> None:
    with pytest.raises(SealError, match="this key"):
        unseal(os.urandom(32), seal(KEY, b"x"))


def test_tampered_token_is_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(seal(KEY, b"payload") + "=="))
    raw[-1] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(SealError):
        unseal(KEY, tampered)


@pytest.mark.parametrize("token", ["", "!!!!", "abc", "A" * (MAX_TOKEN_CHARS + 1)])
def test_junk_is_refused(token: str) -> None:
    with pytest.raises(SealError):
        unseal(KEY, token)


def test_expiry_is_sealed_and_enforced() -> None:
    token = seal(KEY, b"x", ttl_seconds=60, now=1_000_000)
    assert unseal(KEY, token, now=1_000_059) == b"x"
    with pytest.raises(SealExpired):
        unseal(KEY, token, now=1_000_060)


def test_known_answer_box_layout() -> None:
    # The box key is BLAKE2b("skrynka:seal:v1") of the given key; the payload is version 1,
    # expiry 0, then the plaintext. Opened here with PyNaCl directly.
    box_key = hashlib.blake2b(KEY, person=b"skrynka:seal:v1", digest_size=32).digest()
    raw = base64.urlsafe_b64decode(seal(KEY, b"hi") + "==")
    assert nacl.secret.SecretBox(box_key).decrypt(raw) == b"\x01" + bytes(8) + b"hi"
    assert box_key.hex() == "097f663e340b01b1911b0444d17021bad89095736c9eb826d28bef870adf9ea9"


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 random bytes"):
        seal(b"short", b"x")
