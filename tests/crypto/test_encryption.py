"""Encryption to the submission key, streamed and one-shot: what reaches disk, what never does."""

import errno
import io
import os
import tempfile
import time
from pathlib import Path

import pytest

from crypto.decryption import decrypt_file_submission, decrypt_to
from crypto.encryption import COALESCE_BYTES, FLUSH_BYTES, encrypt_bytes, open_encryptor
from crypto.errors import GpgFailed, SubmissionKeyMissing
from crypto.types import Fingerprint
from tests.support.gpg_homes import KeyHome, digest_of, encrypt_stream, run_gpg_cli


@pytest.mark.parametrize("piece", [1, 4096, COALESCE_BYTES + 3])
def test_stream_round_trip_with_plain_gpg(
    tmp_path: Path, server: KeyHome, workstation: KeyHome, piece: int
) -> None:
    data = os.urandom(3000 if piece == 1 else 2 * COALESCE_BYTES + 12345)
    output = tmp_path / "1-brave_tortoise-msg.gpg"
    digest = encrypt_stream(server, output, data, piece)
    assert digest == digest_of(data)
    assert (output.stat().st_mode & 0o777) == 0o600
    decrypted = run_gpg_cli(workstation.home, "--decrypt", str(output))
    assert decrypted.returncode == 0
    assert decrypted.stdout == data


def test_ciphertext_is_binary_uncompressed_and_not_plaintext(
    tmp_path: Path, server: KeyHome
) -> None:
    data = b"MARKER-" * 10000
    output = tmp_path / "m.gpg"
    encrypt_stream(server, output, data, 1000)
    ciphertext = output.read_bytes()
    assert b"MARKER" not in ciphertext
    assert not ciphertext.startswith(b"-----BEGIN")
    # Highly compressible input stays full size: gpg compression is off.
    assert len(ciphertext) > len(data)
    packets = run_gpg_cli(server.home, "--list-packets", str(output)).stdout.decode()
    assert "pubkey enc packet" in packets


def test_abort_kills_gpg_and_removes_output(tmp_path: Path, server: KeyHome) -> None:
    output = tmp_path / "partial.gpg"
    enc = open_encryptor(server.home, [server.fingerprint], output)
    enc.write(os.urandom(COALESCE_BYTES * 2))
    enc.abort()
    enc.abort()
    assert not output.exists()
    with pytest.raises(ValueError, match="already finished"):
        enc.write(b"more")


def test_exception_in_with_block_leaves_nothing(tmp_path: Path, server: KeyHome) -> None:
    output = tmp_path / "partial.gpg"

    def upload_interrupted() -> None:
        with open_encryptor(server.home, [server.fingerprint], output) as enc:
            enc.write(b"secret upload")
            raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        upload_interrupted()
    assert not output.exists()


def test_leaving_the_block_without_finish_leaves_nothing(tmp_path: Path, server: KeyHome) -> None:
    output = tmp_path / "forgotten.gpg"
    with open_encryptor(server.home, [server.fingerprint], output) as enc:
        enc.write(b"data")
    assert not output.exists()


@pytest.mark.parametrize("gzip_name", [None, "photo.jpg"])
def test_unknown_recipient_fails_clearly_and_leaves_nothing(
    tmp_path: Path, server: KeyHome, gzip_name: str | None
) -> None:
    output = tmp_path / "nobody.gpg"

    def upload() -> None:
        with open_encryptor(
            server.home, [Fingerprint("AB" * 20)], output, gzip_name=gzip_name
        ) as enc:
            enc.write(os.urandom(4 * 1024 * 1024))
            enc.finish()

    with pytest.raises(SubmissionKeyMissing, match="skrynka check"):
        upload()
    assert not output.exists()


def test_recipients_must_be_a_nonempty_sequence(tmp_path: Path, server: KeyHome) -> None:
    with pytest.raises(ValueError, match="at least one"):
        open_encryptor(server.home, [], tmp_path / "x.gpg")
    with pytest.raises(ValueError, match="at least one"):
        encrypt_bytes(server.home, server.fingerprint, b"x")  # type: ignore[arg-type]


def test_encrypt_bytes_round_trip(tmp_path: Path, server: KeyHome, workstation: KeyHome) -> None:
    ciphertext = encrypt_bytes(server.home, [server.fingerprint], "Привіт, свет".encode())
    path = tmp_path / "msg.gpg"
    path.write_bytes(ciphertext)
    out = io.BytesIO()
    digest = decrypt_to(workstation.home, path, out)
    assert out.getvalue().decode() == "Привіт, свет"
    assert digest == digest_of(out.getvalue())


def test_encrypt_bytes_to_unknown_key_fails(server: KeyHome) -> None:
    with pytest.raises(SubmissionKeyMissing):
        encrypt_bytes(server.home, [Fingerprint("CD" * 20)], b"x")


def test_missing_gpg_binary_is_reported(
    tmp_path: Path, server: KeyHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GpgFailed, match="apt install gnupg"):
        open_encryptor(server.home, [server.fingerprint], tmp_path / "x.gpg")
    assert not (tmp_path / "x.gpg").exists()


def _files_containing(marker: bytes, roots: list[Path], since: float) -> list[Path]:
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                    recent = stat.st_mtime >= since and stat.st_size < 64 * 1024 * 1024
                    if recent and marker in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def test_no_plaintext_reaches_any_file(tmp_path: Path, server: KeyHome) -> None:
    marker = os.urandom(16).hex().encode()
    data = (marker + os.urandom(1000)) * 3000
    since = time.time() - 1
    encrypt_stream(server, tmp_path / "doc.gz.gpg", data, 65536, gzip_name="leak.bin")
    encrypt_bytes(server.home, [server.fingerprint], data[:5000])
    roots = [tmp_path, server.home, Path(tempfile.gettempdir()), Path("/dev/shm"), Path("/var/tmp")]
    assert _files_containing(marker, [r for r in roots if r.is_dir()], since) == []


def test_ciphertext_is_flushed_while_the_upload_streams(
    tmp_path: Path, server: KeyHome, workstation: KeyHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fsync before acknowledging must not have the whole upload left to write.
    flushed: list[int] = []
    real_fdatasync = os.fdatasync

    def recording_fdatasync(fd: int) -> None:
        flushed.append(fd)
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", recording_fdatasync)
    output = tmp_path / "doc.gz.gpg"
    data = os.urandom(FLUSH_BYTES + COALESCE_BYTES)
    with open_encryptor(server.home, [server.fingerprint], output, gzip_name="v.mp4") as enc:
        for start in range(0, len(data), COALESCE_BYTES):
            enc.write(data[start : start + COALESCE_BYTES])
        assert flushed, "nothing was flushed before finish()"
        digest = enc.finish()
    out = io.BytesIO()
    assert (
        decrypt_file_submission(workstation.home, output, out).digest == digest == digest_of(data)
    )


def test_a_failed_background_flush_fails_the_upload(
    tmp_path: Path, server: KeyHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Linux reports a write-back error once: the final fsync alone could then succeed.
    def failing_fdatasync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing_fdatasync)
    output = tmp_path / "doc.gz.gpg"
    enc = open_encryptor(server.home, [server.fingerprint], output, gzip_name="a")
    for _ in range(FLUSH_BYTES // COALESCE_BYTES + 1):
        enc.write(os.urandom(COALESCE_BYTES))
    with pytest.raises(OSError, match="Input/output"):
        enc.finish()
    assert not output.exists()

