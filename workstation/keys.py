"""The two Ed25519 keys the workstation holds: its own signing key and the pinned server key."""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from crypto.signing import Signer, fingerprint_of, generate_signing_seed
from workstation.errors import EvidenceStoreError, KeySetupError
from workstation.store import EvidenceStore, write_bytes_atomic

ED25519_KEY_SIZE = 32
_FINGERPRINT = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_server_public_key(data: bytes) -> bytes:
    """Accept the server signing public key as 32 raw bytes, 64 hex or base64 characters."""
    if len(data) == ED25519_KEY_SIZE:
        return data
    text = data.decode("ascii", errors="replace").strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == ED25519_KEY_SIZE:
        return raw
    raise KeySetupError(
        "the server key file must hold the 32-byte Ed25519 public key of the server, raw or as"
        " hex or base64; export it on the server and copy that file"
    )


def read_server_key_argument(argument: str, expected_fingerprint: str | None) -> bytes:
    """Read the key file named on the command line and compare an expected fingerprint."""
    path = Path(argument)
    if not path.is_file():
        if _FINGERPRINT.match(argument):
            raise KeySetupError(
                "a fingerprint alone cannot check signatures: pass the server's public key file"
                f" with --server-key and this fingerprint with --server-fingerprint {argument}"
            )
        raise KeySetupError(f"server key file {argument} does not exist")
    key = parse_server_public_key(path.read_bytes())
    if expected_fingerprint is not None:
        actual = fingerprint_of(key)
        if actual.lower() != expected_fingerprint.strip().lower():
            raise KeySetupError(
                f"the key in {argument} has fingerprint {actual}, not {expected_fingerprint};"
                " do not pin it — get the right key from the server administrator"
            )
    return key


def pin_server_key(store: EvidenceStore, key: bytes) -> str:
    write_bytes_atomic(store.pinned_server_key_path, key, mode=0o444)
    return str(fingerprint_of(key))


def load_pinned_server_key(store: EvidenceStore) -> bytes:
    try:
        key = store.pinned_server_key_path.read_bytes()
    except OSError as exc:
        raise EvidenceStoreError(
            f"{store.pinned_server_key_path} cannot be read ({exc.strerror}); re-create the store"
        ) from exc
    if len(key) != ED25519_KEY_SIZE:
        raise EvidenceStoreError(f"{store.pinned_server_key_path} is damaged; re-create the store")
    if fingerprint_of(key) != store.read_config().server_key_fingerprint:
        raise EvidenceStoreError(
            f"{store.pinned_server_key_path} no longer matches the fingerprint pinned at init;"
            " someone replaced it — investigate before importing anything"
        )
    return key


def create_workstation_key(store: EvidenceStore) -> Signer:
    seed = generate_signing_seed()
    write_bytes_atomic(store.workstation_key_path, seed, mode=0o600)
    return Signer(seed)


def load_workstation_signer(store: EvidenceStore) -> Signer:
    path = store.workstation_key_path
    try:
        if os.stat(path).st_mode & 0o077:
            raise EvidenceStoreError(f"{path} is readable by others; run `chmod 600 {path}`")
        signer = Signer(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise EvidenceStoreError(
            f"{path} cannot be used ({exc}); restore it from the store's backup"
        ) from exc
    if signer.fingerprint != store.read_config().workstation_key_fingerprint:
        raise EvidenceStoreError(f"{path} is not the key this store was created with; restore it")
    return signer
