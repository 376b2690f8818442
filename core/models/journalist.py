"""Staff accounts, their server-side sessions and API tokens, and sign-in attempts."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, UtcDateTime, new_uuid, utc_now


class Journalist(Base):
    __tablename__ = "journalists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    passphrase_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Base32 secret for TOTP (RFC 6238) or HOTP (RFC 4226, hardware tokens).
    otp_secret: Mapped[str] = mapped_column(String(64))
    is_totp: Mapped[bool] = mapped_column(Boolean, default=True)
    hotp_counter: Mapped[int] = mapped_column(Integer, default=0)
    # The last accepted code and the TOTP step it was accepted for: a code is never accepted twice.
    last_otp: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_otp_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_login: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class JournalistSession(Base):
    """A web session or an API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "journalist_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    journalist_id: Mapped[int] = mapped_column(
        ForeignKey("journalists.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # "web" or "api"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    journalist: Mapped[Journalist] = relationship()


class LoginAttempt(Base):
    """Recent sign-in attempts per account, for throttling (pruned as the window passes)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journalist_id: Mapped[int] = mapped_column(
        ForeignKey("journalists.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)
