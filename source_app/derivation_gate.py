"""A bound on the Argon2id derivations unauthenticated requests can start at once.

Each derivation takes the instance's KDF memory (128 MiB in production) and most of a core for
a second. /create and /login start one for anyone who asks, so without a bound one client
could keep every worker thread deriving and push the server out of memory. The gate is built
once per process by the app factory (pass your own to ``create_app`` to change it) and shared by
its threads: a request waits a few seconds at most for a free slot, then gets a calm "busy, try
again" page instead of queueing behind an unbounded line.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from source_app.errors import ServerBusy

#: Derivations at once in one worker process; with the default two workers, 4 × 128 MiB.
DEFAULT_SLOTS = 2
#: How long a request waits for a slot before it is told to come back.
DEFAULT_WAIT_SECONDS = 5.0


class DerivationGate:
    """At most ``slots`` derivations at once in this process; others wait ``wait_seconds``."""

    def __init__(self, slots: int = DEFAULT_SLOTS, wait_seconds: float = DEFAULT_WAIT_SECONDS):
        if slots < 1:
            raise ValueError("A derivation gate needs at least one slot.")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._free = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block; raises :class:`ServerBusy` if none frees up."""
        if not self._free.acquire(timeout=self.wait_seconds):
            raise ServerBusy()
        try:
            yield
        finally:
            self._free.release()
