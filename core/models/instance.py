"""Instance settings that admins change at run time (one row)."""

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class InstanceConfig(Base):
    __tablename__ = "instance_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_name: Mapped[str] = mapped_column(String(64), default="Skrynka")
    allow_document_uploads: Mapped[bool] = mapped_column(Boolean, default=True)
    # None means "use Settings.max_upload_bytes"; admins may only lower it.
    max_upload_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    initial_message_min_len: Mapped[int] = mapped_column(Integer, default=0)
    reject_message_with_codename: Mapped[bool] = mapped_column(Boolean, default=True)
    has_logo: Mapped[bool] = mapped_column(Boolean, default=False)
