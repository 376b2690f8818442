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
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import struct
import subprocess
import threading
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, BinaryIO

from crypto._gpg import gpg_command, run_gpg, status_lines
from crypto.errors import CryptoError, DecryptionFailed, GpgFailed, SubmissionKeyMissing
from crypto.submission_key import parse_fingerprint
from crypto.types import Fingerprint

#: Small writes are gathered to at least this size before hashing and piping: per-call overhead
#: (hash updates, system calls, gpg wake-ups) dominates below it.
COALESCE_BYTES = 256 * 1024
#: Read size when decrypting.
READ_BYTES = 1024 * 1024
#: Ask the kernel for a pipe this large so gpg and Python overlap instead of taking turns.
_PIPE_BYTES = 1024 * 1024
_STDERR_KEEP = 64 * 1024
_STORED_BLOCK_MAX = 0xFFFF
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


class _PlaintextHasher:
    def __init__(self) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self.size += len(chunk)
        self._sha256.update(chunk)
        self._sha512.update(chunk)

    def digest(self) -> PlaintextDigest:
        return PlaintextDigest(self.size, self._sha256.hexdigest(), self._sha512.hexdigest())


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
        self._hasher = _PlaintextHasher()
        self._pending = bytearray()
        self._gzip = gzip_name is not None
        self._crc = 0
        self._closed = False
        self._hashing = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="plaintext-hash"
        )
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
            self._push(memoryview(data))
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
            if self._gzip:
                # An empty final stored block, then CRC-32 and size modulo 2**32 (RFC 1952).
                trailer = b"\x01\x00\x00\xff\xff" + struct.pack(
                    "<II", self._crc, self._hasher.size & 0xFFFFFFFF
                )
                self._pipe([memoryview(trailer)])
            self._close_stdin()
            returncode = self._process.wait()
            stderr = self._stderr.text()
            if returncode != 0:
                raise _gpg_error(stderr, returncode)
            os.fsync(self._output_fd)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._hashing.shutdown()
        os.close(self._output_fd)
        return self._hasher.digest()

    def abort(self) -> None:
        """Kill gpg and delete the partial ciphertext. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._hashing.shutdown()
        with contextlib.suppress(OSError):
            self._process.kill()
        self._close_stdin()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        self._stderr.join(timeout=10)
        if self._process.stderr is not None:
            self._process.stderr.close()
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
            chunk, self._pending = self._pending, bytearray()
            self._push(memoryview(chunk))

    def _push(self, chunk: memoryview) -> None:
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
        # Hashing (and the gzip CRC) runs in a helper thread while this one blocks feeding gpg:
        # both release the GIL, so hashing overlaps gpg's work instead of alternating with it.
        # We wait for it before returning because the caller may reuse its buffer.
        hashed = self._hashing.submit(self._digest_chunk, chunk)
        try:
            self._pipe(views)
        finally:
            hashed.result()

    def _digest_chunk(self, chunk: memoryview) -> None:
        self._hasher.update(chunk)
        if self._gzip:
            self._crc = zlib.crc32(chunk, self._crc)

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


def decrypt_to(gnupg_home: Path, source: Path, out: BinaryIO) -> PlaintextDigest:
    """Decrypt the OpenPGP file ``source`` into ``out`` while hashing the plaintext.

    Raises :class:`DecryptionFailed` for any failure (wrong key, damage, not encrypted at all).
    Plaintext is streamed, so after a failure ``out`` may hold a partial result: the caller must
    discard it.
    """
    hasher = _PlaintextHasher()
    for chunk in _decrypted_chunks(gnupg_home, source):
        hasher.update(chunk)
        out.write(chunk)
    return hasher.digest()


def decrypt_file_submission(gnupg_home: Path, source: Path, out: BinaryIO) -> DecryptedFile:
    """Decrypt a ``doc.gz.gpg`` and gunzip it into ``out`` in one stream.

    Returns the name from the gzip header and the digest of the file (after gunzip), which is
    what the receipt records. Raises :class:`DecryptionFailed` for a bad ciphertext or a
    damaged gzip stream; as with :func:`decrypt_to`, discard ``out`` after a failure.
    """
    hasher = _PlaintextHasher()
    unzipper = _Gunzipper()
    for chunk in _decrypted_chunks(gnupg_home, source):
        for plain in unzipper.feed(chunk):
            hasher.update(plain)
            out.write(plain)
    unzipper.close(hasher.size)
    return DecryptedFile(gzip_name=unzipper.name, digest=hasher.digest())


def _decrypted_chunks(gnupg_home: Path, source: Path) -> Iterator[bytes]:
    try:
        source_file = source.open("rb")
    except OSError as exc:
        raise DecryptionFailed(f"Cannot read {source.name}: {exc.strerror}.") from exc
    with source_file:
        try:
            process = subprocess.Popen(
                gpg_command(gnupg_home, "--status-fd", "2", "--decrypt"),
                stdin=source_file,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise GpgFailed(f"Could not start gpg: {exc.strerror}.") from exc
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = _StderrCollector(process.stderr)
    stderr.start()
    finished = False
    try:
        while chunk := process.stdout.read(READ_BYTES):
            yield chunk
        returncode = process.wait()
        statuses = {keyword for keyword, _ in status_lines(stderr.text())}
        # DECRYPTION_OKAY is gpg's word that an encrypted, integrity-protected message was
        # opened; without it the input may have been a plain literal packet that gpg just
        # printed.
        if returncode != 0 or "DECRYPTION_OKAY" not in statuses or "DECRYPTION_FAILED" in statuses:
            raise DecryptionFailed()
        finished = True
    finally:
        if not finished:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
        process.stdout.close()
        stderr.join()
        process.stderr.close()


class _Gunzipper:
    """Incremental reader of one gzip member: header fields, inflated data, checked trailer."""

    def __init__(self) -> None:
        self.name: str | None = None
        self._header = bytearray()
        self._inflater: zlib._Decompress | None = None
        self._crc = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            self._header += data
            body_start = self._parse_header()
            if body_start is None:
                return
            data = bytes(self._header[body_start:])
            self._header = bytearray()
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
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
            self._crc = zlib.crc32(plain, self._crc)
            yield plain

    def close(self, size: int) -> None:
        trailer = bytes(self._header)
        if self._inflater is None or not self._inflater.eof or len(trailer) != 8:
            raise DecryptionFailed("The decrypted file is a truncated or damaged gzip stream.")
        crc, isize = struct.unpack("<II", trailer)
        if crc != self._crc or isize != size & 0xFFFFFFFF:
            raise DecryptionFailed("The decrypted file fails its gzip checksum.")

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
