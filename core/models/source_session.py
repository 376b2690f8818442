"""Which source logins are still open: a hash of each login's random id and when it ends.

Nothing here says who logged in. The row holds no source id, no foreign key, no address and no
time but the expiry rounded to the minute, so a seized database shows how many logins are open,
never whose; only the cookie of the source's browser carries the id that hashes to a row.
"""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UtcDateTime


class SourceSession(Base):
    __tablename__ = "source_sessions"

    # SHA-256 (hex) of the 32 random bytes sealed in the source's cookie.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
