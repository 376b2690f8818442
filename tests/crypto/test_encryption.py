import errno
import gc
import gzip
import hashlib
import io
import os
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pytest

from crypto.decryption import DecryptedFile, FileSpan, decrypt_file_submission, decrypt_to
from crypto.digest import PlaintextDigest
from crypto.encryption import COALESCE_BYTES, FLUSH_BYTES, encrypt_bytes, open_encryptor
from crypto.errors import DecryptionFailed, GpgFailed, SubmissionKeyMissing
from crypto.gzip_layer import FALLBACK_GZIP_NAME, gzip_header_name
from crypto.types import Fingerprint
from tests.crypto.conftest import KeyHome, run_gpg_cli


def _digest(data: bytes) -> PlaintextDigest:
    return PlaintextDigest(
        len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()
    )


def _encrypt_stream(
    server: KeyHome, output: Path, data: bytes, piece: int, gzip_name: str | None = None
) -> PlaintextDigest:
    with open_encryptor(server.home, [server.fingerprint], output, gzip_name=gzip_name) as enc:
        for start in range(0, len(data), piece):
            enc.write(data[start : start + piece])
        return enc.finish()


@pytest.mark.parametrize("piece", [1, 4096, COALESCE_BYTES + 3])
def test_stream_round_trip_with_plain_gpg(
    tmp_path: Path, server: KeyHome, workstation: KeyHome, piece: int
) -> None:
    data = os.urandom(3000 if piece == 1 else 2 * COALESCE_BYTES + 12345)
    output = tmp_path / "1-brave_tortoise-msg.gpg"
    digest = _encrypt_stream(server, output, data, piece)
    assert digest == _digest(data)
    assert (output.stat().st_mode & 0o777) == 0o600
    decrypted = run_gpg_cli(workstation.home, "--decrypt", str(output))
    assert decrypted.returncode == 0
    assert decrypted.stdout == data


def test_ciphertext_is_binary_uncompressed_and_not_plaintext(
    tmp_path: Path, server: KeyHome
) -> None:
    data = b"MARKER-" * 10000
    output = tmp_path / "m.gpg"
    _encrypt_stream(server, output, data, 1000)
    ciphertext = output.read_bytes()
    assert b"MARKER" not in ciphertext
    assert not ciphertext.startswith(b"-----BEGIN")
    # Highly compressible input stays full size: gpg compression is off.
    assert len(ciphertext) > len(data)
    packets = run_gpg_cli(server.home, "--list-packets", str(output)).stdout.decode()
    assert "pubkey enc packet" in packets


def test_file_is_gzip_with_original_name_for_securedrop_clients(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    data = os.urandom(COALESCE_BYTES * 2 + 70000)
    output = tmp_path / "1-brave_tortoise-doc.gz.gpg"
    digest = _encrypt_stream(server, output, data, 65536, gzip_name="photo 1.jpg")
    assert digest == _digest(data)  # hashes are of the file, not of the gzip stream
    payload = run_gpg_cli(workstation.home, "--decrypt", str(output)).stdout
    assert gzip.decompress(payload) == data
    assert payload[3] & 0x08
    assert payload[4:8] == b"\0\0\0\0"
    assert payload[10 : 10 + len(b"photo 1.jpg\0")] == b"photo 1.jpg\0"
    unzipped = subprocess.run(["gzip", "-t"], input=payload, check=False)
    assert unzipped.returncode == 0


def test_empty_file_round_trips(tmp_path: Path, server: KeyHome, workstation: KeyHome) -> None:
    output = tmp_path / "empty.gz.gpg"
    digest = _encrypt_stream(server, output, b"", 1, gzip_name="empty.txt")
    assert digest == _digest(b"")
    out = io.BytesIO()
    result = decrypt_file_submission(workstation.home, output, out)
    assert (result.gzip_name, result.digest, out.getvalue()) == ("empty.txt", digest, b"")


def test_decrypt_file_submission_streams_name_and_digest(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    data = os.urandom(1_500_000)
    output = tmp_path / "doc.gz.gpg"
    digest = _encrypt_stream(server, output, data, 100_000, gzip_name="../../etc/отчёт.pdf")
    out = io.BytesIO()
    result = decrypt_file_submission(workstation.home, output, out)
    assert out.getvalue() == data
    assert result.digest == digest
    assert result.gzip_name == f"{FALLBACK_GZIP_NAME}.pdf"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\café.jpg", "cafe.jpg"),
        ("../../etc/passwd", "passwd"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("a\x00b\x1b[31m.txt", "ab[31m.txt"),
        ("фото.jpg", "document.jpg"),
        ("...", "document"),
        ("", "document"),
        ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),
    ],
)
def test_gzip_header_name_is_a_safe_ascii_base_name(original: str, expected: str) -> None:
    assert gzip_header_name(original) == expected


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
    assert digest == _digest(out.getvalue())


def test_encrypt_bytes_to_unknown_key_fails(server: KeyHome) -> None:
    with pytest.raises(SubmissionKeyMissing):
        encrypt_bytes(server.home, [Fingerprint("CD" * 20)], b"x")


def test_decrypt_with_the_wrong_key_fails(
    tmp_path: Path, server: KeyHome, other_workstation: KeyHome
) -> None:
    path = tmp_path / "msg.gpg"
    path.write_bytes(encrypt_bytes(server.home, [server.fingerprint], b"hello"))
    with pytest.raises(DecryptionFailed):
        decrypt_to(other_workstation.home, path, io.BytesIO())


def test_decrypt_tampered_ciphertext_fails(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    path = tmp_path / "doc.gz.gpg"
    _encrypt_stream(server, path, os.urandom(300_000), 65536, gzip_name="a.bin")
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(DecryptionFailed):
        decrypt_to(workstation.home, path, io.BytesIO())
    with pytest.raises(DecryptionFailed):
        decrypt_file_submission(workstation.home, path, io.BytesIO())


def test_truncated_ciphertext_fails(tmp_path: Path, server: KeyHome, workstation: KeyHome) -> None:
    path = tmp_path / "msg.gpg"
    ciphertext = encrypt_bytes(server.home, [server.fingerprint], os.urandom(50_000))
    path.write_bytes(ciphertext[:-100])
    with pytest.raises(DecryptionFailed):
        decrypt_to(workstation.home, path, io.BytesIO())


def test_unencrypted_openpgp_data_is_not_accepted_as_decrypted(
    tmp_path: Path, workstation: KeyHome
) -> None:
    # A literal-data packet "decrypts" with plain gpg; a substituted file must not pass.
    literal = run_gpg_cli(workstation.home, "--store", stdin=b"planted").stdout
    path = tmp_path / "planted.gpg"
    path.write_bytes(literal)
    with pytest.raises(DecryptionFailed):
        decrypt_to(workstation.home, path, io.BytesIO())


def test_message_is_not_mistaken_for_a_gzip_file(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    path = tmp_path / "msg.gpg"
    path.write_bytes(encrypt_bytes(server.home, [server.fingerprint], b"just a message"))
    with pytest.raises(DecryptionFailed, match="not a gzip"):
        decrypt_file_submission(workstation.home, path, io.BytesIO())


def test_missing_source_file_fails_opaquely(tmp_path: Path, workstation: KeyHome) -> None:
    with pytest.raises(DecryptionFailed):
        decrypt_to(workstation.home, tmp_path / "absent.gpg", io.BytesIO())


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
    _encrypt_stream(server, tmp_path / "doc.gz.gpg", data, 65536, gzip_name="leak.bin")
    encrypt_bytes(server.home, [server.fingerprint], data[:5000])
    roots = [tmp_path, server.home, Path(tempfile.gettempdir()), Path("/dev/shm"), Path("/var/tmp")]
    assert _files_containing(marker, [r for r in roots if r.is_dir()], since) == []


def test_a_reused_write_buffer_does_not_change_the_hashes(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    # Hashing runs behind the writes; a caller refilling one buffer must still get its bytes.
    data = os.urandom(6 * COALESCE_BYTES)
    buffer = bytearray(COALESCE_BYTES)
    output = tmp_path / "doc.gz.gpg"
    with open_encryptor(server.home, [server.fingerprint], output, gzip_name="a.bin") as enc:
        for start in range(0, len(data), COALESCE_BYTES):
            buffer[:] = data[start : start + COALESCE_BYTES]
            enc.write(buffer)
            enc.write(memoryview(buffer)[:10])
            buffer[:] = bytes(COALESCE_BYTES)
        digest = enc.finish()
    sent = b"".join(
        data[start : start + COALESCE_BYTES] + data[start : start + 10]
        for start in range(0, len(data), COALESCE_BYTES)
    )
    assert digest == _digest(sent)
    out = io.BytesIO()
    assert decrypt_file_submission(workstation.home, output, out).digest == digest
    assert out.getvalue() == sent


def test_decrypt_a_span_of_a_larger_file_hashing_the_ciphertext_on_the_way(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    # A member stored inside a bundle ZIP: other bytes before and after it.
    data = os.urandom(3 * 1024 * 1024 + 17)
    single = tmp_path / "doc.gz.gpg"
    digest = _encrypt_stream(server, single, data, 1024 * 1024, gzip_name="clip.mp4")
    ciphertext = single.read_bytes()
    container = tmp_path / "bundle.bin"
    container.write_bytes(b"before" * 1000 + ciphertext + b"after" * 1000)
    span = FileSpan(container, 6000, len(ciphertext))

    seen = hashlib.sha256()
    out = io.BytesIO()
    result = decrypt_file_submission(workstation.home, span, out, ciphertext_digest=seen)

    assert (result.gzip_name, result.digest, out.getvalue()) == ("clip.mp4", digest, data)
    assert seen.hexdigest() == hashlib.sha256(ciphertext).hexdigest()
    message = tmp_path / "msg.gpg"
    message.write_bytes(encrypt_bytes(server.home, [server.fingerprint], b"span message"))
    seen = hashlib.sha256()
    out = io.BytesIO()
    decrypt_to(workstation.home, message, out, ciphertext_digest=seen)
    assert out.getvalue() == b"span message"
    assert seen.hexdigest() == hashlib.sha256(message.read_bytes()).hexdigest()


def test_a_span_that_is_not_a_whole_message_fails(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    path = tmp_path / "doc.gz.gpg"
    _encrypt_stream(server, path, os.urandom(2 * 1024 * 1024), 65536, gzip_name="a.bin")
    size = path.stat().st_size
    for span in (FileSpan(path, 0, size - 1000), FileSpan(path, 1, size - 1)):
        with pytest.raises(DecryptionFailed):
            decrypt_file_submission(workstation.home, span, io.BytesIO(),
                                    ciphertext_digest=hashlib.sha256())


def _gzip_member(name: bytes, deflated: bytes, data: bytes) -> bytes:
    """A gzip member around a raw deflate stream, as another client might write it."""
    header = b"\x1f\x8b\x08\x08\0\0\0\0\0\xff" + name + b"\0"
    return header + deflated + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _decrypt_gzip(server: KeyHome, workstation: KeyHome, tmp_path: Path, payload: bytes
                  ) -> tuple[DecryptedFile, bytes]:
    path = tmp_path / "doc.gz.gpg"
    path.write_bytes(encrypt_bytes(server.home, [server.fingerprint], payload))
    out = io.BytesIO()
    return decrypt_file_submission(workstation.home, path, out), out.getvalue()


def test_a_compressed_gzip_from_another_client_decrypts(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    data = b"witness statement, page after page. " * 40000 + os.urandom(100_000)
    payload = gzip.compress(data, compresslevel=6)
    result, plain = _decrypt_gzip(server, workstation, tmp_path, payload)
    assert plain == data
    assert result.digest == _digest(data)


def test_stored_blocks_followed_by_compressed_blocks_that_refer_back(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    # A stored (non-final) block, then compressed blocks whose matches reach into it.
    first = os.urandom(40_000)
    second = first[-30_000:] * 3 + b"tail"
    stored = b"\x00" + struct.pack("<HH", len(first), 0xFFFF ^ len(first)) + first
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=first[-32768:])
    compressed = squeezer.compress(second) + squeezer.flush()
    assert len(compressed) < len(second) // 2  # it really refers back
    data = first + second
    result, plain = _decrypt_gzip(
        server, workstation, tmp_path, _gzip_member(b"mixed.bin", stored + compressed, data)
    )
    assert plain == data
    assert (result.gzip_name, result.digest) == ("mixed.bin", _digest(data))


@pytest.mark.parametrize("damage", ["block length", "truncated block", "trailer crc"])
def test_a_damaged_stored_gzip_stream_is_refused(
    tmp_path: Path, server: KeyHome, workstation: KeyHome, damage: str
) -> None:
    data = os.urandom(200_000)
    path = tmp_path / "doc.gz.gpg"
    _encrypt_stream(server, path, data, 65536, gzip_name="a.bin")
    payload = bytearray(run_gpg_cli(workstation.home, "--decrypt", str(path)).stdout)
    body = payload.index(b"a.bin\0") + len(b"a.bin\0")
    if damage == "block length":
        payload[body + 3] ^= 0x01  # ~LEN no longer matches LEN
    elif damage == "truncated block":
        del payload[body + 100_000 :]
    else:
        payload[-6] ^= 0x01
    with pytest.raises(DecryptionFailed, match="gzip"):
        _decrypt_gzip(server, workstation, tmp_path, bytes(payload))


def test_a_dropped_encryptor_leaves_no_hashing_threads(tmp_path: Path, server: KeyHome) -> None:
    def lanes() -> int:
        return sum(t.name.startswith("plaintext-sha") for t in threading.enumerate())

    before = lanes()
    enc = open_encryptor(server.home, [server.fingerprint], tmp_path / "x.gpg")
    enc.write(os.urandom(COALESCE_BYTES))
    assert lanes() == before + 2
    del enc  # neither finished nor aborted: a bug elsewhere must not pile up threads
    gc.collect()
    deadline = time.monotonic() + 5
    while lanes() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lanes() == before


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
    assert decrypt_file_submission(workstation.home, output, out).digest == digest == _digest(data)


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
