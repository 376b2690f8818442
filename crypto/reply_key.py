"""Per-source OpenPGP reply keys whose secret half exists only wrapped.

When a source is created, a fresh Ed25519/Curve25519 key pair is generated in an ephemeral
GNUPGHOME on a RAM-backed filesystem; its secret key is exported, wrapped with NaCl SecretBox
under the codename-derived ``wrap_key`` (see :mod:`crypto.kdf`), and the home is destroyed.
The database keeps the public key (SecureDrop clients encrypt replies to it) and the wrapped
blob. When the source logs in, the blob is unwrapped into another ephemeral home just long
enough to decrypt its replies.

Every reply key has the same creation time and user id, with gpg's clock pinned for the
self-signatures too, so a public key reveals nothing about when its source appeared.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.secret

from crypto._gpg import ephemeral_home, generate_key, run_gpg, status_lines
from crypto.errors import CryptoError, DecryptionFailed, GpgFailed
from crypto.types import Fingerprint

#: 2013-05-14, the date other systems pin for the same reason; ``!`` freezes gpg's clock.
FIXED_KEY_TIME = "20130514T000000!"
REPLY_KEY_UID = "Skrynka source key"
_UNPROTECTED = ("--pinentry-mode", "loopback", "--passphrase", "")


@dataclass(frozen=True)
class ReplyKey:
    """A new reply key: what the database stores. ``wrapped_secret`` is not shown in repr."""

    fingerprint: Fingerprint
    public_armored: str
    wrapped_secret: bytes = field(repr=False)


def create_reply_key(wrap_key: bytes, ram_dir: Path) -> ReplyKey:
    """Generate a reply key and return it with its secret half wrapped under ``wrap_key``."""
    box = _box(wrap_key)
    with ephemeral_home(_ram_dir(ram_dir)) as home:
        fingerprint = generate_key(
            home,
            {
                "Key-Type": "eddsa",
                "Key-Curve": "ed25519",
                "Key-Usage": "sign",
                "Subkey-Type": "ecdh",
                "Subkey-Curve": "cv25519",
                "Subkey-Usage": "encrypt",
                "Name-Real": REPLY_KEY_UID,
                "Expire-Date": "0",
            },
            faked_time=FIXED_KEY_TIME,
        )
        public = run_gpg(home, ["--armor", "--export", fingerprint])
        secret = run_gpg(home, [*_UNPROTECTED, "--export-secret-keys", fingerprint])
        if public.returncode != 0 or secret.returncode != 0 or not secret.stdout:
            raise GpgFailed("gpg could not export a new reply key; check the RAM directory.")
    return ReplyKey(
        fingerprint=fingerprint,
        public_armored=public.stdout.decode("ascii"),
        wrapped_secret=bytes(box.encrypt(secret.stdout)),
    )


def decrypt_with_reply_key(
    wrapped_secret: bytes,
    wrap_key: bytes,
    ciphertexts: Sequence[bytes],
    ram_dir: Path,
) -> list[bytes]:
    """Unwrap the reply key and decrypt every ciphertext with it, in order.

    Raises :class:`DecryptionFailed` if the key does not unwrap (wrong codename, damaged blob)
    or any ciphertext does not decrypt; the ephemeral home is gone either way.
    """
    try:
        secret_key = _box(wrap_key).decrypt(wrapped_secret)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise DecryptionFailed() from exc
    if not ciphertexts:
        return []
    plaintexts: list[bytes] = []
    with ephemeral_home(_ram_dir(ram_dir)) as home:
        imported = run_gpg(home, [*_UNPROTECTED, "--import"], stdin=secret_key)
        if imported.returncode != 0:
            raise DecryptionFailed()
        for ciphertext in ciphertexts:
            result = run_gpg(home, [*_UNPROTECTED, "--decrypt"], stdin=ciphertext)
            statuses = {keyword for keyword, _ in status_lines(result.stderr)}
            if result.returncode != 0 or "DECRYPTION_OKAY" not in statuses:
                raise DecryptionFailed()
            plaintexts.append(result.stdout)
    return plaintexts


def _box(wrap_key: bytes) -> nacl.secret.SecretBox:
    if not isinstance(wrap_key, bytes) or len(wrap_key) != nacl.secret.SecretBox.KEY_SIZE:
        raise ValueError(f"A wrap key is exactly {nacl.secret.SecretBox.KEY_SIZE} bytes.")
    return nacl.secret.SecretBox(wrap_key)


def _ram_dir(ram_dir: Path) -> Path:
    if not ram_dir.is_dir():
        raise CryptoError(
            f"The RAM directory {ram_dir} does not exist; point SKRYNKA_RAM_DIR at a tmpfs "
            "such as /dev/shm."
        )
    return ram_dir
