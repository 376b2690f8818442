"""Trusted timestamps: Merkle trees over received ciphertext, their RFC 3161 tokens, and each
file's inclusion path (core.timestamping builds them; docs/bundle-format.md says how they travel).

A tree row is written once, with every leaf and path, in one transaction; tokens are added as
the authorities answer. A submission with no leaf row is "not yet in a tree"; one whose tree has
no token is "waiting for a token". Nothing here identifies a source: leaves hold the SHA-256 of
ciphertext, which the submissions table already holds.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, UtcDateTime, utc_now

if TYPE_CHECKING:
    from core.models.submission import Submission

# Which file of a submission a leaf stands for.
LEAF_ROLES = ("ciphertext", "receipt")


class TimestampTree(Base):
    __tablename__ = "timestamp_trees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Hex of the 32-byte root (crypto.merkle); what the authorities stamp.
    root: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # Token requests so far that failed, and the last reason, for `skrynka timestamp status`.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    leaves: Mapped[list["TimestampLeaf"]] = relationship(
        back_populates="tree", cascade="all, delete-orphan", order_by="TimestampLeaf.position"
    )
    tokens: Mapped[list["TimestampToken"]] = relationship(
        back_populates="tree", cascade="all, delete-orphan", order_by="TimestampToken.id"
    )


class TimestampLeaf(Base):
    __tablename__ = "timestamp_leaves"
    __table_args__ = (UniqueConstraint("tree_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_id: Mapped[int] = mapped_column(
        ForeignKey("timestamp_trees.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    # Deleting a submission deletes its leaves; the other leaves keep their stored paths.
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    file_sha256: Mapped[str] = mapped_column(String(64))
    # The sibling hashes from the leaf up, hex, comma-separated (empty for a one-leaf tree).
    path: Mapped[str] = mapped_column(Text)

    tree: Mapped[TimestampTree] = relationship(back_populates="leaves")
    submission: Mapped["Submission"] = relationship()


class TimestampToken(Base):
    __tablename__ = "timestamp_tokens"
    __table_args__ = (UniqueConstraint("tree_id", "tsa_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_id: Mapped[int] = mapped_column(
        ForeignKey("timestamp_trees.id", ondelete="CASCADE"), index=True
    )
    tsa_url: Mapped[str] = mapped_column(String(255))
    # The whole DER TimeStampResp as the authority sent it (what `openssl ts -verify -in` reads).
    response: Mapped[bytes] = mapped_column(LargeBinary)
    gen_time: Mapped[datetime] = mapped_column(UtcDateTime)
    obtained_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    tree: Mapped[TimestampTree] = relationship(back_populates="tokens")
