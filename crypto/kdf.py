"""Codename key derivation: one Argon2id call per login, split into independent outputs.

Argon2id makes guessing codenames from a seized database (which holds source ids) expensive.
Its 32-byte output is used only as a BLAKE2b key; each derived value uses a different
personalisation string, so knowing one output (the source id, which the database stores)
reveals nothing about another (the key that unwraps the source's reply key).
"""

import hashlib
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

from crypto.errors import CryptoError
from crypto.types import Codename, SourceId

SALT_BYTES = argon2id.SALTBYTES  # 16
WRAP_KEY_BYTES = 32
_MASTER_BYTES = 32
# BLAKE2b personalisations (at most 16 bytes); changing either changes every source's identity.
_PERSON_SOURCE_ID = b"skrynka:srcid:v1"
_PERSON_WRAP_KEY = b"skrynka:wrapk:v1"


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: ``opslimit`` passes over ``memlimit`` bytes of memory."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= argon2id.OPSLIMIT_MAX:
            raise ValueError(
                f"Argon2id opslimit must be between {argon2id.OPSLIMIT_MIN} and "
                f"{argon2id.OPSLIMIT_MAX}."
            )
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= argon2id.MEMLIMIT_MAX:
            raise ValueError(
                f"Argon2id memlimit must be between {argon2id.MEMLIMIT_MIN} and "
                f"{argon2id.MEMLIMIT_MAX} bytes."
            )


#: About 0.2 s and 128 MiB per derivation on the 2-core reference machine (measured with
#: PyNaCl 1.6.2); memory × concurrent logins must fit the server.
PRODUCTION = KdfParams(opslimit=4, memlimit=128 * 1024 * 1024)
#: The cheapest parameters Argon2id accepts; for tests only.
TESTING = KdfParams(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)


@dataclass(frozen=True)
class SourceSecrets:
    """What a codename derives. ``wrap_key`` is kept out of ``repr`` so it never lands in logs."""

    source_id: SourceId
    wrap_key: bytes = field(repr=False)


def derive_source_secrets(codename: Codename, salt: bytes, params: KdfParams) -> SourceSecrets:
    """Derive the source id and the reply-key wrapping key from a normalised codename.

    ``codename`` must come from :func:`crypto.codename.normalize_codename` or
    :func:`crypto.codename.generate_codename`: the same words typed differently must not
    derive different secrets.
    """
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        raise ValueError(f"The codename salt must be exactly {SALT_BYTES} bytes.")
    try:
        master = argon2id.kdf(
            _MASTER_BYTES,
            codename.encode("utf-8"),
            salt,
            opslimit=params.opslimit,
            memlimit=params.memlimit,
        )
    except (nacl.exceptions.RuntimeError, MemoryError) as exc:
        raise CryptoError(
            "Argon2id could not allocate its memory; lower the concurrent logins or the "
            "KDF memory limit in the settings."
        ) from exc
    source_id = hashlib.blake2b(key=master, person=_PERSON_SOURCE_ID, digest_size=32).hexdigest()
    wrap_key = hashlib.blake2b(
        key=master, person=_PERSON_WRAP_KEY, digest_size=WRAP_KEY_BYTES
    ).digest()
    return SourceSecrets(source_id=SourceId(source_id), wrap_key=wrap_key)
