"""Decrypting submissions on the workstation, streamed, with the plaintext hashed on the way.

gpg reads the ciphertext (or a thread of ours feeds it, when only a span of a file is the
message or the caller also wants the ciphertext's hash) and its output is hashed and written
to the caller's file chunk by chunk; a file submission is gunzipped in the same stream
(:mod:`crypto.gzip_layer`). Nothing is held whole in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from crypto._gpg import StderrCollector, gpg_command, status_lines, widen_pipe
from crypto.digest import Digester, PlaintextDigest, PlaintextHasher
from crypto.errors import DecryptionFailed, GpgFailed, PlaintextTooLarge
from crypto.gzip_layer import Gunzipper

#: Read size when decrypting.
READ_BYTES = 1024 * 1024
#: How much gunzipped output is hashed and written at once (bounds memory per gpg chunk).
_BATCH_BYTES = 16 * 1024 * 1024
#: What the gzip layer adds to a file of n bytes at most: header (name), 5 bytes per stored
#: block, trailer. Generous: it only has to stop a bomb, the receipt's size is checked later.
_GZIP_SLACK_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class FileSpan:
    """``size`` bytes of the file ``path`` from ``offset``: e.g. a member stored in a ZIP."""

    path: Path
    offset: int
    size: int


@dataclass(frozen=True)
class DecryptedFile:
    """A decrypted ``doc.gz.gpg``: the name from its gzip header and the digest of the file."""

    gzip_name: str | None
    digest: PlaintextDigest


def decrypt_to(
    gnupg_home: Path,
    source: Path | FileSpan,
    out: BinaryIO,
    *,
    ciphertext_digest: Digester | None = None,
    max_plaintext_bytes: int | None = None,
) -> PlaintextDigest:
    """Decrypt the OpenPGP file (or span of a file) ``source`` into ``out``, hashing the plaintext.

    With ``ciphertext_digest`` (e.g. ``hashlib.sha256()``) every ciphertext byte given to gpg
    is also fed to it, so a caller checking the ciphertext's hash reads it only once.
    With ``max_plaintext_bytes``, gpg is stopped (:class:`PlaintextTooLarge`) as soon as its
    output passes that size, whatever compression inside the message would expand to.
    Raises :class:`DecryptionFailed` for any failure (wrong key, damage, not encrypted at all).
    Plaintext is streamed, so after a failure ``out`` may hold a partial result: the caller must
    discard it, and ``ciphertext_digest`` may have seen only part of the ciphertext.
    """
    hasher = PlaintextHasher()
    try:
        for chunk in _decrypted_chunks(gnupg_home, source, ciphertext_digest, max_plaintext_bytes):
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
    ciphertext_digest: Digester | None = None,
    max_plaintext_bytes: int | None = None,
) -> DecryptedFile:
    """Decrypt a ``doc.gz.gpg`` and gunzip it into ``out`` in one stream.

    Returns the name from the gzip header and the digest of the file (after gunzip), which is
    what the receipt records. Raises :class:`DecryptionFailed` for a bad ciphertext or a
    damaged gzip stream; as with :func:`decrypt_to`, discard ``out`` after a failure. With
    ``max_plaintext_bytes`` both layers stop as soon as they pass it (gpg's output, allowing
    for the gzip framing, and the gunzipped file): :class:`PlaintextTooLarge`.
    """
    hasher = PlaintextHasher(crc=True)
    unzipper = Gunzipper()
    gzip_limit = None
    if max_plaintext_bytes is not None:
        gzip_limit = max_plaintext_bytes + max_plaintext_bytes // 0xFFFF * 5 + _GZIP_SLACK_BYTES
    size = 0
    try:
        for chunk in _decrypted_chunks(gnupg_home, source, ciphertext_digest, gzip_limit):
            # A chunk holds ~16 stored blocks: hashed as one batch, not sixteen.
            batch: list[bytes | memoryview] = []
            batch_bytes = 0
            for plain in unzipper.feed(chunk):
                size += len(plain)
                if max_plaintext_bytes is not None and size > max_plaintext_bytes:
                    raise PlaintextTooLarge(max_plaintext_bytes)
                batch.append(plain)
                batch_bytes += len(plain)
                if batch_bytes >= _BATCH_BYTES:
                    _write_batch(hasher, out, batch)
                    batch, batch_bytes = [], 0
            _write_batch(hasher, out, batch)
        digest = hasher.digest()
    finally:
        hasher.close()
    assert hasher.crc is not None
    unzipper.close(digest.size, hasher.crc.value)
    return DecryptedFile(gzip_name=unzipper.name, digest=digest)


def _write_batch(
    hasher: PlaintextHasher, out: BinaryIO, batch: list[bytes | memoryview]
) -> None:
    if not batch:
        return
    hasher.update(*batch)
    for plain in batch:
        out.write(plain)


class _CiphertextFeeder(threading.Thread):
    """Copies a file (span) into gpg's stdin, feeding each chunk to a digest on the way."""

    def __init__(self, source: io.RawIOBase, size: int | None, stdin: IO[bytes],
                 digest: Digester | None) -> None:
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
    gnupg_home: Path, source: Path | FileSpan, digest: Digester | None, limit: int | None = None
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
                widen_pipe(pipe.fileno())
        stderr = StderrCollector(process.stderr)
        stderr.start()
        feeder = None
        if process.stdin is not None:
            feeder = _CiphertextFeeder(source_file, size, process.stdin, digest)
        finished = False
        try:
            produced = 0
            while chunk := process.stdout.read(READ_BYTES):
                produced += len(chunk)
                if limit is not None and produced > limit:
                    # gpg inflates only as fast as we read: stopping here (the finally kills
                    # it) bounds a compressed message's plaintext in memory and on disk.
                    raise PlaintextTooLarge(limit)
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

