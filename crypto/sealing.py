"""Sealed tokens: small secrets carried by the client (the source's session cookie).

``seal`` encrypts and authenticates with XSalsa20-Poly1305 (NaCl SecretBox) and returns
URL-safe base64 without padding. The box key is not the given key itself but a BLAKE2b
derivation of it with a purpose string, so the same 32-byte instance secret can also serve as
Flask's signing key without the two uses ever meeting.

Inside the box: one version byte, an 8-byte big-endian expiry (Unix seconds, 0 = none), then
the plaintext. Because the expiry is sealed, a client cannot extend it.
"""

import base64
import binascii
import hashlib
import struct
import time

import nacl.exceptions
import nacl.secret

from crypto.errors import SealError, SealExpired

_VERSION = 1
_HEADER = struct.Struct(">BQ")
_PERSON = b"skrynka:seal:v1"
#: Tokens ride in cookies; anything much larger is not ours.
MAX_TOKEN_CHARS = 16 * 1024
MIN_KEY_BYTES = 32


def seal(
    key: bytes,
    plaintext: bytes,
    *,
    ttl_seconds: int | None = None,
    now: float | None = None,
) -> str:
    """Return a token only ``key`` opens; with ``ttl_seconds`` it stops opening after that."""
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive.")
    moment = time.time() if now is None else now
    expires = 0 if ttl_seconds is None else int(moment) + ttl_seconds
    box = nacl.secret.SecretBox(_box_key(key))
    sealed = box.encrypt(_HEADER.pack(_VERSION, expires) + plaintext)
    return base64.urlsafe_b64encode(bytes(sealed)).rstrip(b"=").decode("ascii")


def unseal(key: bytes, token: str, *, now: float | None = None) -> bytes:
    """Return the plaintext sealed in ``token``; raise :class:`SealError` (or
    :class:`SealExpired`) if it is malformed, from another key, altered or expired."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise SealError("The token is missing or too long.")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SealError("The token is not URL-safe base64.") from exc
    box = nacl.secret.SecretBox(_box_key(key))
    try:
        opened = box.decrypt(raw)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise SealError("The token was not sealed with this key or has been altered.") from exc
    if len(opened) < _HEADER.size:
        raise SealError("The token is too short.")
    version, expires = _HEADER.unpack_from(opened)
    if version != _VERSION:
        raise SealError("The token uses an unknown format version.")
    moment = time.time() if now is None else now
    if expires and moment >= expires:
        raise SealExpired("The token has expired.")
    return opened[_HEADER.size :]


def _box_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"A sealing key must be at least {MIN_KEY_BYTES} random bytes.")
    return hashlib.blake2b(
        key[:64], person=_PERSON, digest_size=nacl.secret.SecretBox.KEY_SIZE
    ).digest()
