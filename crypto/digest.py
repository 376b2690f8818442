"""Size and hashes of a plaintext, computed beside the stream that carries it.

Submissions are hashed (SHA-256 and SHA-512 of the plaintext, for the receipt) while they are
encrypted, and again while they are decrypted on the workstation. The two digests run in hash
lanes, threads of their own, so they use the second core while the caller's thread reads,
parses or pipes.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import weakref
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: Chunks queued to each hash lane before the producer waits: bounds memory per stream.
LANE_DEPTH = 4


@dataclass(frozen=True)
class PlaintextDigest:
    """Size and hashes (lower-case hex) of a plaintext, before any gzip layer."""

    size: int
    sha256: str
    sha512: str


class _Crc32:
    """zlib's CRC-32 behind the same ``update`` as a hashlib object."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self.value = zlib.crc32(chunk, self.value)


class Digester(Protocol):
    """Anything fed like a hashlib object: ``update`` with the next piece of a stream."""

    def update(self, data: bytes | memoryview, /) -> None: ...


class _HashLane(threading.Thread):
    """Feeds chunks, in order, to a few digests in a thread of its own.

    hashlib and zlib release the GIL for large buffers, so lanes use the second core while the
    caller's thread reads, parses or pipes. The queue is short (:data:`LANE_DEPTH` chunks):
    memory stays flat however large the stream. Chunks must not change once queued.
    """

    def __init__(self, name: str, digests: Sequence[Digester]) -> None:
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


class PlaintextHasher:
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
        short: list[Digester] = [self._sha256]
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
