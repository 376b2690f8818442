"""Replies from staff to a source, encrypted to the source's reply key and the submission key."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, UtcDateTime, new_uuid, utc_now

if TYPE_CHECKING:
    from core.models.journalist import Journalist
    from core.models.source import Source


class Reply(Base):
    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    # NULL once the author's account is deleted: the reply stays, shown as "deleted".
    journalist_id: Mapped[int | None] = mapped_column(
        ForeignKey("journalists.id", ondelete="SET NULL"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    deleted_by_source: Mapped[bool] = mapped_column(Boolean, default=False)

    source: Mapped["Source"] = relationship(back_populates="replies")
    journalist: Mapped["Journalist | None"] = relationship()
    seen_by: Mapped[list["SeenReply"]] = relationship(
        cascade="all, delete-orphan", back_populates="reply"
    )


class SeenReply(Base):
    __tablename__ = "seen_replies"
    __table_args__ = (UniqueConstraint("reply_id", "journalist_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    journalist_id: Mapped[int] = mapped_column(
        ForeignKey("journalists.id", ondelete="CASCADE"), index=True
    )

    reply: Mapped[Reply] = relationship(back_populates="seen_by")
    journalist: Mapped["Journalist"] = relationship()
