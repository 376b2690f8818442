"""Decryption on the workstation: messages, file submissions and spans of a bundle.

Anything not sealed to our key, damaged or cut short is refused.
"""

import hashlib
import io
import os
from pathlib import Path

import pytest

from crypto.decryption import FileSpan, decrypt_file_submission, decrypt_to
from crypto.encryption import encrypt_bytes
from crypto.errors import DecryptionFailed
from crypto.gzip_layer import FALLBACK_GZIP_NAME
from tests.support.gpg_homes import KeyHome, digest_of, encrypt_stream, run_gpg_cli


def test_empty_file_round_trips(tmp_path: Path, server: KeyHome, workstation: KeyHome) -> None:
    output = tmp_path / "empty.gz.gpg"
    digest = encrypt_stream(server, output, b"", 1, gzip_name="empty.txt")
    assert digest == digest_of(b"")
    out = io.BytesIO()
    result = decrypt_file_submission(workstation.home, output, out)
    assert (result.gzip_name, result.digest, out.getvalue()) == ("empty.txt", digest, b"")


def test_decrypt_file_submission_streams_name_and_digest(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    data = os.urandom(1_500_000)
    output = tmp_path / "doc.gz.gpg"
    digest = encrypt_stream(server, output, data, 100_000, gzip_name="../../etc/отчёт.pdf")
    out = io.BytesIO()
    result = decrypt_file_submission(workstation.home, output, out)
    assert out.getvalue() == data
    assert result.digest == digest
    assert result.gzip_name == f"{FALLBACK_GZIP_NAME}.pdf"


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
    encrypt_stream(server, path, os.urandom(300_000), 65536, gzip_name="a.bin")
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


def test_missing_source_file_fails_opaquely(tmp_path: Path, workstation: KeyHome) -> None:
    with pytest.raises(DecryptionFailed):
        decrypt_to(workstation.home, tmp_path / "absent.gpg", io.BytesIO())


def test_decrypt_a_span_of_a_larger_file_hashing_the_ciphertext_on_the_way(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    # A member stored inside a bundle ZIP: other bytes before and after it.
    data = os.urandom(3 * 1024 * 1024 + 17)
    single = tmp_path / "doc.gz.gpg"
    digest = encrypt_stream(server, single, data, 1024 * 1024, gzip_name="clip.mp4")
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
    encrypt_stream(server, path, os.urandom(2 * 1024 * 1024), 65536, gzip_name="a.bin")
    size = path.stat().st_size
    for span in (FileSpan(path, 0, size - 1000), FileSpan(path, 1, size - 1)):
        with pytest.raises(DecryptionFailed):
            decrypt_file_submission(workstation.home, span, io.BytesIO(),
                                    ciphertext_digest=hashlib.sha256())

