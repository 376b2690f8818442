"""Open source logins, kept on the server so that logging out revokes every copy of a cookie.

A login's random id rides sealed in the source's cookie; the server keeps only its SHA-256 and
the login's expiry rounded up to the minute (model ``SourceSession``). A cookie whose id has no
live row is logged out, whatever its own sealed expiry says. The table never learns which source
a row belongs to: a seized database shows how many logins were open and when they would have
ended, and the hashes open nothing without the cookies.
"""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.models import SourceSession

TOKEN_BYTES = 32


def hash_token(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def round_expiry(expires_at: float) -> datetime:
    """Up to the next whole minute: a row never ends before its cookie, and keeps no seconds."""
    return datetime.fromtimestamp(math.ceil(expires_at / 60) * 60, UTC)


@dataclass(frozen=True)
class SourceSessionRegistry:
    """Opens, extends, checks and closes source logins in the database behind ``sessions``."""

    sessions: sessionmaker[Session]

    def open_session(self, expires_at: float, now: float) -> bytes:
        """A new login's random id, recorded until ``expires_at``; ended logins are pruned."""
        token = secrets.token_bytes(TOKEN_BYTES)
        with self.sessions.begin() as db:
            # Pruning here keeps the table to the logins of the last lifetime without a timer.
            db.execute(delete(SourceSession).where(SourceSession.expires_at < _utc(now)))
            db.add(SourceSession(token_hash=hash_token(token), expires_at=round_expiry(expires_at)))
        return token

    def is_open(self, token: bytes, now: float) -> bool:
        with self.sessions() as db:
            ends = db.scalar(
                select(SourceSession.expires_at).where(
                    SourceSession.token_hash == hash_token(token)
                )
            )
        return ends is not None and ends >= _utc(now)

    def extend_session(self, token: bytes, expires_at: float) -> None:
        """Move a login's end forward (never back); a closed login stays closed."""
        ends = round_expiry(expires_at)
        with self.sessions.begin() as db:
            # Within one minute the rounded end is unchanged: match no row, write nothing.
            db.execute(
                update(SourceSession)
                .where(SourceSession.token_hash == hash_token(token))
                .where(SourceSession.expires_at < ends)
                .values(expires_at=ends)
            )

    def close_session(self, token: bytes) -> None:
        with self.sessions.begin() as db:
            db.execute(delete(SourceSession).where(SourceSession.token_hash == hash_token(token)))


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
