"""Plaintext hashes computed beside the stream.

They stay right when the caller reuses its buffer, and their threads never outlive the stream.
"""

import gc
import io
import os
import threading
import time
from pathlib import Path

from crypto.decryption import decrypt_file_submission
from crypto.encryption import COALESCE_BYTES, open_encryptor
from tests.support.gpg_homes import KeyHome, digest_of


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
    assert digest == digest_of(sent)
    out = io.BytesIO()
    assert decrypt_file_submission(workstation.home, output, out).digest == digest
    assert out.getvalue() == sent


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

