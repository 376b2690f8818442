"""Encrypting submissions to the submission key as they stream in.

Uploads never touch disk in clear: each chunk is hashed (SHA-256 and SHA-512 of the plaintext,
for the receipt, see :mod:`crypto.digest`) and written straight into the stdin of a
``gpg --encrypt`` process whose stdout is the ciphertext file. python-gnupg cannot be fed
incrementally, so this module runs gpg itself (with the same safe options as everything else,
see :mod:`crypto._gpg`).

Files are wrapped in a gzip stream of stored blocks first (:mod:`crypto.gzip_layer`). gpg's own
compression is off for the same reason as the gzip layer's (``--compress-algo none``): uploads
are mostly photos and video, which do not compress.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from crypto._gpg import StderrCollector, gpg_command, run_gpg, status_lines, widen_pipe
from crypto.digest import PlaintextDigest, PlaintextHasher
from crypto.errors import CryptoError, GpgFailed, NoSpaceForOutput, SubmissionKeyMissing
from crypto.gzip_layer import gzip_header, gzip_header_name, gzip_trailer, stored_blocks
from crypto.submission_key import parse_fingerprint
from crypto.types import Fingerprint

#: Small writes are gathered to at least this size before hashing and piping: per-call overhead
#: (hash updates, system calls, gpg wake-ups) dominates below it.
COALESCE_BYTES = 256 * 1024
#: The ciphertext is flushed to disk in the background every this many bytes of plaintext, so
#: the fsync that must come before a submission is acknowledged has only the tail left to write.
FLUSH_BYTES = 16 * 1024 * 1024
_IOV_MAX = 512
_CRYPTO_OPTIONS = ("--compress-algo", "none")
#: Less free space than this where gpg writes, when gpg failed, means the disk filled up.
NEARLY_FULL_BYTES = 1024 * 1024
_NO_SPACE_TEXT = b"No space left on device"


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
        self._stderr = StderrCollector(process.stderr)
        self._stderr.start()
        self._gzip = gzip_name is not None
        self._hasher = PlaintextHasher(crc=self._gzip)
        self._pending = bytearray()
        self._closed = False
        self._unflushed = 0
        self._flush: _BackgroundFlush | None = None
        if gzip_name is not None:
            try:
                self._pipe([memoryview(gzip_header(gzip_name))])
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
                trailer = gzip_trailer(self._hasher.crc.value, digest.size)
                self._pipe([memoryview(trailer)])
            self._close_stdin()
            returncode = self._process.wait()
            stderr = self._stderr.text()
            if returncode != 0:
                raise _gpg_error(stderr, returncode, self._output)
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
        # Stored deflate blocks are written with writev around the slices: no plaintext copy.
        views = stored_blocks(chunk) if self._gzip else [chunk]
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
            raise _gpg_error(self._stderr.text(), self._process.returncode, self._output) from exc

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
    widen_pipe(process.stdin.fileno())
    return StreamEncryptor(process, output, output_fd, header_name)


def encrypt_bytes(gnupg_home: Path, recipients: Sequence[Fingerprint], data: bytes) -> bytes:
    """Encrypt a small plaintext (a message, a receipt, a reply) in memory; binary output."""
    args = [*_CRYPTO_OPTIONS, "--encrypt"]
    for fpr in _recipients(recipients):
        args += ["--recipient", fpr]
    result = run_gpg(gnupg_home, args, stdin=data)
    if result.returncode != 0 or not result.stdout:
        # gpg writes into its home (locks, the random seed) even when its output is in memory.
        raise _gpg_error(result.stderr, result.returncode, home=gnupg_home)
    return result.stdout


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


def _gpg_error(
    stderr: bytes, returncode: int | None, output: Path | None = None, home: Path | None = None
) -> CryptoError:
    statuses = {keyword for keyword, _ in status_lines(stderr)}
    if output is not None and (_NO_SPACE_TEXT in stderr or is_nearly_full(output.parent)):
        return NoSpaceForOutput(str(output.parent))
    if home is not None and is_nearly_full(home):
        return NoSpaceForOutput(str(home))
    if statuses & {"INV_RECP", "NO_RECP", "KEYEXPIRED", "KEYREVOKED"}:
        return SubmissionKeyMissing(
            "gpg cannot encrypt to the submission key (missing, expired or revoked in the "
            "server's keyring); run `skrynka check`."
        )
    return GpgFailed(f"gpg failed to encrypt (exit status {returncode}); run `skrynka check`.")


def is_nearly_full(directory: Path) -> bool:
    """Whether the file system holding ``directory`` has less than NEARLY_FULL_BYTES free.

    gpg's own message may be translated: the file system's free space is the fact to check.
    """
    try:
        stats = os.statvfs(directory)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < NEARLY_FULL_BYTES
