"""The ed25519 identity key of one v3 onion service, in the forms tor reads.

Tor keeps the *expanded* secret key (64 bytes: the clamped scalar and the hash prefix), not
the 32-byte seed; both its HiddenServiceDir files and ADD_ONION's ED25519-V3 blob carry those
64 bytes. We generate keys ourselves (so the address is known before tor ever runs) from a seed
the way ed25519 does: SHA-512(seed), clamp the first half.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onion.address import address_from_public_key

# tor's key file headers: 29 ASCII characters padded with NULs to 32 bytes.
SECRET_KEY_HEADER = b"== ed25519v1-secret: type0 ==\0\0\0"
PUBLIC_KEY_HEADER = b"== ed25519v1-public: type0 ==\0\0\0"


@dataclass(frozen=True, repr=False)
class ServiceKey:
    """An onion service's key pair. `repr` shows only the address, so keys never reach logs."""

    expanded_secret: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.expanded_secret) != 64 or len(self.public_key) != 32:
            raise ValueError("an expanded ed25519 key is 64 bytes and its public key 32")

    @property
    def service_id(self) -> str:
        """The 56-character address without ".onion"."""
        return address_from_public_key(self.public_key)

    @property
    def onion_address(self) -> str:
        return self.service_id + ".onion"

    def add_onion_key(self) -> str:
        """The key argument of tor's ADD_ONION command."""
        return "ED25519-V3:" + base64.b64encode(self.expanded_secret).decode("ascii")

    def secret_key_file(self) -> bytes:
        """Contents of tor's hs_ed25519_secret_key."""
        return SECRET_KEY_HEADER + self.expanded_secret

    def public_key_file(self) -> bytes:
        """Contents of tor's hs_ed25519_public_key."""
        return PUBLIC_KEY_HEADER + self.public_key

    def __repr__(self) -> str:
        return f"ServiceKey({self.onion_address})"


def generate_service_key() -> ServiceKey:
    """A fresh key pair from the operating system's random source."""
    private = Ed25519PrivateKey.generate()
    digest = bytearray(hashlib.sha512(private.private_bytes_raw()).digest())
    # ed25519 clamping (RFC 8032, 5.1.5): clear the low 3 bits, clear bit 255, set bit 254.
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return ServiceKey(bytes(digest), private.public_key().public_bytes_raw())


def parse_secret_key_file(data: bytes) -> bytes:
    """The 64-byte expanded key inside a hs_ed25519_secret_key file; ValueError if damaged."""
    if len(data) != 96 or not data.startswith(SECRET_KEY_HEADER):
        raise ValueError("not a tor ed25519v1 secret key file")
    return data[32:]


def parse_public_key_file(data: bytes) -> bytes:
    """The 32-byte public key inside a hs_ed25519_public_key file; ValueError if damaged."""
    if len(data) != 64 or not data.startswith(PUBLIC_KEY_HEADER):
        raise ValueError("not a tor ed25519v1 public key file")
    return data[32:]
