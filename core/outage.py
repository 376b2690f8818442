"""Faults of the machine that a request can run into, told apart so each gets a calm answer.

A full disk, a gpg that is missing or fails, and a database that is busy (SQLite locked past
its timeout) or unreachable (PostgreSQL restarted, the network to it down) are not bugs of a
request: the same request works once the operator has fixed the machine, without a restart.
The apps ask :func:`outage_of` about any exception that escapes a view; for an outage they
answer 503 with a "try again later" page (the request's own cleanup has already removed what
it wrote) and log :attr:`Outage.advice` for the operator. Advice names the fault and what to
do, never anything from the request (invariant 3).
"""

import errno
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from crypto.errors import GpgFailed, NoSpaceForOutput

DISK_FULL = "disk-full"
GPG = "gpg"
DATABASE_BUSY = "database-busy"
DATABASE_UNREACHABLE = "database-unreachable"
#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 300

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = ("database or disk is full", "disk i/o error")
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


_STAFF_TEXT = {
    DISK_FULL: "The server's disk is full.",
    GPG: "The server cannot encrypt right now (gpg failed).",
    DATABASE_BUSY: "The database is busy.",
    DATABASE_UNREACHABLE: "The database cannot be reached.",
}


@dataclass(frozen=True)
class Outage:
    """What failed (one of the kinds above) and the operator's next step."""

    kind: str
    advice: str

    @property
    def staff_message(self) -> str:
        """What staff are told: the fault in a few words, that nothing was saved, what to do."""
        return (
            f"{_STAFF_TEXT[self.kind]} Nothing of this request was saved. Try again in a few "
            "minutes, and tell the administrator if it lasts."
        )


# SQLite and PostgreSQL words for a schema that does not match the code.
_SQL_MISTAKES = ("no such table", "no such column", "does not exist", "syntax error")


def outage_of(error: BaseException) -> Outage | None:
    """The outage behind ``error`` (or anything it was raised from); None for other errors."""
    for link in _chain(error):
        found = _classify(link)
        if found is not None:
            return found
    return None


def _classify(error: BaseException) -> Outage | None:
    if isinstance(error, NoSpaceForOutput) or (
        isinstance(error, OSError) and error.errno in _FULL_ERRNOS
    ):
        return Outage(
            DISK_FULL,
            "The data directory's file system is full: a request was refused and nothing of it "
            "was kept. Free space (old backups, logs) or grow the disk; the server recovers by "
            "itself.",
        )
    if isinstance(error, GpgFailed):
        return Outage(
            GPG,
            f"gpg failed ({error}); a request was refused and nothing of it was kept. Check that "
            "gpg is installed and runs (`skrynka check`); the server recovers by itself.",
        )
    if isinstance(error, sa_exc.OperationalError):
        text = str(error.orig).lower()
        if any(words in text for words in _SQLITE_FULL):
            return _classify(OSError(errno.ENOSPC, "database or disk is full"))
        if any(words in text for words in _SQLITE_BUSY):
            return Outage(
                DATABASE_BUSY,
                "The database stayed locked past its timeout (a long backup or another writer?);"
                " a request was refused and nothing of it was kept.",
            )
        if any(words in text for words in _SQL_MISTAKES):
            # A missing table or column is a bug or a half-done upgrade, not an outage: waiting
            # will not fix it, so it stays an ordinary server error for the operator to see.
            return None
        return _unreachable()
    if isinstance(error, sa_exc.InterfaceError | sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return _unreachable()
    return None


def _unreachable() -> Outage:
    return Outage(
        DATABASE_UNREACHABLE,
        "The database could not be reached (restarted, or the connection to it dropped); a "
        "request was refused and nothing of it was kept. The next request reconnects.",
    )


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 16:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
