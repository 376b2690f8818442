"""Opening stored ciphertext in tests exactly as the evidence officer would: the gpg CLI."""

import gzip
import json
import struct
import subprocess
from pathlib import Path
from typing import Any


def gpg_decrypt(secret_home: Path, path: Path) -> bytes:
    """Plain `gpg --decrypt` with the submission secret key; fails the test if gpg fails."""
    result = subprocess.run(
        ["gpg", "--homedir", str(secret_home), "--batch", "--quiet", "--decrypt", str(path)],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def gunzip_with_name(data: bytes) -> tuple[str | None, bytes]:
    """The original name from a gzip header (FNAME) and the decompressed content."""
    assert data[:3] == b"\x1f\x8b\x08", "not a gzip stream"
    flags = data[3]
    position = 10
    if flags & 0x04:
        position += 2 + struct.unpack("<H", data[position : position + 2])[0]
    name = None
    if flags & 0x08:
        end = data.index(b"\0", position)
        name = data[position:end].decode("latin-1")
    return name, gzip.decompress(data)


def read_receipt(secret_home: Path, path: Path) -> dict[str, Any]:
    document = json.loads(gpg_decrypt(secret_home, path))
    assert document["format"] == "skrynka-receipt"
    return dict(document)
