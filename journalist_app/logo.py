"""The organisation logo: checked to be a small, well-formed PNG before it replaces the old one.

The logo is shown to sources, so a file that is not what it claims (an HTML or SVG document
with script, a huge image that stalls Tor Browser) must never be stored.
"""

import os
import struct
import zlib
from pathlib import Path

from journalist_app.errors import LogoRejected

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_PIXELS = 1024  # per side


def check_png(data: bytes) -> tuple[int, int]:
    """Return (width, height) if ``data`` is an acceptable PNG logo, else raise LogoRejected."""
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRejected(
            f"The logo is larger than {MAX_LOGO_BYTES // 1024} KiB; export a smaller PNG."
        )
    if not data.startswith(PNG_SIGNATURE) or len(data) < 33:
        raise LogoRejected("The logo must be a PNG image; convert it to PNG and upload again.")
    length, kind = struct.unpack(">I4s", data[8:16])
    if kind != b"IHDR" or length != 13:
        raise LogoRejected("The PNG file is damaged (no image header); export it again.")
    header = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    if zlib.crc32(kind + header) & 0xFFFFFFFF != crc:
        raise LogoRejected("The PNG file is damaged (bad header checksum); export it again.")
    width, height = struct.unpack(">II", header[:8])
    if not (1 <= width <= MAX_LOGO_PIXELS and 1 <= height <= MAX_LOGO_PIXELS):
        raise LogoRejected(
            f"The logo is {width}×{height} pixels; it may be at most "
            f"{MAX_LOGO_PIXELS}×{MAX_LOGO_PIXELS}. Scale it down."
        )
    if not data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"):
        raise LogoRejected("The PNG file is cut short (no end marker); export it again.")
    return width, height


def save_logo(path: Path, data: bytes) -> None:
    """Replace the logo atomically (a reader sees the old or the new file, never half)."""
    check_png(data)
    temp = path.with_name(f".{path.name}.new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def remove_logo(path: Path) -> None:
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
