"""The gzip layer of file submissions: the header clients read; streams other clients wrote."""

import gzip
import io
import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.decryption import DecryptedFile, decrypt_file_submission
from crypto.encryption import COALESCE_BYTES, encrypt_bytes
from crypto.errors import DecryptionFailed
from crypto.gzip_layer import Gunzipper, gzip_header_name
from tests.support.gpg_homes import KeyHome, digest_of, encrypt_stream, run_gpg_cli


def test_file_is_gzip_with_original_name_for_securedrop_clients(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    data = os.urandom(COALESCE_BYTES * 2 + 70000)
    output = tmp_path / "1-brave_tortoise-doc.gz.gpg"
    digest = encrypt_stream(server, output, data, 65536, gzip_name="photo 1.jpg")
    assert digest == digest_of(data)  # hashes are of the file, not of the gzip stream
    payload = run_gpg_cli(workstation.home, "--decrypt", str(output)).stdout
    assert gzip.decompress(payload) == data
    assert payload[3] & 0x08
    assert payload[4:8] == b"\0\0\0\0"
    assert payload[10 : 10 + len(b"photo 1.jpg\0")] == b"photo 1.jpg\0"
    unzipped = subprocess.run(["gzip", "-t"], input=payload, check=False)
    assert unzipped.returncode == 0


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


def test_message_is_not_mistaken_for_a_gzip_file(
    tmp_path: Path, server: KeyHome, workstation: KeyHome
) -> None:
    path = tmp_path / "msg.gpg"
    path.write_bytes(encrypt_bytes(server.home, [server.fingerprint], b"just a message"))
    with pytest.raises(DecryptionFailed, match="not a gzip"):
        decrypt_file_submission(workstation.home, path, io.BytesIO())


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
    assert result.digest == digest_of(data)


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
    assert (result.gzip_name, result.digest) == ("mixed.bin", digest_of(data))


@pytest.mark.parametrize("damage", ["block length", "truncated block", "trailer crc"])
def test_a_damaged_stored_gzip_stream_is_refused(
    tmp_path: Path, server: KeyHome, workstation: KeyHome, damage: str
) -> None:
    data = os.urandom(200_000)
    path = tmp_path / "doc.gz.gpg"
    encrypt_stream(server, path, data, 65536, gzip_name="a.bin")
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



@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=4000).map(lambda b: b * 600),
    st.sampled_from([7, 4096, 65536, 1 << 20, 3 << 20]),
)
def test_compressed_gzip_reads_back_whatever_the_chunking(data: bytes, chunk: int) -> None:
    # Inflating in bounded steps must not lose or repeat output or the trailer at an edge.
    payload = gzip.compress(data, compresslevel=6)
    unzipper = Gunzipper()
    out = bytearray()
    for start in range(0, len(payload), chunk):
        for piece in unzipper.feed(payload[start : start + chunk]):
            out += piece
    unzipper.close(len(out), zlib.crc32(bytes(out)))
    assert bytes(out) == data
