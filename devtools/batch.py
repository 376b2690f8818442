"""Bulk OpenPGP work in few gpg processes: many files to one set of keys, many reply keys.

Seeding development data or benchmarks needs thousands of ciphertexts and reply keys. Starting
one gpg per item costs more than the cryptography (process start, keyring open, agent
round trips), so these functions batch:

- :func:`encrypt_files` encrypts any number of files to the same recipients with one
  ``gpg --multifile --encrypt``; each ciphertext is written beside its plaintext as
  ``<name>.gpg``.
- :func:`create_reply_keys` generates reply keys exactly like :func:`crypto.reply_key.
  create_reply_key` (same algorithms, user id and pinned clock) but many per ephemeral
  GNUPGHOME: one ``--generate-key`` run with one parameter block per key, then one public and
  one secret export, split into single keys here. gpg's keybox slows down as it fills (measured
  here: ~8.5 ms a key with 25 keys a home, ~16 ms with 250), hence small homes.

The plaintext files given to :func:`encrypt_files` are the caller's business: put them on a
RAM-backed filesystem if they must not reach a disk.
"""

import base64
import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crypto._gpg import describe_failure, ephemeral_home, run_gpg, status_lines
from crypto.errors import CryptoError, GpgFailed
from crypto.reply_key import (
    FIXED_KEY_TIME,
    REPLY_KEY_UID,
    ReplyKey,
    check_wrap_key,
    wrap_secret_key,
)
from crypto.types import Fingerprint

#: Keys generated in one ephemeral home (see the module docstring for why not more).
KEYS_PER_HOME = 25
#: One gpg run encrypting thousands of small files takes seconds; allow for a slow machine.
BATCH_TIMEOUT = 900.0
_UNPROTECTED = ("--pinentry-mode", "loopback", "--passphrase", "")
_KEY_BLOCK = (
    "%no-protection",
    "Key-Type: eddsa",
    "Key-Curve: ed25519",
    "Key-Usage: sign",
    "Subkey-Type: ecdh",
    "Subkey-Curve: cv25519",
    "Subkey-Usage: encrypt",
    f"Name-Real: {REPLY_KEY_UID}",
    "Expire-Date: 0",
    "%commit",
)
_PUBLIC_KEY_TAG = 6
_SECRET_KEY_TAG = 5
_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB


def encrypt_files(
    gnupg_home: Path,
    recipients: Sequence[Fingerprint],
    plaintexts: Sequence[Path],
    *,
    recipient_key_files: Sequence[Path] = (),
) -> list[Path]:
    """Encrypt every file to the same keys in one gpg run; return the ciphertext paths.

    ``recipients`` are fingerprints in ``gnupg_home``; ``recipient_key_files`` are public keys
    read from files and never imported (a source's reply key). No compression: the inputs are
    random or already compressed, and compression costs ~8x here. An existing ``<name>.gpg`` is
    replaced. Raises :class:`GpgFailed` naming gpg's complaint.
    """
    if not recipients and not recipient_key_files:
        raise ValueError("Give at least one recipient.")
    if not plaintexts:
        return []
    outputs = [path.with_name(path.name + ".gpg") for path in plaintexts]
    args = ["--yes", "--compress-algo", "none"]
    for fingerprint in recipients:
        args += ["--recipient", str(fingerprint)]
    for key_file in recipient_key_files:
        args += ["--recipient-file", str(key_file)]
    result = run_gpg(
        gnupg_home,
        [*args, "--multifile", "--encrypt", *(str(path) for path in plaintexts)],
        timeout=BATCH_TIMEOUT,
    )
    missing = [path for path in outputs if not path.is_file()]
    if result.returncode != 0 or missing:
        raise GpgFailed(
            f"gpg could not encrypt {len(plaintexts)} files in one batch: "
            f"{describe_failure(result)}; run `skrynka check`."
        )
    return outputs


def create_reply_keys(
    wrap_keys: Sequence[bytes],
    ram_dir: Path,
    *,
    keys_per_home: int = KEYS_PER_HOME,
    workers: int = 1,
) -> list[ReplyKey]:
    """One reply key per wrap key, in order, each secret half wrapped under its wrap key.

    ``workers`` homes are filled at the same time (gpg and its agent use one core each).
    """
    if keys_per_home < 1 or workers < 1:
        raise ValueError("keys_per_home and workers must be 1 or more")
    for wrap_key in wrap_keys:
        check_wrap_key(wrap_key)  # before any gpg work
    if not ram_dir.is_dir():
        raise CryptoError(
            f"The RAM directory {ram_dir} does not exist; point SKRYNKA_RAM_DIR at a tmpfs "
            "such as /dev/shm."
        )
    chunks = [
        list(wrap_keys[i : i + keys_per_home]) for i in range(0, len(wrap_keys), keys_per_home)
    ]

    def create_chunk(chunk: list[bytes]) -> list[ReplyKey]:
        with ephemeral_home(ram_dir) as home:
            return [
                ReplyKey(
                    fingerprint=fingerprint,
                    public_armored=armor_public_key(public),
                    wrapped_secret=wrap_secret_key(wrap_key, secret),
                )
                for wrap_key, (fingerprint, public, secret) in zip(
                    chunk, _generate_in_home(home, len(chunk)), strict=True
                )
            ]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [key for keys in pool.map(create_chunk, chunks) for key in keys]


def armor_public_key(binary: bytes) -> str:
    """ASCII armor (RFC 4880 section 6) for one binary transferable public key."""
    body = base64.b64encode(binary).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    checksum = base64.b64encode(_crc24(binary).to_bytes(3, "big")).decode("ascii")
    return "\n".join(
        [
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "",
            *lines,
            f"={checksum}",
            "-----END PGP PUBLIC KEY BLOCK-----",
            "",
        ]
    )


def _generate_in_home(home: Path, count: int) -> list[tuple[Fingerprint, bytes, bytes]]:
    """Generate ``count`` keys in ``home``; (fingerprint, public key, secret key) each."""
    parameters = ("\n".join(_KEY_BLOCK) + "\n") * count
    generated = run_gpg(
        home,
        ["--faked-system-time", FIXED_KEY_TIME, "--generate-key"],
        stdin=parameters.encode("ascii"),
        timeout=BATCH_TIMEOUT,
    )
    created = [
        Fingerprint(args[1].upper())
        for keyword, args in status_lines(generated.stderr)
        if keyword == "KEY_CREATED" and len(args) >= 2
    ]
    if generated.returncode != 0 or len(created) != count:
        raise GpgFailed(f"gpg could not generate reply keys: {describe_failure(generated)}")
    public = run_gpg(home, ["--export", *created])
    secret = run_gpg(home, [*_UNPROTECTED, "--export-secret-keys", *created])
    if public.returncode != 0 or secret.returncode != 0:
        raise GpgFailed("gpg could not export new reply keys; check the RAM directory.")
    publics = {fingerprint_of(key): key for key in split_keys(public.stdout, _PUBLIC_KEY_TAG)}
    secrets = split_keys(secret.stdout, _SECRET_KEY_TAG)
    result = []
    for fingerprint in created:
        public_key = publics.get(fingerprint)
        if public_key is None:
            raise GpgFailed("gpg exported a different set of reply keys than it generated.")
        # A v4 secret-key packet starts with the public-key packet's fields, so the secret key
        # whose primary packet extends this public primary packet is its other half.
        primary = _first_packet_body(public_key)
        matching = [key for key in secrets if _first_packet_body(key).startswith(primary)]
        if len(matching) != 1:
            raise GpgFailed("gpg exported a different set of reply keys than it generated.")
        result.append((fingerprint, public_key, matching[0]))
    return result


def split_keys(data: bytes, primary_tag: int) -> list[bytes]:
    """Split a binary export of several keys into one byte string per transferable key."""
    keys: list[bytes] = []
    offset = 0
    for start, tag, _body_start, end in _packets(data):
        if tag == primary_tag and start > offset:
            keys.append(data[offset:start])
            offset = start
        elif start == 0 and tag != primary_tag:
            raise GpgFailed("gpg's key export does not start with a key packet.")
        if end == len(data):
            keys.append(data[offset:end])
    return keys


def fingerprint_of(key: bytes) -> Fingerprint:
    """The v4 fingerprint of a binary public key (SHA-1 over its primary key packet)."""
    body = _first_packet_body(key)
    if not body or body[0] != 4:
        raise GpgFailed("Only version 4 OpenPGP keys are expected here.")
    digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False)
    return Fingerprint(digest.hexdigest().upper())


def _first_packet_body(key: bytes) -> bytes:
    for _start, _tag, body_start, end in _packets(key):
        return key[body_start:end]
    return b""


def _packets(data: bytes) -> list[tuple[int, int, int, int]]:
    """(start, tag, body start, end) of every OpenPGP packet (RFC 4880 section 4.2)."""
    packets = []
    offset = 0
    while offset < len(data):
        start, first = offset, data[offset]
        if not first & 0x80:
            raise GpgFailed("gpg's key export is not an OpenPGP packet sequence.")
        if first & 0x40:  # new format
            tag = first & 0x3F
            octet = data[offset + 1]
            if octet < 192:
                length, header = octet, 2
            elif octet < 224:
                length, header = ((octet - 192) << 8) + data[offset + 2] + 192, 3
            elif octet == 255:
                length, header = int.from_bytes(data[offset + 2 : offset + 6], "big"), 6
            else:
                raise GpgFailed("Partial-length packets are not expected in a key export.")
        else:  # old format
            tag = (first >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(first & 0x03)
            if size is None:
                raise GpgFailed("Indeterminate-length packets are not expected in a key export.")
            length = int.from_bytes(data[offset + 1 : offset + 1 + size], "big")
            header = 1 + size
        end = start + header + length
        if end > len(data):
            raise GpgFailed("gpg's key export is truncated.")
        packets.append((start, tag, start + header, end))
        offset = end
    return packets


def _crc24_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def _crc24(data: bytes) -> int:
    # Table-driven: the bitwise loop costs seconds over ten thousand keys.
    crc = _CRC24_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24_TABLE[((crc >> 16) ^ byte) & 0xFF]
    return crc

