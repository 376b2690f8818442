"""Encrypting submissions to the submission key as they stream in, and decrypting them.

Uploads never touch disk in clear: each chunk is hashed (SHA-256 and SHA-512 of the plaintext,
for the receipt) and written straight into the stdin of a ``gpg --encrypt`` process whose
stdout is the ciphertext file. python-gnupg cannot be fed incrementally, so this module runs gpg
itself (with the same safe options as everything else, see :mod:`crypto._gpg`).

Files are wrapped in a gzip stream first, with the original name in the gzip header, because
SecureDrop clients expect ``*-doc.gz.gpg`` to gunzip. The gzip layer uses *stored* deflate
blocks (no compression): uploads are mostly photos and video, which do not compress, and stored
blocks are written with ``os.writev`` around the caller's buffers, so the layer costs a CRC-32
and nothing else. gpg's own compression is off for the same reason (``--compress-algo none``).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import io
import os
import queue
import struct
import subprocess
import threading
import unicodedata
import weakref
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO, Protocol

from crypto._gpg import gpg_command, run_gpg, status_lines
from crypto.errors import CryptoError, DecryptionFailed, GpgFailed, SubmissionKeyMissing
from crypto.submission_key import parse_fingerprint
from crypto.types import Fingerprint

#: Small writes are gathered to at least this size before hashing and piping: per-call overhead
#: (hash updates, system calls, gpg wake-ups) dominates below it.
COALESCE_BYTES = 256 * 1024
#: The ciphertext is flushed to disk in the background every this many bytes of plaintext, so
#: the fsync that must come before a submission is acknowledged has only the tail left to write.
FLUSH_BYTES = 16 * 1024 * 1024
#: Chunks queued to each hash lane before the producer waits: bounds memory per stream.
LANE_DEPTH = 4
#: Read size when decrypting.
READ_BYTES = 1024 * 1024
#: Ask the kernel for a pipe this large so gpg and Python overlap instead of taking turns.
_PIPE_BYTES = 1024 * 1024
_STDERR_KEEP = 64 * 1024
_STORED_BLOCK_MAX = 0xFFFF
_DEFLATE_WINDOW = 32 * 1024
_IOV_MAX = 512
#: Used when nothing of the original name survives sanitising.
FALLBACK_GZIP_NAME = "document"
_MAX_GZIP_NAME = 200
_MAX_EXTENSION = 15
_GZIP_FNAME = 0x08
_GZIP_FEXTRA, _GZIP_FHCRC, _GZIP_FCOMMENT = 0x04, 0x02, 0x10
_GZIP_OS_UNKNOWN = 255
_CRYPTO_OPTIONS = ("--compress-algo", "none")


@dataclass(frozen=True)
class PlaintextDigest:
    """Size and hashes (lower-case hex) of a plaintext, before any gzip layer."""

    size: int
    sha256: str
    sha512: str


@dataclass(frozen=True)
class DecryptedFile:
    """A decrypted ``doc.gz.gpg``: the name from its gzip header and the digest of the file."""

    gzip_name: str | None
    digest: PlaintextDigest


class _Crc32:
    """zlib's CRC-32 behind the same ``update`` as a hashlib object."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self.value = zlib.crc32(chunk, self.value)


class _Digester(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


class _HashLane(threading.Thread):
    """Feeds chunks, in order, to a few digests in a thread of its own.

    hashlib and zlib release the GIL for large buffers, so lanes use the second core while the
    caller's thread reads, parses or pipes. The queue is short (:data:`LANE_DEPTH` chunks):
    memory stays flat however large the stream. Chunks must not change once queued.
    """

    def __init__(self, name: str, digests: Sequence[_Digester]) -> None:
        super().__init__(name=name, daemon=True)
        self._digests = digests
        self._queue: queue.Queue[Sequence[bytes | memoryview] | None] = queue.Queue(
            maxsize=LANE_DEPTH
        )
        self._failure: BaseException | None = None
        self.start()

    def run(self) -> None:
        while (pieces := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # keep draining so the producer never blocks
            try:
                for digest in self._digests:
                    for piece in pieces:
                        digest.update(piece)
            except BaseException as exc:  # noqa: BLE001 (re-raised by close)
                self._failure = exc

    def put(self, pieces: Sequence[bytes | memoryview]) -> None:
        """Queue consecutive pieces of the stream as one item (one hand-over for all)."""
        self._queue.put(pieces)

    def stop(self) -> None:
        """Let the thread end after what is queued, without waiting for it."""
        if self.is_alive():
            self._queue.put(None)

    def close(self) -> None:
        """Wait until every queued chunk is hashed; re-raise a failure of the lane."""
        if self.is_alive():
            self._queue.put(None)
            self.join()
        if self._failure is not None:
            raise self._failure


class _PlaintextHasher:
    """SHA-256 (with the gzip CRC-32 when wanted) and SHA-512 in two parallel lanes.

    The two digests cost about the same and together more than gpg's encryption, so one
    lane each keeps either from being the slowest stage. ``update`` takes ownership of the
    chunk: the caller must not change it afterwards (pass bytes, or a buffer it drops).
    """

    def __init__(self, crc: bool = False) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()
        self.crc = _Crc32() if crc else None
        short: list[_Digester] = [self._sha256]
        if self.crc is not None:
            short.append(self.crc)
        self._lanes = (
            _HashLane("plaintext-sha256", short),
            _HashLane("plaintext-sha512", [self._sha512]),
        )
        # A stream dropped without finish() or abort() must not leave two threads waiting.
        weakref.finalize(self, _stop_lanes, self._lanes)

    def update(self, *pieces: bytes | memoryview) -> None:
        """Hash the next piece(s) of the stream; several at once cost one queue hand-over."""
        size = sum(len(piece) for piece in pieces)
        if not size:
            return
        self.size += size
        for lane in self._lanes:
            lane.put(pieces)

    def close(self) -> None:
        """Wait for the lanes (also to stop them after a failure)."""
        failures = []
        for lane in self._lanes:
            try:
                lane.close()
            except BaseException as exc:  # noqa: BLE001 (first one re-raised below)
                failures.append(exc)
        if failures:
            raise failures[0]

    def digest(self) -> PlaintextDigest:
        self.close()
        return PlaintextDigest(self.size, self._sha256.hexdigest(), self._sha512.hexdigest())


def _stop_lanes(lanes: Sequence[_HashLane]) -> None:
    for lane in lanes:
        lane.stop()


class _BackgroundFlush(threading.Thread):
    """One ``fdatasync`` of a file that is still being written, off the caller's thread.

    Linux reports a write-back error to one fsync per open file only: a failure seen here is
    kept and raised by :meth:`check`, or the final fsync could wrongly succeed.
    """

    def __init__(self, fd: int) -> None:
        super().__init__(name="ciphertext-flush", daemon=True)
        self._fd = fd
        self.error: OSError | None = None
        self.start()

    def run(self) -> None:
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            self.error = exc

    def check(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


class _StderrCollector(threading.Thread):
    """Reads a process's stderr to the end so gpg can never block on a full stderr pipe."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(name="gpg-stderr", daemon=True)
        self._stream = stream
        self._kept: collections.deque[bytes] = collections.deque()
        self._kept_bytes = 0

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in self._stream:
                self._kept.append(line)
                self._kept_bytes += len(line)
                while self._kept_bytes > _STDERR_KEEP and len(self._kept) > 1:
                    self._kept_bytes -= len(self._kept.popleft())

    def text(self) -> bytes:
        self.join()
        return b"".join(self._kept)


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


class StreamEncryptor:
    """One ``gpg --encrypt`` process fed incrementally. Use :func:`open_encryptor`.

    Call :meth:`write` any number of times, then :meth:`finish`; on any problem call
    :meth:`abort` (the ``with`` block does that for you, also when ``finish`` was never
    reached), which kills gpg and removes the partial ciphertext.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        output: Path,
        output_fd: int,
        gzip_name: str | None,
    ) -> None:
        self._process = process
        self._output = output
        self._output_fd = output_fd
        assert process.stdin is not None
        assert process.stderr is not None
        self._stdin_fd = process.stdin.fileno()
        self._stderr = _StderrCollector(process.stderr)
        self._stderr.start()
        self._gzip = gzip_name is not None
        self._hasher = _PlaintextHasher(crc=self._gzip)
        self._pending = bytearray()
        self._closed = False
        self._unflushed = 0
        self._flush: _BackgroundFlush | None = None
        if gzip_name is not None:
            try:
                self._pipe([memoryview(_gzip_header(gzip_name))])
            except BaseException:
                # gpg may already have exited (an unusable recipient): leave nothing behind.
                self.abort()
                raise

    @property
    def output(self) -> Path:
        return self._output

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt ``data`` (the next piece of plaintext); returns ``len(data)``."""
        if self._closed:
            raise ValueError("This encryptor is already finished or aborted.")
        size = len(data)
        if not self._pending and size >= COALESCE_BYTES:
            self._push(_owned(data))
        elif size:
            self._pending += data
            if len(self._pending) >= COALESCE_BYTES:
                self._flush_pending()
        return size

    def finish(self) -> PlaintextDigest:
        """Close the stream, wait for gpg, fsync the ciphertext; return the plaintext digest."""
        if self._closed:
            raise ValueError("This encryptor is already finished or aborted.")
        try:
            self._flush_pending()
            digest = self._hasher.digest()
            if self._hasher.crc is not None:
                # An empty final stored block, then CRC-32 and size modulo 2**32 (RFC 1952).
                trailer = b"\x01\x00\x00\xff\xff" + struct.pack(
                    "<II", self._hasher.crc.value, digest.size & 0xFFFFFFFF
                )
                self._pipe([memoryview(trailer)])
            self._close_stdin()
            returncode = self._process.wait()
            stderr = self._stderr.text()
            if returncode != 0:
                raise _gpg_error(stderr, returncode)
            if self._flush is not None:
                self._flush.check()
            os.fsync(self._output_fd)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        os.close(self._output_fd)
        return digest

    def abort(self) -> None:
        """Kill gpg and delete the partial ciphertext. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._hasher.close()
        with contextlib.suppress(OSError):
            self._process.kill()
        self._close_stdin()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        self._stderr.join(timeout=10)
        if self._process.stderr is not None:
            self._process.stderr.close()
        if self._flush is not None:
            self._flush.join()  # it still uses the descriptor closed next
        with contextlib.suppress(OSError):
            os.close(self._output_fd)
        with contextlib.suppress(FileNotFoundError):
            self._output.unlink()

    def __enter__(self) -> StreamEncryptor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Leaving the block without finish() is a bug or an error: keep no half-written file.
        self.abort()

    def _flush_pending(self) -> None:
        if self._pending:
            # Swapped out, never touched again: the hash lanes may keep it without a copy.
            chunk, self._pending = self._pending, bytearray()
            self._push(memoryview(chunk))

    def _push(self, data: bytes | memoryview) -> None:
        # Queued to the hash lanes first, so hashing runs while this thread feeds gpg and then
        # goes back for the next piece of the upload; nothing waits for the hashes until finish.
        self._hasher.update(data)
        chunk = memoryview(data)
        if self._gzip:
            # Stored deflate blocks: a 5-byte header (non-final, LEN, ~LEN) before each slice of
            # at most 65535 bytes, written with writev so the plaintext is never copied.
            views: list[memoryview] = []
            for start in range(0, len(chunk), _STORED_BLOCK_MAX):
                piece = chunk[start : start + _STORED_BLOCK_MAX]
                views.append(memoryview(struct.pack("<BHH", 0, len(piece), 0xFFFF ^ len(piece))))
                views.append(piece)
        else:
            views = [chunk]
        self._pipe(views)
        self._unflushed += len(chunk)
        if self._unflushed >= FLUSH_BYTES and (self._flush is None or not self._flush.is_alive()):
            if self._flush is not None:
                self._flush.check()
            self._unflushed = 0
            self._flush = _BackgroundFlush(self._output_fd)

    def _pipe(self, views: list[memoryview]) -> None:
        try:
            while views:
                batch = views[:_IOV_MAX]
                written = os.writev(self._stdin_fd, batch)
                consumed = 0
                while consumed < len(batch) and written >= len(batch[consumed]):
                    written -= len(batch[consumed])
                    consumed += 1
                views = views[consumed:]
                if written:
                    views[0] = views[0][written:]
        except BrokenPipeError as exc:
            # gpg has exited early (e.g. an unusable recipient); report why.
            self._process.wait()
            raise _gpg_error(self._stderr.text(), self._process.returncode) from exc

    def _close_stdin(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()


def open_encryptor(
    gnupg_home: Path,
    recipients: Sequence[Fingerprint],
    output: Path,
    gzip_name: str | None = None,
) -> StreamEncryptor:
    """Start encrypting to ``recipients`` into the new file ``output`` (created 0600).

    With ``gzip_name`` the plaintext is wrapped in a gzip stream carrying
    :func:`gzip_header_name` of it (for ``doc.gz.gpg``); the digest still describes the
    plaintext before gzip.
    """
    fingerprints = _recipients(recipients)
    args = [*_CRYPTO_OPTIONS, "--status-fd", "2", "--encrypt"]
    for fpr in fingerprints:
        args += ["--recipient", fpr]
    header_name = None if gzip_name is None else gzip_header_name(gzip_name)
    command = gpg_command(gnupg_home, *args)
    output_fd = os.open(
        output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=output_fd,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        os.close(output_fd)
        output.unlink(missing_ok=True)
        raise GpgFailed(f"Could not start gpg: {exc.strerror}.") from exc
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        # Linux only, and may be refused; a default-sized pipe is just slower.
        fcntl.fcntl(process.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    return StreamEncryptor(process, output, output_fd, header_name)


def encrypt_bytes(gnupg_home: Path, recipients: Sequence[Fingerprint], data: bytes) -> bytes:
    """Encrypt a small plaintext (a message, a receipt, a reply) in memory; binary output."""
    args = [*_CRYPTO_OPTIONS, "--encrypt"]
    for fpr in _recipients(recipients):
        args += ["--recipient", fpr]
    result = run_gpg(gnupg_home, args, stdin=data)
    if result.returncode != 0 or not result.stdout:
        raise _gpg_error(result.stderr, result.returncode)
    return result.stdout


@dataclass(frozen=True)
class FileSpan:
    """``size`` bytes of the file ``path`` from ``offset``: e.g. a member stored in a ZIP."""

    path: Path
    offset: int
    size: int


def decrypt_to(
    gnupg_home: Path,
    source: Path | FileSpan,
    out: BinaryIO,
    *,
    ciphertext_digest: _Digester | None = None,
) -> PlaintextDigest:
    """Decrypt the OpenPGP file (or span of a file) ``source`` into ``out``, hashing the plaintext.

    With ``ciphertext_digest`` (e.g. ``hashlib.sha256()``) every ciphertext byte given to gpg
    is also fed to it, so a caller checking the ciphertext's hash reads it only once.
    Raises :class:`DecryptionFailed` for any failure (wrong key, damage, not encrypted at all).
    Plaintext is streamed, so after a failure ``out`` may hold a partial result: the caller must
    discard it, and ``ciphertext_digest`` may have seen only part of the ciphertext.
    """
    hasher = _PlaintextHasher()
    try:
        for chunk in _decrypted_chunks(gnupg_home, source, ciphertext_digest):
            hasher.update(chunk)
            out.write(chunk)
        return hasher.digest()
    finally:
        hasher.close()


def decrypt_file_submission(
    gnupg_home: Path,
    source: Path | FileSpan,
    out: BinaryIO,
    *,
    ciphertext_digest: _Digester | None = None,
) -> DecryptedFile:
    """Decrypt a ``doc.gz.gpg`` and gunzip it into ``out`` in one stream.

    Returns the name from the gzip header and the digest of the file (after gunzip), which is
    what the receipt records. Raises :class:`DecryptionFailed` for a bad ciphertext or a
    damaged gzip stream; as with :func:`decrypt_to`, discard ``out`` after a failure.
    """
    hasher = _PlaintextHasher(crc=True)
    unzipper = _Gunzipper()
    try:
        for chunk in _decrypted_chunks(gnupg_home, source, ciphertext_digest):
            # A chunk holds ~16 stored blocks: hashed as one item, not sixteen.
            pieces = tuple(unzipper.feed(chunk))
            hasher.update(*pieces)
            for plain in pieces:
                out.write(plain)
        digest = hasher.digest()
    finally:
        hasher.close()
    assert hasher.crc is not None
    unzipper.close(digest.size, hasher.crc.value)
    return DecryptedFile(gzip_name=unzipper.name, digest=digest)


class _CiphertextFeeder(threading.Thread):
    """Copies a file (span) into gpg's stdin, feeding each chunk to a digest on the way."""

    def __init__(self, source: io.RawIOBase, size: int | None, stdin: IO[bytes],
                 digest: _Digester | None) -> None:
        super().__init__(name="ciphertext-feed", daemon=True)
        self._source = source
        self._size = size
        self._stdin = stdin
        self._digest = digest
        self.start()

    def run(self) -> None:
        fd = self._stdin.fileno()
        remaining = self._size
        # One buffer, reused: each chunk is hashed and written before the next is read.
        buffer = memoryview(bytearray(READ_BYTES))
        try:
            while remaining is None or remaining > 0:
                want = READ_BYTES if remaining is None else min(READ_BYTES, remaining)
                count = self._source.readinto(buffer[:want])
                if not count:
                    break
                if remaining is not None:
                    remaining -= count
                view = buffer[:count]
                if self._digest is not None:
                    self._digest.update(view)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:
            # gpg stopped reading (it failed, or was killed): its exit status tells why.
            pass
        finally:
            with contextlib.suppress(OSError):
                self._stdin.close()


def _decrypted_chunks(
    gnupg_home: Path, source: Path | FileSpan, digest: _Digester | None
) -> Iterator[bytes]:
    path, offset, size = (
        (source.path, source.offset, source.size) if isinstance(source, FileSpan)
        else (source, 0, None)
    )
    fed_by_us = digest is not None or isinstance(source, FileSpan)
    try:
        source_file = path.open("rb", buffering=0)
    except OSError as exc:
        raise DecryptionFailed(f"Cannot read {path.name}: {exc.strerror}.") from exc
    with source_file:
        try:
            source_file.seek(offset)
            process = subprocess.Popen(
                gpg_command(gnupg_home, "--status-fd", "2", "--decrypt"),
                # gpg reads the file itself unless a span or a ciphertext digest needs us.
                stdin=subprocess.PIPE if fed_by_us else source_file,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise GpgFailed(f"Could not start gpg: {exc.strerror}.") from exc
        assert process.stdout is not None
        assert process.stderr is not None
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        stderr = _StderrCollector(process.stderr)
        stderr.start()
        feeder = None
        if process.stdin is not None:
            feeder = _CiphertextFeeder(source_file, size, process.stdin, digest)
        finished = False
        try:
            while chunk := process.stdout.read(READ_BYTES):
                yield chunk
            returncode = process.wait()
            statuses = {keyword for keyword, _ in status_lines(stderr.text())}
            # DECRYPTION_OKAY is gpg's word that an encrypted, integrity-protected message was
            # opened; without it the input may have been a plain literal packet that gpg just
            # printed.
            failed = returncode != 0 or "DECRYPTION_FAILED" in statuses
            if failed or "DECRYPTION_OKAY" not in statuses:
                raise DecryptionFailed()
            finished = True
        finally:
            if not finished:
                with contextlib.suppress(OSError):
                    process.kill()
                process.wait()
            if feeder is not None:
                feeder.join()
            process.stdout.close()
            stderr.join()
            process.stderr.close()


class _Gunzipper:
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
        assert self._inflater is not None
        if self._inflater.eof:
            self._header += data
            return
        try:
            plain = self._inflater.decompress(data)
        except zlib.error as exc:
            raise DecryptionFailed("The decrypted file is not a valid gzip stream.") from exc
        if self._inflater.eof:
            self._header += self._inflater.unused_data
        if plain:
            yield plain

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


def _gzip_header(name: str) -> bytes:
    # No modification time (0 = unknown): the time of upload must not be recorded in clear
    # anywhere, and inside the ciphertext the receipt already has it.
    return (
        struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, _GZIP_FNAME, 0, 0, _GZIP_OS_UNKNOWN)
        + name.encode("ascii")
        + b"\0"
    )


def _owned(data: bytes | bytearray | memoryview) -> bytes | memoryview:
    """``data``, or a copy of it when the caller could change it after ``write`` returns."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, memoryview) and data.readonly and isinstance(data.obj, bytes):
        return data
    return bytes(data)


def _recipients(recipients: Sequence[Fingerprint]) -> list[Fingerprint]:
    if isinstance(recipients, str) or not recipients:
        raise ValueError("Give at least one recipient fingerprint, as a sequence.")
    return [parse_fingerprint(fpr) for fpr in recipients]


def _gpg_error(stderr: bytes, returncode: int | None) -> CryptoError:
    statuses = {keyword for keyword, _ in status_lines(stderr)}
    if statuses & {"INV_RECP", "NO_RECP", "KEYEXPIRED", "KEYREVOKED"}:
        return SubmissionKeyMissing(
            "gpg cannot encrypt to the submission key (missing, expired or revoked in the "
            "server's keyring); run `skrynka check`."
        )
    return GpgFailed(f"gpg failed to encrypt (exit status {returncode}); run `skrynka check`.")
