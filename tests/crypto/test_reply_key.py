import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.errors import CryptoError, DecryptionFailed
from crypto.reply_key import (
    REPLY_KEY_UID,
    ReplyKey,
    check_wrap_key,
    create_reply_key,
    decrypt_with_reply_key,
    wrap_secret_key,
)
from crypto.submission_key import generate_key_pair
from tests.support.gpg_homes import HomeFactory, KeyHome, run_gpg_cli

# 2013-05-14T00:00:00Z
FIXED_EPOCH = 1368489600


@pytest.fixture
def ram_dir() -> Iterator[Path]:
    """A private directory on the RAM-backed filesystem, so leftovers are visible to the test."""
    parent = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
    path = Path(tempfile.mkdtemp(prefix="skr-ram-", dir=parent))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def wrap_key() -> bytes:
    return os.urandom(32)


@pytest.fixture(scope="session")
def reply_key(wrap_key: bytes) -> ReplyKey:
    parent = Path(tempfile.mkdtemp(prefix="skr-ram-", dir="/tmp"))
    try:
        return create_reply_key(wrap_key, parent)
    finally:
        shutil.rmtree(parent)


def _encrypt_with_cli(home: Path, key: ReplyKey, plaintext: bytes) -> bytes:
    run_gpg_cli(home, "--import", stdin=key.public_armored.encode())
    result = run_gpg_cli(home, "--encrypt", "--recipient", key.fingerprint, stdin=plaintext)
    assert result.returncode == 0
    return result.stdout


def _colon_records(home: Path, key: ReplyKey, *args: str) -> list[list[str]]:
    run_gpg_cli(home, "--import", stdin=key.public_armored.encode())
    listing = run_gpg_cli(home, "--with-colons", *args, key.fingerprint).stdout.decode()
    return [line.split(":") for line in listing.splitlines()]


def test_reply_encrypted_with_plain_gpg_decrypts(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    home = gpg_home_factory()
    replies = [_encrypt_with_cli(home, reply_key, text) for text in (b"first", "другі".encode())]
    assert decrypt_with_reply_key(reply_key.wrapped_secret, wrap_key, replies, ram_dir) == [
        b"first",
        "другі".encode(),
    ]
    assert list(ram_dir.iterdir()) == []


def test_reply_to_both_reply_key_and_submission_key_decrypts_on_both_sides(
    tmp_path: Path,
    gpg_home_factory: HomeFactory,
    reply_key: ReplyKey,
    wrap_key: bytes,
    ram_dir: Path,
    server: KeyHome,
    workstation: KeyHome,
) -> None:
    home = gpg_home_factory()
    run_gpg_cli(home, "--import", stdin=reply_key.public_armored.encode())
    run_gpg_cli(home, "--import", stdin=(server.home / "pubring.kbx").read_bytes())
    both = run_gpg_cli(
        server.home,
        "--recipient",
        server.fingerprint,
        "--recipient-file",
        str(_write(tmp_path / "reply.asc", reply_key.public_armored)),
        "--encrypt",
        stdin=b"we received it",
    ).stdout
    assert decrypt_with_reply_key(reply_key.wrapped_secret, wrap_key, [both], ram_dir) == [
        b"we received it"
    ]
    assert run_gpg_cli(workstation.home, "--decrypt", stdin=both).stdout == b"we received it"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_wrong_wrap_key_fails_and_leaves_nothing(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, ram_dir: Path
) -> None:
    reply = _encrypt_with_cli(gpg_home_factory(), reply_key, b"hello")
    with pytest.raises(DecryptionFailed):
        decrypt_with_reply_key(reply_key.wrapped_secret, os.urandom(32), [reply], ram_dir)
    assert list(ram_dir.iterdir()) == []


def test_tampered_wrapped_blob_fails(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    reply = _encrypt_with_cli(gpg_home_factory(), reply_key, b"hello")
    tampered = bytearray(reply_key.wrapped_secret)
    tampered[40] ^= 0x80
    with pytest.raises(DecryptionFailed):
        decrypt_with_reply_key(bytes(tampered), wrap_key, [reply], ram_dir)
    with pytest.raises(DecryptionFailed):
        decrypt_with_reply_key(reply_key.wrapped_secret[:20], wrap_key, [reply], ram_dir)


def test_tampered_reply_fails_and_home_is_removed(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    good = _encrypt_with_cli(gpg_home_factory(), reply_key, b"still readable")
    reply = bytearray(_encrypt_with_cli(gpg_home_factory(), reply_key, b"hello" * 100))
    reply[-30] ^= 0x01
    assert decrypt_with_reply_key(
        reply_key.wrapped_secret, wrap_key, [good, bytes(reply), good], ram_dir
    ) == [b"still readable", None, b"still readable"]
    assert list(ram_dir.iterdir()) == []


def test_reply_for_another_key_fails(
    reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path, server: KeyHome
) -> None:
    other = run_gpg_cli(server.home, "--encrypt", "-r", server.fingerprint, stdin=b"x").stdout
    assert decrypt_with_reply_key(reply_key.wrapped_secret, wrap_key, [other], ram_dir) == [None]


def test_unencrypted_reply_is_refused(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    literal = run_gpg_cli(gpg_home_factory(), "--store", stdin=b"not encrypted").stdout
    assert decrypt_with_reply_key(reply_key.wrapped_secret, wrap_key, [literal], ram_dir) == [
        None
    ]


def test_a_compressed_reply_is_cut_off_at_the_cap(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    # 64 MiB of zeros compress to a few tens of kilobytes inside the encryption.
    home = gpg_home_factory()
    key_file = home / "reply.asc"
    key_file.write_text(reply_key.public_armored)
    bomb = run_gpg_cli(
        home, "--compress-algo", "zlib", "-z", "9", "--encrypt", "--recipient-file",
        str(key_file), stdin=bytes(64 * 1024 * 1024),
    ).stdout
    assert len(bomb) < 256 * 1024
    assert decrypt_with_reply_key(
        reply_key.wrapped_secret, wrap_key, [bomb], ram_dir, max_plaintext_bytes=1024 * 1024
    ) == [None]
    assert list(ram_dir.iterdir()) == []


def test_creation_leaves_no_home_and_no_agent(wrap_key: bytes, ram_dir: Path) -> None:
    key = create_reply_key(wrap_key, ram_dir)
    assert key.fingerprint
    assert list(ram_dir.iterdir()) == []
    agents = subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True).stdout
    assert not [
        line for line in agents.splitlines() if str(ram_dir) in line and not line.startswith("Z")
    ]


def test_keys_carry_a_fixed_time_and_uid(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey, wrap_key: bytes, ram_dir: Path
) -> None:
    second = create_reply_key(wrap_key, ram_dir)
    assert second.fingerprint != reply_key.fingerprint
    for key in (reply_key, second):
        records = _colon_records(gpg_home_factory(), key, "--list-sigs")
        times = {r[5] for r in records if r[0] in ("pub", "sub", "sig")}
        uids = [r[9] for r in records if r[0] == "uid"]
        assert times == {str(FIXED_EPOCH)}
        assert uids == [REPLY_KEY_UID]


def test_reply_key_is_ed25519_with_cv25519_subkey(
    gpg_home_factory: HomeFactory, reply_key: ReplyKey
) -> None:
    records = _colon_records(gpg_home_factory(), reply_key, "--list-keys")
    assert [(r[0], r[16]) for r in records if r[0] in ("pub", "sub")] == [
        ("pub", "ed25519"),
        ("sub", "cv25519"),
    ]


def test_wrapped_secret_is_not_a_plain_key(reply_key: ReplyKey) -> None:
    assert b"PRIVATE KEY" not in reply_key.wrapped_secret
    assert reply_key.wrapped_secret.hex() not in repr(reply_key)


def test_no_ciphertexts_still_checks_the_key(reply_key: ReplyKey, wrap_key: bytes) -> None:
    assert decrypt_with_reply_key(reply_key.wrapped_secret, wrap_key, [], Path("/tmp")) == []
    with pytest.raises(DecryptionFailed):
        decrypt_with_reply_key(reply_key.wrapped_secret, os.urandom(32), [], Path("/tmp"))


def test_missing_ram_dir_is_reported(wrap_key: bytes, tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match="RAM directory"):
        create_reply_key(wrap_key, tmp_path / "absent")


def test_wrap_key_must_be_32_bytes(ram_dir: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        create_reply_key(b"short", ram_dir)


def test_a_key_wrapped_outside_create_reply_key_opens_the_same_way(
    gpg_home_factory: HomeFactory, wrap_key: bytes, ram_dir: Path
) -> None:
    # Bulk seeding generates keys itself and wraps them with wrap_secret_key; the source's
    # login must open those exactly like keys made one by one.
    home = gpg_home_factory()
    fingerprint = generate_key_pair(home, "Bulk reply key")
    exported = run_gpg_cli(
        home, "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", fingerprint
    ).stdout
    public = run_gpg_cli(home, "--armor", "--export", fingerprint).stdout.decode("ascii")
    key = ReplyKey(fingerprint, public, wrap_secret_key(wrap_key, exported))
    reply = _encrypt_with_cli(gpg_home_factory(), key, "адказ".encode())
    assert decrypt_with_reply_key(key.wrapped_secret, wrap_key, [reply], ram_dir) == [
        "адказ".encode()
    ]


def test_a_wrap_key_is_checked_without_touching_gpg() -> None:
    check_wrap_key(os.urandom(32))
    with pytest.raises(ValueError, match="32 bytes"):
        check_wrap_key(b"short")
