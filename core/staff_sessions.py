"""Staff sessions kept in the database: the web cookie and the API token are random tokens.

The client holds only a random token and the database only that token's SHA-256, so a copy of
the database cannot be used to sign in. `open_session` starts one (and first deletes every
expired session, so the table does not grow with sessions nobody ended), `resolve_session`
finds the account a token belongs to and renews it, `revoke_session(s)` end them. An unknown or
expired token resolves to None; nothing here raises for a bad token.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.models import Journalist, JournalistSession
from core.models.base import utc_moment

SessionKind = Literal["web", "api"]

SESSION_TOKEN_BYTES = 32


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    db: Session,
    journalist: Journalist,
    *,
    kind: SessionKind,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """Start a session; return the random token (give it to the client) and its expiry.

    Only the token's SHA-256 is stored. Every expired session (of any account) is deleted
    first: a session whose browser never came back is otherwise never resolved again, so it
    would stay in the table for ever. Flushes; does not commit.
    """
    moment = utc_moment(now)
    prune_sessions(db, now=moment)
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    expires = moment + lifetime
    db.add(
        JournalistSession(
            token_hash=_token_hash(token),
            journalist_id=journalist.id,
            kind=kind,
            created_at=moment,
            expires_at=expires,
        )
    )
    db.flush()
    return token, expires


def resolve_session(
    db: Session,
    token: str,
    *,
    kind: SessionKind,
    lifetime: timedelta,
    now: datetime | None = None,
) -> Journalist | None:
    """The journalist a token belongs to, renewing it for ``lifetime``; None if unknown/expired.

    An expired session is deleted. Flushes; does not commit.
    """
    if not token or len(token) > 256:
        return None
    moment = utc_moment(now)
    row = db.scalars(
        select(JournalistSession).where(
            JournalistSession.token_hash == _token_hash(token), JournalistSession.kind == kind
        )
    ).first()
    if row is None:
        return None
    if row.expires_at <= moment:
        db.delete(row)
        db.flush()
        return None
    row.expires_at = moment + lifetime
    db.flush()
    return row.journalist


def revoke_session(db: Session, token: str) -> None:
    """End one session (logout). Unknown tokens are ignored. Flushes; does not commit."""
    db.execute(delete(JournalistSession).where(JournalistSession.token_hash == _token_hash(token)))
    db.flush()


def revoke_sessions(db: Session, journalist: Journalist) -> None:
    """End every session and API token of a journalist. Flushes; does not commit."""
    db.execute(delete(JournalistSession).where(JournalistSession.journalist_id == journalist.id))
    db.flush()


def prune_sessions(db: Session, *, now: datetime | None = None) -> int:
    """Delete expired sessions; returns how many. Does not commit."""
    result = db.execute(
        delete(JournalistSession).where(JournalistSession.expires_at <= utc_moment(now))
    )
    return int(getattr(result, "rowcount", 0) or 0)
