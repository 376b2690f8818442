import hashlib

import pytest

from crypto.errors import BadSignature
from crypto.signing import Signer, fingerprint_of, generate_signing_seed, verify_signature

# RFC 8032, section 7.1, TEST 2.
RFC_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC_MESSAGE = bytes.fromhex("72")
RFC_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def test_known_answer_rfc8032() -> None:
    signer = Signer(RFC_SEED)
    assert signer.public_key == RFC_PUBLIC
    assert signer.sign(RFC_MESSAGE) == RFC_SIGNATURE
    verify_signature(RFC_PUBLIC, RFC_MESSAGE, RFC_SIGNATURE)
    assert (
        signer.fingerprint == hashlib.sha256(RFC_PUBLIC).hexdigest() == fingerprint_of(RFC_PUBLIC)
    )


def test_round_trip() -> None:
    signer = Signer(generate_signing_seed())
    verify_signature(signer.public_key, b"manifest", signer.sign(b"manifest"))


def test_wrong_key_is_refused() -> None:
    signature = Signer(generate_signing_seed()).sign(b"manifest")
    with pytest.raises(BadSignature, match="another key"):
        verify_signature(Signer(generate_signing_seed()).public_key, b"manifest", signature)


def test_tampered_message_or_signature_is_refused() -> None:
    signer = Signer(generate_signing_seed())
    signature = signer.sign(b"manifest")
    with pytest.raises(BadSignature):
        verify_signature(signer.public_key, b"manifesT", signature)
    with pytest.raises(BadSignature):
        verify_signature(signer.public_key, b"manifest", bytes([signature[0] ^ 1]) + signature[1:])


@pytest.mark.parametrize(
    ("public_key", "signature"), [(b"", bytes(64)), (bytes(32), bytes(63)), (bytes(33), bytes(64))]
)
def test_malformed_inputs_are_bad_signatures(public_key: bytes, signature: bytes) -> None:
    with pytest.raises(BadSignature):
        verify_signature(public_key, b"x", signature)


def test_seed_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Signer(b"\0" * 31)
    seed = generate_signing_seed()
    assert seed.hex() not in repr(Signer(seed))
    assert generate_signing_seed() != seed
