"""Ed25519 signatures (PyNaCl) for audit-log checkpoints, bundle manifests and custody logs.

A key is identified by the SHA-256 of its 32 raw public-key bytes, in lower-case hex: that is
what a workstation pins and what manifests name.
"""

import hashlib

import nacl.exceptions
import nacl.signing
import nacl.utils

from crypto.errors import BadSignature

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def generate_signing_seed() -> bytes:
    """Return a fresh 32-byte Ed25519 seed (store it 0600; it is the whole private key)."""
    return nacl.utils.random(SEED_BYTES)


def fingerprint_of(public_key: bytes) -> str:
    """SHA-256 hex of a raw 32-byte Ed25519 public key."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise ValueError(f"An Ed25519 public key is exactly {PUBLIC_KEY_BYTES} bytes.")
    return hashlib.sha256(public_key).hexdigest()


class Signer:
    """Signs with the Ed25519 key made from ``seed``; the seed never appears in ``repr``."""

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise ValueError(
                f"An Ed25519 signing key file holds exactly {SEED_BYTES} bytes; this one does "
                "not: restore it from backup or create a new key."
            )
        self._key = nacl.signing.SigningKey(seed)

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached signature of ``message``."""
        return self._key.sign(message).signature

    def __repr__(self) -> str:
        return f"Signer(fingerprint={self.fingerprint!r})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is ``public_key``'s signature of ``message``; else raise
    :class:`BadSignature` (also for malformed keys and signatures)."""
    if (
        not isinstance(public_key, bytes)
        or len(public_key) != PUBLIC_KEY_BYTES
        or not isinstance(signature, bytes)
        or len(signature) != SIGNATURE_BYTES
    ):
        raise BadSignature("The signature or the public key has the wrong length.")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (
        nacl.exceptions.BadSignatureError,
        nacl.exceptions.ValueError,
        nacl.exceptions.TypeError,
    ) as exc:
        raise BadSignature(
            "The signature does not match: the data was changed or signed by another key."
        ) from exc
