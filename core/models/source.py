"""A source: known only by an id derived from its codename and a random designation."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, UtcDateTime, new_uuid, utc_now

if TYPE_CHECKING:
    from core.models.reply import Reply
    from core.models.submission import Submission


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    # Argon2id(codename) split into this lookup id and the reply-key wrapping key; the codename
    # itself is never stored. Also the name of the source's ciphertext directory.
    filesystem_id: Mapped[str] = mapped_column(String(64), unique=True)
    journalist_designation: Mapped[str] = mapped_column(String(255), unique=True)
    is_starred: Mapped[bool] = mapped_column(Boolean, default=False)
    # A source that has created a codename but never submitted stays pending: not in the inbox.
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    last_updated: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)
    interaction_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_key_fingerprint: Mapped[str] = mapped_column(String(40), unique=True)
    reply_key_public: Mapped[str] = mapped_column(Text)
    # SecretBox(wrap_key) of the unprotected OpenPGP secret key: useless without the codename.
    reply_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)

    submissions: Mapped[list["Submission"]] = relationship(
        back_populates="source", cascade="all, delete-orphan", order_by="Submission.id"
    )
    replies: Mapped[list["Reply"]] = relationship(
        back_populates="source", cascade="all, delete-orphan", order_by="Reply.id"
    )

    @property
    def designation_file(self) -> str:
        return self.journalist_designation.lower().replace(" ", "_")
