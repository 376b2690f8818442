"""The gzip wrapper of file submissions, written while encrypting and removed while decrypting.

Files are wrapped in a gzip stream first, with the original name in the gzip header, because
SecureDrop clients expect ``*-doc.gz.gpg`` to gunzip. The layer uses *stored* deflate blocks
(no compression): uploads are mostly photos and video, which do not compress, and stored blocks
are written with ``os.writev`` around the caller's buffers, so the layer costs a CRC-32 and
nothing else. The CRC-32 itself runs in a hash lane (:mod:`crypto.digest`).
"""

from __future__ import annotations

import collections
import struct
import unicodedata
import zlib
from collections.abc import Iterator

from crypto.errors import DecryptionFailed

_STORED_BLOCK_MAX = 0xFFFF
_DEFLATE_WINDOW = 32 * 1024
#: The most one inflate step yields: a caller counting output can stop a bomb after one step.
_INFLATE_STEP = 1024 * 1024
#: Used when nothing of the original name survives sanitising.
FALLBACK_GZIP_NAME = "document"
_MAX_GZIP_NAME = 200
_MAX_EXTENSION = 15
_GZIP_FNAME = 0x08
_GZIP_FEXTRA, _GZIP_FHCRC, _GZIP_FCOMMENT = 0x04, 0x02, 0x10
_GZIP_OS_UNKNOWN = 255


def gzip_header_name(original_name: str) -> str:
    """The name written into the gzip header: the base name, printable ASCII only.

    RFC 1952 wants ISO-8859-1 and SecureDrop clients decode it as UTF-8; ASCII satisfies both.
    The full Unicode name travels in the encrypted receipt. Path parts, control and bidi
    characters are removed; accents are folded (``café`` becomes ``cafe``); a name with nothing
    left keeps its extension after :data:`FALLBACK_GZIP_NAME`.
    """
    base = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    folded = unicodedata.normalize("NFKD", base)
    kept = " ".join("".join(ch for ch in folded if 0x20 <= ord(ch) < 0x7F).split())
    stem, dot, extension = kept.rpartition(".")
    if not dot or not extension.isalnum() or len(extension) > _MAX_EXTENSION:
        stem, extension = kept, ""
    suffix = f".{extension}" if extension else ""
    # No leading dots (hidden files, "..") and no name made of punctuation alone.
    stem = stem.strip(" .-_") and stem.lstrip(" .-")
    if not stem:
        stem = FALLBACK_GZIP_NAME
    return stem[: _MAX_GZIP_NAME - len(suffix)].rstrip() + suffix


def gzip_header(name: str) -> bytes:
    """The gzip member header carrying ``name`` (already a :func:`gzip_header_name`)."""
    # No modification time (0 = unknown): the time of upload must not be recorded in clear
    # anywhere, and inside the ciphertext the receipt already has it.
    return (
        struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, _GZIP_FNAME, 0, 0, _GZIP_OS_UNKNOWN)
        + name.encode("ascii")
        + b"\0"
    )


def stored_blocks(chunk: memoryview) -> list[memoryview]:
    """``chunk`` as non-final stored deflate blocks, for ``os.writev``.

    A 5-byte header (non-final, LEN, ~LEN) goes before each slice of at most 65535 bytes;
    the slices are views of ``chunk``, so the plaintext is never copied.
    """
    views: list[memoryview] = []
    for start in range(0, len(chunk), _STORED_BLOCK_MAX):
        piece = chunk[start : start + _STORED_BLOCK_MAX]
        views.append(memoryview(struct.pack("<BHH", 0, len(piece), 0xFFFF ^ len(piece))))
        views.append(piece)
    return views


def gzip_trailer(crc: int, size: int) -> bytes:
    """An empty final stored block, then CRC-32 and size modulo 2**32 (RFC 1952)."""
    return b"\x01\x00\x00\xff\xff" + struct.pack("<II", crc, size & 0xFFFFFFFF)


class Gunzipper:
    """Incremental reader of one gzip member: header fields, inflated data, checked trailer.

    Our own files hold *stored* deflate blocks, whose bytes are the file's bytes: they are
    passed on as slices of the decrypted chunk, with no inflate copy. At the first compressed
    block (another client's gzip), zlib takes over, primed with the last 32 KiB of output
    that the block may refer back to. The CRC-32 is the caller's (it runs in a hash lane).
    """

    def __init__(self) -> None:
        self.name: str | None = None
        self._header = bytearray()  # the gzip header, later the 8-byte trailer
        self._in_body = False
        self._inflater: zlib._Decompress | None = None
        self._block_head = bytearray()
        self._block_left = 0
        self._final = False
        self._blocks_done = False
        self._window: collections.deque[memoryview] = collections.deque()
        self._window_bytes = 0

    def feed(self, data: bytes) -> Iterator[bytes | memoryview]:
        if not self._in_body:
            self._header += data
            body_start = self._parse_header()
            if body_start is None:
                return
            data = bytes(self._header[body_start:])
            self._header = bytearray()
            self._in_body = True
        if self._inflater is not None:
            yield from self._inflate(data)
        else:
            yield from self._feed_stored(memoryview(data))

    def close(self, size: int, crc: int) -> None:
        trailer = bytes(self._header)
        ended = self._blocks_done if self._inflater is None else self._inflater.eof
        if not self._in_body or not ended or len(trailer) != 8:
            raise DecryptionFailed("The decrypted file is a truncated or damaged gzip stream.")
        stored_crc, isize = struct.unpack("<II", trailer)
        if stored_crc != crc or isize != size & 0xFFFFFFFF:
            raise DecryptionFailed("The decrypted file fails its gzip checksum.")

    def _feed_stored(self, view: memoryview) -> Iterator[memoryview | bytes]:
        pos = 0
        while pos < len(view):
            if self._blocks_done:
                self._header += view[pos:]
                return
            if self._block_left:
                piece = view[pos : pos + self._block_left]
                pos += len(piece)
                self._block_left -= len(piece)
                self._remember(piece)
                yield piece
                self._blocks_done = self._final and not self._block_left
                continue
            # A block header: one byte (BFINAL, BTYPE, padding), then LEN and ~LEN if stored.
            taken = view[pos : pos + 5 - len(self._block_head)]
            self._block_head += taken
            pos += len(taken)
            if (self._block_head[0] >> 1) & 0x3:
                rest = bytes(self._block_head) + bytes(view[pos:])
                self._start_inflater()
                yield from self._inflate(rest)
                return
            if len(self._block_head) < 5:
                return
            length, check = struct.unpack("<HH", self._block_head[1:5])
            if length ^ check != 0xFFFF:
                raise DecryptionFailed("The decrypted file is not a valid gzip stream.")
            self._final = bool(self._block_head[0] & 0x1)
            self._block_head = bytearray()
            self._block_left = length
            self._blocks_done = self._final and not length

    def _remember(self, piece: memoryview) -> None:
        # Only the last 32 KiB of output matter, and only if a compressed block follows.
        self._window.append(piece)
        self._window_bytes += len(piece)
        while self._window_bytes - len(self._window[0]) >= _DEFLATE_WINDOW:
            self._window_bytes -= len(self._window.popleft())

    def _start_inflater(self) -> None:
        window = b"".join(self._window)[-_DEFLATE_WINDOW:]
        self._window.clear()
        if window:
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS, zdict=window)
        else:
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        """Inflate ``data`` in steps of at most :data:`_INFLATE_STEP` bytes of output.

        A megabyte of deflate can expand a thousandfold; yielding step by step lets the caller
        stop (and this generator with it) as soon as the output passes what it may be.
        """
        assert self._inflater is not None
        pending = data
        while True:
            if self._inflater.eof:
                self._header += pending
                return
            try:
                plain = self._inflater.decompress(pending, _INFLATE_STEP)
            except zlib.error as exc:
                raise DecryptionFailed("The decrypted file is not a valid gzip stream.") from exc
            if self._inflater.eof:
                # What follows the deflate stream is the trailer; zlib may also leave it in
                # unconsumed_tail, so it is taken from unused_data alone, once.
                self._header += self._inflater.unused_data
                if plain:
                    yield plain
                return
            if plain:
                yield plain
            pending = self._inflater.unconsumed_tail
            if not pending and len(plain) < _INFLATE_STEP:
                return

    def _parse_header(self) -> int | None:
        head = bytes(self._header)
        if len(head) < 10:
            return None
        if head[:3] != b"\x1f\x8b\x08":
            raise DecryptionFailed("The decrypted file is not a gzip stream.")
        flags = head[3]
        pos = 10
        if flags & _GZIP_FEXTRA:
            if len(head) < pos + 2:
                return None
            pos += 2 + struct.unpack("<H", head[pos : pos + 2])[0]
        name: bytes | None = None
        for flag in (_GZIP_FNAME, _GZIP_FCOMMENT):
            if flags & flag:
                end = head.find(b"\0", pos)
                if end < 0:
                    if len(head) > 1024 * 1024:
                        raise DecryptionFailed("The decrypted file has a runaway gzip header.")
                    return None
                if flag == _GZIP_FNAME:
                    name = head[pos:end]
                pos = end + 1
        if flags & _GZIP_FHCRC:
            pos += 2
        if len(head) < pos:
            return None
        self.name = None if name is None else name.decode("latin-1")
        return pos
