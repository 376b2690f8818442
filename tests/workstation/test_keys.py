"""The workstation's two Ed25519 keys: the server key pinned at init, and its own signing key."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from crypto.signing import Signer, fingerprint_of, generate_signing_seed
from workstation.errors import EvidenceStoreError, KeySetupError
from workstation.keys import (
    create_workstation_key,
    load_pinned_server_key,
    load_workstation_signer,
    parse_server_public_key,
    pin_server_key,
    read_server_key_argument,
)
from workstation.store import GNUPG_IN_STORE, EvidenceStore, StoreConfig

SERVER = Signer(generate_signing_seed())


def new_store(root: Path, workstation_fingerprint: str = "b" * 64) -> EvidenceStore:
    store = EvidenceStore(root)
    store.create_layout()
    store.write_config(StoreConfig(GNUPG_IN_STORE, SERVER.fingerprint, workstation_fingerprint,
                                   "2026-11-27T05:11:16.055418Z"))
    return store


@pytest.mark.parametrize(
    "encoded",
    [
        SERVER.public_key,
        SERVER.public_key.hex().encode() + b"\n",
        SERVER.public_key.hex().upper().encode(),
        base64.b64encode(SERVER.public_key) + b"\n",
    ],
    ids=["raw", "hex", "upper-case hex", "base64"],  # the key is random: ids must not be
)
def test_the_server_key_is_read_raw_hex_or_base64(encoded: bytes) -> None:
    assert parse_server_public_key(encoded) == SERVER.public_key


@pytest.mark.parametrize(
    "encoded", [b"", b"short", SERVER.public_key + b"x", b"-----BEGIN PGP PUBLIC KEY BLOCK-----",
                base64.b64encode(SERVER.public_key[:31]), "\u00e9".encode() * 40],
    ids=["empty", "short", "33 bytes", "OpenPGP armor", "31 bytes in base64", "not ASCII"],
)
def test_anything_else_is_refused_with_what_to_copy(encoded: bytes) -> None:
    with pytest.raises(KeySetupError, match="32-byte Ed25519 public key"):
        parse_server_public_key(encoded)


def test_a_key_file_is_checked_against_the_fingerprint_given(tmp_path: Path) -> None:
    path = tmp_path / "server.pub"
    path.write_bytes(base64.b64encode(SERVER.public_key))
    assert read_server_key_argument(str(path), SERVER.fingerprint.upper()) == SERVER.public_key
    assert read_server_key_argument(str(path), None) == SERVER.public_key
    with pytest.raises(KeySetupError, match="do not pin it"):
        read_server_key_argument(str(path), "0" * 64)


def test_a_fingerprint_in_place_of_a_key_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(KeySetupError, match="a fingerprint alone cannot check signatures"):
        read_server_key_argument(SERVER.fingerprint, None)
    with pytest.raises(KeySetupError, match="does not exist"):
        read_server_key_argument(str(tmp_path / "missing.pub"), None)


def test_the_pinned_key_is_read_only_and_loads_back(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    assert pin_server_key(store, SERVER.public_key) == SERVER.fingerprint
    assert stat.S_IMODE(store.pinned_server_key_path.stat().st_mode) == 0o444
    assert load_pinned_server_key(store) == SERVER.public_key


def test_a_replaced_pinned_key_is_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    pin_server_key(store, Signer(generate_signing_seed()).public_key)
    with pytest.raises(EvidenceStoreError, match="someone replaced it"):
        load_pinned_server_key(store)


def test_a_damaged_or_missing_pinned_key_is_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    with pytest.raises(EvidenceStoreError, match="cannot be read"):
        load_pinned_server_key(store)
    store.pinned_server_key_path.write_bytes(SERVER.public_key[:20])
    with pytest.raises(EvidenceStoreError, match="is damaged"):
        load_pinned_server_key(store)


def test_the_workstation_key_is_private_and_loads_back(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    store.create_layout()
    signer = create_workstation_key(store)
    store.write_config(StoreConfig(GNUPG_IN_STORE, SERVER.fingerprint, signer.fingerprint,
                                   "2026-11-27T05:11:16.055418Z"))
    assert stat.S_IMODE(store.workstation_key_path.stat().st_mode) == 0o600
    loaded = load_workstation_signer(store)
    assert loaded.fingerprint == signer.fingerprint == fingerprint_of(signer.public_key)
    assert loaded.sign(b"statement") == signer.sign(b"statement")


def test_a_workstation_key_others_can_read_is_refused(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    store.create_layout()
    signer = create_workstation_key(store)
    store.write_config(StoreConfig(GNUPG_IN_STORE, SERVER.fingerprint, signer.fingerprint,
                                   "2026-11-27T05:11:16.055418Z"))
    os.chmod(store.workstation_key_path, 0o644)
    with pytest.raises(EvidenceStoreError, match="chmod 600"):
        load_workstation_signer(store)


def test_another_workstation_key_is_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence", workstation_fingerprint="c" * 64)
    create_workstation_key(store)
    with pytest.raises(EvidenceStoreError, match="not the key this store was created with"):
        load_workstation_signer(store)


def test_a_damaged_or_missing_workstation_key_is_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "evidence")
    with pytest.raises(EvidenceStoreError, match="restore it from the store's backup"):
        load_workstation_signer(store)
    store.workstation_key_path.write_bytes(b"truncated")
    os.chmod(store.workstation_key_path, 0o600)
    with pytest.raises(EvidenceStoreError, match="restore it from the store's backup"):
        load_workstation_signer(store)
