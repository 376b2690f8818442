"""Version 3 onion addresses (tor's rend-spec-v3, "Encoding onion addresses").

address = base32(pubkey || checksum || version), checksum = SHA3-256(".onion checksum" ||
pubkey || version)[:2], version = 3. Computing it ourselves lets us show an address before tor
has ever run, and check that what tor publishes is what the stored key implies.
"""

from __future__ import annotations

import base64
import hashlib

ADDRESS_LENGTH = 56
_VERSION = b"\x03"
_CHECKSUM_PREFIX = b".onion checksum"


def address_from_public_key(public_key: bytes) -> str:
    """The 56-character service id (without ".onion") of an ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError("an ed25519 public key is 32 bytes")
    checksum = hashlib.sha3_256(_CHECKSUM_PREFIX + public_key + _VERSION).digest()[:2]
    return base64.b32encode(public_key + checksum + _VERSION).decode("ascii").lower()


def public_key_from_address(address: str) -> bytes:
    """The public key inside a service id; raises ValueError if it is not a valid v3 id."""
    service_id = address.removesuffix(".onion")
    if len(service_id) != ADDRESS_LENGTH:
        raise ValueError("a v3 onion service id has 56 characters")
    try:
        raw = base64.b32decode(service_id.upper())
    except ValueError as error:
        raise ValueError("not base32") from error
    public_key = raw[:32]
    if address_from_public_key(public_key) != service_id.lower():
        raise ValueError("checksum or version byte is wrong")
    return public_key
