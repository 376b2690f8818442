"""x25519 keys for v3 client authorisation ("restricted discovery") of the journalist service.

The service holds only public halves (one `<name>.auth` file each, in torrc's
authorized_clients format); the private half is shown once to the operator for the staff
device and never stored by us.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from onion.errors import ClientNameInvalid

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_B32_KEY = re.compile(r"[A-Z2-7]{52}")


def encode_key(raw: bytes) -> str:
    """Tor's text form of an x25519 key: base32 without padding (52 characters)."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def decode_key(text: str) -> bytes:
    """Inverse of `encode_key`; ValueError unless it is 52 base32 characters."""
    if not _B32_KEY.fullmatch(text):
        raise ValueError("an x25519 key is 52 base32 characters")
    return base64.b32decode(text + "====")


def check_client_name(name: str) -> str:
    """The name, if usable as a file name; raises ClientNameInvalid otherwise."""
    if not _NAME.fullmatch(name):
        raise ClientNameInvalid(name)
    return name


@dataclass(frozen=True, repr=False)
class ClientKeyPair:
    """A staff device's key pair; `repr` hides the private half."""

    private_key: bytes
    public_key: bytes

    @property
    def public_b32(self) -> str:
        return encode_key(self.public_key)

    @property
    def private_b32(self) -> str:
        return encode_key(self.private_key)

    def auth_private_line(self, service_id: str) -> str:
        """The line a client's tor (or Tor Browser's onion-auth directory) needs.

        It is the format of a `ClientOnionAuthDir` file (`*.auth_private`):
        `<56-character id>:descriptor:x25519:<base32 private key>`.
        """
        return f"{service_id.removesuffix('.onion')}:descriptor:x25519:{self.private_b32}"

    def __repr__(self) -> str:
        return f"ClientKeyPair(public={self.public_b32})"


def generate_client_key() -> ClientKeyPair:
    private = X25519PrivateKey.generate()
    return ClientKeyPair(private.private_bytes_raw(), private.public_key().public_bytes_raw())


def format_auth_file(public_b32: str) -> str:
    """Contents of an authorized_clients/<name>.auth file."""
    return f"descriptor:x25519:{public_b32}\n"


def parse_auth_file(text: str) -> str:
    """The base32 public key in an authorized_clients file; ValueError if it is not one."""
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[:2] != ["descriptor", "x25519"]:
        raise ValueError("expected 'descriptor:x25519:<base32 public key>'")
    decode_key(parts[2])
    return parts[2]
