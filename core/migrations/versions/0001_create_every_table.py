"""Create every table of the first schema (sources, submissions, replies, staff, audit log).

Revision ID: 0001
Revises: (none, the first revision)
Created: 2026-11-27 06:34:57.114318
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object", sa.String(length=255), nullable=True),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_entries_entry_hash")),
    )
    op.create_table(
        "instance_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_name", sa.String(length=64), nullable=False),
        sa.Column("allow_document_uploads", sa.Boolean(), nullable=False),
        sa.Column("max_upload_bytes", sa.Integer(), nullable=True),
        sa.Column("initial_message_min_len", sa.Integer(), nullable=False),
        sa.Column("reject_message_with_codename", sa.Boolean(), nullable=False),
        sa.Column("has_logo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_config")),
    )
    op.create_table(
        "journalists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=True),
        sa.Column("last_name", sa.String(length=64), nullable=True),
        sa.Column("passphrase_hash", sa.String(length=256), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("otp_secret", sa.String(length=64), nullable=False),
        sa.Column("is_totp", sa.Boolean(), nullable=False),
        sa.Column("hotp_counter", sa.Integer(), nullable=False),
        sa.Column("last_otp", sa.String(length=16), nullable=True),
        sa.Column("last_otp_step", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journalists")),
        sa.UniqueConstraint("username", name=op.f("uq_journalists_username")),
        sa.UniqueConstraint("uuid", name=op.f("uq_journalists_uuid")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("filesystem_id", sa.String(length=64), nullable=False),
        sa.Column("journalist_designation", sa.String(length=255), nullable=False),
        sa.Column("is_starred", sa.Boolean(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("last_updated", sa.DateTime(), nullable=False),
        sa.Column("interaction_count", sa.Integer(), nullable=False),
        sa.Column("reply_key_fingerprint", sa.String(length=40), nullable=False),
        sa.Column("reply_key_public", sa.Text(), nullable=False),
        sa.Column("reply_key_wrapped", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("filesystem_id", name=op.f("uq_sources_filesystem_id")),
        sa.UniqueConstraint(
            "journalist_designation", name=op.f("uq_sources_journalist_designation")
        ),
        sa.UniqueConstraint("reply_key_fingerprint", name=op.f("uq_sources_reply_key_fingerprint")),
        sa.UniqueConstraint("uuid", name=op.f("uq_sources_uuid")),
    )
    op.create_index(op.f("ix_sources_last_updated"), "sources", ["last_updated"], unique=False)

    op.create_table(
        "journalist_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_journalist_sessions_journalist_id_journalists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journalist_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_journalist_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_journalist_sessions_expires_at"),
        "journalist_sessions",
        ["expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journalist_sessions_journalist_id"),
        "journalist_sessions",
        ["journalist_id"],
        unique=False,
    )

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_login_attempts_journalist_id_journalists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_attempted_at"), "login_attempts", ["attempted_at"], unique=False
    )
    op.create_index(
        op.f("ix_login_attempts_journalist_id"), "login_attempts", ["journalist_id"], unique=False
    )

    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_by_source", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_replies_journalist_id_journalists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_replies_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.UniqueConstraint("uuid", name=op.f("uq_replies_uuid")),
    )
    op.create_index(op.f("ix_replies_journalist_id"), "replies", ["journalist_id"], unique=False)
    op.create_index(op.f("ix_replies_source_id"), "replies", ["source_id"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("receipt_filename", sa.String(length=255), nullable=True),
        sa.Column("receipt_size", sa.BigInteger(), nullable=True),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("downloaded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_submissions_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("uuid", name=op.f("uq_submissions_uuid")),
    )
    op.create_index(op.f("ix_submissions_source_id"), "submissions", ["source_id"], unique=False)

    op.create_table(
        "seen_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_seen_replies_journalist_id_journalists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reply_id"],
            ["replies.id"],
            name=op.f("fk_seen_replies_reply_id_replies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_replies")),
        sa.UniqueConstraint("reply_id", "journalist_id", name=op.f("uq_seen_replies_reply_id")),
    )
    op.create_index(
        op.f("ix_seen_replies_journalist_id"), "seen_replies", ["journalist_id"], unique=False
    )
    op.create_index(op.f("ix_seen_replies_reply_id"), "seen_replies", ["reply_id"], unique=False)

    op.create_table(
        "seen_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("journalist_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journalist_id"],
            ["journalists.id"],
            name=op.f("fk_seen_submissions_journalist_id_journalists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_seen_submissions_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_submissions")),
        sa.UniqueConstraint(
            "submission_id", "journalist_id", name=op.f("uq_seen_submissions_submission_id")
        ),
    )
    op.create_index(
        op.f("ix_seen_submissions_journalist_id"),
        "seen_submissions",
        ["journalist_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_seen_submissions_submission_id"),
        "seen_submissions",
        ["submission_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_seen_submissions_submission_id"), table_name="seen_submissions")
    op.drop_index(op.f("ix_seen_submissions_journalist_id"), table_name="seen_submissions")

    op.drop_table("seen_submissions")
    op.drop_index(op.f("ix_seen_replies_reply_id"), table_name="seen_replies")
    op.drop_index(op.f("ix_seen_replies_journalist_id"), table_name="seen_replies")

    op.drop_table("seen_replies")
    op.drop_index(op.f("ix_submissions_source_id"), table_name="submissions")

    op.drop_table("submissions")
    op.drop_index(op.f("ix_replies_source_id"), table_name="replies")
    op.drop_index(op.f("ix_replies_journalist_id"), table_name="replies")

    op.drop_table("replies")
    op.drop_index(op.f("ix_login_attempts_journalist_id"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_attempted_at"), table_name="login_attempts")

    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_journalist_sessions_journalist_id"), table_name="journalist_sessions")
    op.drop_index(op.f("ix_journalist_sessions_expires_at"), table_name="journalist_sessions")

    op.drop_table("journalist_sessions")
    op.drop_index(op.f("ix_sources_last_updated"), table_name="sources")

    op.drop_table("sources")
    op.drop_table("journalists")
    op.drop_table("instance_config")
    op.drop_table("audit_entries")
    op.drop_table("audit_checkpoints")
