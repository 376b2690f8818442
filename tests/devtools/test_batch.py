"""Batched gpg work: many files in one run, many reply keys per run, same results as one by one."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.decryption import decrypt_to
from crypto.errors import DecryptionFailed, GpgFailed
from crypto.reply_encryption import encrypt_reply_to_keys
from crypto.reply_key import REPLY_KEY_UID, ReplyKey, decrypt_with_reply_key
from crypto.types import Fingerprint
from devtools.batch import armor_public_key, create_reply_keys, encrypt_files, fingerprint_of
from tests.support.gpg_homes import HomeFactory, KeyHome, run_gpg_cli

# 2013-05-14T00:00:00Z, as for keys made one at a time.
FIXED_EPOCH = 1368489600


@pytest.fixture
def ram_dir() -> Iterator[Path]:
    parent = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
    path = Path(tempfile.mkdtemp(prefix="skr-ram-", dir=parent))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wrap_keys() -> list[bytes]:
    return [os.urandom(32) for _ in range(7)]


@pytest.fixture(scope="module")
def batch_keys(wrap_keys: list[bytes]) -> list[ReplyKey]:
    parent = Path(tempfile.mkdtemp(prefix="skr-ram-", dir="/tmp"))
    try:
        # 3 a home: the 7 keys span three homes, the last one partly filled.
        return create_reply_keys(wrap_keys, parent, keys_per_home=3, workers=2)
    finally:
        shutil.rmtree(parent)


def plain_files(directory: Path, contents: list[bytes]) -> list[Path]:
    paths = []
    for n, data in enumerate(contents):
        path = directory / f"item-{n}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_many_files_encrypt_in_one_run_and_decrypt_on_the_workstation(
    server: KeyHome, workstation: KeyHome, tmp_path: Path
) -> None:
    contents = [os.urandom(n) for n in (1, 100, 70_000)] + ["лист".encode()]
    outputs = encrypt_files(server.home, [server.fingerprint], plain_files(tmp_path, contents))
    assert [p.name for p in outputs] == [f"item-{n}.gpg" for n in range(len(contents))]
    for output, data in zip(outputs, contents, strict=True):
        if len(data) >= 16:
            assert data not in output.read_bytes()
        with (tmp_path / "out").open("w+b") as out:
            digest = decrypt_to(workstation.home, output, out)
            out.seek(0)
            assert out.read() == data
        assert digest.size == len(data)


def test_batch_ciphertext_does_not_open_with_another_key(
    server: KeyHome, other_workstation: KeyHome, tmp_path: Path
) -> None:
    (output,) = encrypt_files(server.home, [server.fingerprint], plain_files(tmp_path, [b"x"]))
    with (tmp_path / "out").open("w+b") as out, pytest.raises(DecryptionFailed):
        decrypt_to(other_workstation.home, output, out)


def test_an_unknown_recipient_fails_clearly(server: KeyHome, tmp_path: Path) -> None:
    paths = plain_files(tmp_path, [b"a", b"b"])
    with pytest.raises(GpgFailed, match="2 files"):
        encrypt_files(server.home, [Fingerprint("0" * 40)], paths)
    with pytest.raises(ValueError, match="recipient"):
        encrypt_files(server.home, [], paths)


def test_reply_keys_match_one_by_one_keys_and_read_replies(
    batch_keys: list[ReplyKey],
    wrap_keys: list[bytes],
    server: KeyHome,
    ram_dir: Path,
    gpg_home_factory: HomeFactory,
) -> None:
    assert len(batch_keys) == len(wrap_keys)
    assert len({key.fingerprint for key in batch_keys}) == len(batch_keys)
    for key, wrap_key in zip(batch_keys, wrap_keys, strict=True):
        # The armored key we built imports into plain gpg under the fingerprint gpg reported,
        # with the same algorithms, user id and pinned time as create_reply_key's.
        home = gpg_home_factory()
        assert run_gpg_cli(home, "--import", stdin=key.public_armored.encode()).returncode == 0
        listing = run_gpg_cli(home, "--with-colons", "--list-sigs", key.fingerprint)
        records = [line.split(":") for line in listing.stdout.decode().splitlines()]
        assert next(r[9] for r in records if r[0] == "fpr") == key.fingerprint
        assert [(r[0], r[16]) for r in records if r[0] in ("pub", "sub")] == [
            ("pub", "ed25519"),
            ("sub", "cv25519"),
        ]
        assert {r[5] for r in records if r[0] in ("pub", "sub", "sig")} == {str(FIXED_EPOCH)}
        assert [r[9] for r in records if r[0] == "uid"] == [REPLY_KEY_UID]
        # Its secret half is wrapped under its own wrap key: the source reads a server reply.
        reply = encrypt_reply_to_keys(
            server.home, server.fingerprint, key.public_armored, b"hello", ram_dir
        )
        assert decrypt_with_reply_key(key.wrapped_secret, wrap_key, [reply], ram_dir) == [
            b"hello"
        ]


def test_a_reply_key_does_not_unwrap_with_a_neighbours_wrap_key(
    batch_keys: list[ReplyKey], wrap_keys: list[bytes], server: KeyHome, ram_dir: Path
) -> None:
    reply = encrypt_reply_to_keys(
        server.home, server.fingerprint, batch_keys[0].public_armored, b"x", ram_dir
    )
    with pytest.raises(DecryptionFailed):
        decrypt_with_reply_key(batch_keys[0].wrapped_secret, wrap_keys[1], [reply], ram_dir)
    # Nor does a neighbour's key decrypt the reply, though it came from the same gpg run.
    assert decrypt_with_reply_key(batch_keys[1].wrapped_secret, wrap_keys[1], [reply],
                                  ram_dir) == [None]


def test_creation_leaves_nothing_in_the_ram_dir(ram_dir: Path) -> None:
    keys = create_reply_keys([os.urandom(32) for _ in range(2)], ram_dir, keys_per_home=1)
    assert len(keys) == 2
    assert list(ram_dir.iterdir()) == []


def test_armor_has_the_rfc_4880_checksum() -> None:
    # RFC 4880 CRC-24 of the empty string is the initial value 0xB704CE ("twTO").
    assert "=twTO" in armor_public_key(b"")


def test_bad_arguments_are_refused(ram_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        create_reply_keys([b"short"], ram_dir)
    with pytest.raises(ValueError, match="1 or more"):
        create_reply_keys([os.urandom(32)], ram_dir, keys_per_home=0)
    assert create_reply_keys([], ram_dir) == []
    with pytest.raises(GpgFailed):
        fingerprint_of(b"not a packet")
