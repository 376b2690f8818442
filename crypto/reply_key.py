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

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.secret

from crypto._gpg import (
    DEFAULT_TIMEOUT,
    StderrCollector,
    ephemeral_home,
    generate_key,
    gpg_command,
    run_gpg,
    status_lines,
)
from crypto.errors import CryptoError, DecryptionFailed, GpgFailed
from crypto.types import Fingerprint

#: 2013-05-14, the date other systems pin for the same reason; ``!`` freezes gpg's clock.
FIXED_KEY_TIME = "20130514T000000!"
REPLY_KEY_UID = "Skrynka source key"
_UNPROTECTED = ("--pinentry-mode", "loopback", "--passphrase", "")
_READ_BYTES = 64 * 1024
#: Default cap on one reply's plaintext: far above any reply staff can type, far below memory.
REPLY_PLAINTEXT_MAX_BYTES = 1024 * 1024


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


def wrap_secret_key(wrap_key: bytes, secret_key: bytes) -> bytes:
    """Wrap an exported secret key exactly as :func:`create_reply_key` does.

    For callers that generate reply keys in bulk (development seeding): the wrapping stays
    here so that only this package knows the SecretBox format. Raises ValueError on a wrap key
    of the wrong length.
    """
    return bytes(_box(wrap_key).encrypt(secret_key))


def check_wrap_key(wrap_key: bytes) -> None:
    """Raise ValueError unless ``wrap_key`` can wrap a reply key (bytes of the right length)."""
    _box(wrap_key)


def decrypt_with_reply_key(
    wrapped_secret: bytes,
    wrap_key: bytes,
    ciphertexts: Sequence[bytes],
    ram_dir: Path,
    *,
    max_plaintext_bytes: int = REPLY_PLAINTEXT_MAX_BYTES,
) -> list[bytes | None]:
    """Unwrap the reply key and decrypt each ciphertext with it, one by one, in order.

    A ciphertext that does not decrypt, or whose plaintext grows past ``max_plaintext_bytes``
    (gpg is stopped there: a compressed reply cannot fill memory), gives ``None`` in its place,
    so one bad reply never hides the others. Raises :class:`DecryptionFailed` only if the key
    does not unwrap (wrong codename, damaged blob); the ephemeral home is gone either way.
    """
    try:
        secret_key = _box(wrap_key).decrypt(wrapped_secret)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise DecryptionFailed() from exc
    if not ciphertexts:
        return []
    with ephemeral_home(_ram_dir(ram_dir)) as home:
        imported = run_gpg(home, [*_UNPROTECTED, "--import"], stdin=secret_key)
        if imported.returncode != 0:
            raise DecryptionFailed()
        return [_decrypt_capped(home, text, max_plaintext_bytes) for text in ciphertexts]


def _decrypt_capped(home: Path, ciphertext: bytes, limit: int) -> bytes | None:
    """The plaintext of one reply, or None if it does not decrypt or passes ``limit`` bytes."""
    fd, name = tempfile.mkstemp(prefix="reply-", dir=home)
    with os.fdopen(fd, "wb") as handle:
        handle.write(ciphertext)
    try:
        process = subprocess.Popen(
            gpg_command(home, "--status-fd", "2", *_UNPROTECTED, "--decrypt", name),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise GpgFailed(f"Could not start gpg: {exc.strerror}.") from exc
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = StderrCollector(process.stderr)
    stderr.start()
    plaintext = bytearray()
    try:
        # gpg decompresses only as fast as this loop reads, so stopping here stops it too.
        while chunk := process.stdout.read(_READ_BYTES):
            plaintext += chunk
            if len(plaintext) > limit:
                return None
        returncode = process.wait(timeout=DEFAULT_TIMEOUT)
        statuses = {keyword for keyword, _ in status_lines(stderr.text())}
        if returncode != 0 or "DECRYPTION_OKAY" not in statuses:
            return None
        return bytes(plaintext)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        stderr.join()
        process.stderr.close()
        os.unlink(name)


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
