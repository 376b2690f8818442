"""Messages and files a source sent, stored as ciphertext with an encrypted receipt."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, UtcDateTime, new_uuid, utc_now

if TYPE_CHECKING:
    from core.models.journalist import Journalist
    from core.models.source import Source

# What a submission row holds; `consent` rows are later consent changes by the source.
SUBMISSION_KINDS = ("message", "file", "consent")


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    # SHA-256 of the ciphertext as stored: safe to keep (it identifies nothing the source holds).
    sha256: Mapped[str] = mapped_column(String(64))
    receipt_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    receipt_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    downloaded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set only when a transfer bundle holding it was downloaded: until then "download unread"
    # includes it, even if someone downloaded it singly (the workstation imports bundles only).
    bundled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    source: Mapped["Source"] = relationship(back_populates="submissions")
    seen_by: Mapped[list["SeenSubmission"]] = relationship(
        cascade="all, delete-orphan", back_populates="submission"
    )

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def is_message(self) -> bool:
        return self.kind == "message"


class SeenSubmission(Base):
    __tablename__ = "seen_submissions"
    __table_args__ = (UniqueConstraint("submission_id", "journalist_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    journalist_id: Mapped[int] = mapped_column(
        ForeignKey("journalists.id", ondelete="CASCADE"), index=True
    )

    submission: Mapped[Submission] = relationship(back_populates="seen_by")
    journalist: Mapped["Journalist"] = relationship()
