"""Failed staff passphrases counted per client, so guessing is slow and no owner is locked out.

Counting wrong passphrases per *account* let anyone who reaches the sign-in page keep an
account's owner out with five guesses a minute. Wrong passphrases are therefore counted per
*client* here, and only what an attacker cannot cheaply produce (a wrong one-time code after
the right passphrase) counts against the account (core.sign_in).

What a "client" is: the journalist interface is an onion service with client authorisation, so
every request reaches the app from the local tor daemon (127.0.0.1); the network address tells
clients apart no more than the username does. The app names a client by a *device cookie* it
sets on a browser after a successful sign-in (journalist_app.device): a known device has a
bucket of its own, so an attacker's guesses never throttle the owner's own browser, while every
unknown client (a new browser, an API client, a thief without the cookie) shares one bucket per
network address, which behind tor is one bucket for all of them. An attacker can fill that
shared bucket and slow down sign-ins from new devices, but not lock anyone out: a window of
``window_seconds`` after the last failures, it is empty again.

The counts live in this process's memory (one throttle per app process, made by the app
factory): with several gunicorn workers each has its own, which multiplies the rate by the
number of workers; a restart forgets them. Both are acceptable for a bound on guessing that
Argon2id already makes slow.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

#: Clients remembered at most; the oldest is forgotten first (memory must stay bounded).
MAX_CLIENTS = 10_000


class ClientThrottle:
    """At most ``limit`` failures per client in any ``window_seconds``; thread-safe."""

    def __init__(self, limit: int, window_seconds: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> int | None:
        """Seconds ``client`` must wait before its next attempt, or None if it may try now."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self.limit:
                return None
            return max(1, int(failures[0] + self.window_seconds - self._clock()) + 1)

    def record_failure(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = collections.deque()
                self._failures[client] = failures
                while len(self._failures) > MAX_CLIENTS:
                    self._failures.popitem(last=False)
            failures.append(self._clock())
            self._failures.move_to_end(client)

    def _recent(self, client: str) -> collections.deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        since = self._clock() - self.window_seconds
        while failures and failures[0] <= since:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures
