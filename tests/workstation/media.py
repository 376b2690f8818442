"""Small media files with identifying metadata, built byte by byte (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib

# A baseline JPEG of one 8×8 grey block: every Huffman table has a single one-bit code, so the
# entropy-coded data is the DC "no change" code followed by end-of-block.
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _rational(value: int) -> bytes:
    return struct.pack(">II", value, 1)


def _exif_with_gps(latitude: tuple[int, int, int], longitude: tuple[int, int, int],
                   camera: str) -> bytes:
    """A TIFF structure: IFD0 (Make + GPS pointer) and a GPS IFD with latitude and longitude."""
    make = camera.encode() + b"\0"
    # Offsets are from the start of the TIFF header.
    ifd0_offset = 8
    ifd0_entries = 2
    ifd0_size = 2 + 12 * ifd0_entries + 4
    make_offset = ifd0_offset + ifd0_size
    gps_offset = make_offset + len(make)
    gps_entries = 4
    gps_size = 2 + 12 * gps_entries + 4
    lat_offset = gps_offset + gps_size
    lon_offset = lat_offset + 24
    tiff = b"MM\x00\x2a" + struct.pack(">I", ifd0_offset)
    tiff += struct.pack(">H", ifd0_entries)
    tiff += struct.pack(">HHII", 0x010F, 2, len(make), make_offset)  # Make
    tiff += struct.pack(">HHII", 0x8825, 4, 1, gps_offset)  # GPSInfo IFD pointer
    tiff += struct.pack(">I", 0)
    tiff += make
    tiff += struct.pack(">H", gps_entries)
    tiff += struct.pack(">HHI", 0x0001, 2, 2) + b"N\0\0\0"  # GPSLatitudeRef
    tiff += struct.pack(">HHII", 0x0002, 5, 3, lat_offset)  # GPSLatitude
    tiff += struct.pack(">HHI", 0x0003, 2, 2) + b"E\0\0\0"  # GPSLongitudeRef
    tiff += struct.pack(">HHII", 0x0004, 5, 3, lon_offset)  # GPSLongitude
    tiff += struct.pack(">I", 0)
    tiff += b"".join(_rational(v) for v in latitude)
    tiff += b"".join(_rational(v) for v in longitude)
    return b"Exif\0\0" + tiff


def jpeg_with_gps(camera: str = "TestCam Z9") -> bytes:
    """An 8×8 grey JPEG whose EXIF names a camera and a GPS position in Minsk."""
    quant = b"\x00" + bytes([1] * 64)
    frame = struct.pack(">BHHB", 8, 8, 8, 1) + bytes([1, 0x11, 0])
    # Huffman tables: class/id, 16 code-length counts (one code of length 1), the symbol.
    dc_table = b"\x00" + bytes([1] + [0] * 15) + b"\x00"
    ac_table = b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    scan = bytes([1, 1, 0x00, 0, 63, 0])
    entropy = bytes([0b00111111])  # DC diff category 0, EOB, padded with ones
    return (
        _SOI
        + _segment(0xE1, _exif_with_gps((53, 54, 0), (27, 33, 0), camera))
        + _segment(0xDB, quant)
        + _segment(0xC0, frame)
        + _segment(0xC4, dc_table)
        + _segment(0xC4, ac_table)
        + _segment(0xDA, scan)
        + entropy
        + _EOI
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_text(author: str = "Ivan Ivanov") -> bytes:
    """A 2×2 grey PNG carrying an Author text chunk."""
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    raw = b"\x00\x80\x80" * 2
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"tEXt", b"Author\0" + author.encode("latin-1"))
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )
