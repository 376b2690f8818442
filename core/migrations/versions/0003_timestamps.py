"""Add timestamp_trees, timestamp_leaves and timestamp_tokens: Merkle trees over received
ciphertext, each file's inclusion path, and the RFC 3161 tokens on each root.

Revision ID: 0003
Revises: 0002
Created: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timestamp_trees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_trees")),
        sa.UniqueConstraint("root", name=op.f("uq_timestamp_trees_root")),
    )
    op.create_table(
        "timestamp_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_timestamp_leaves_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tree_id"],
            ["timestamp_trees.id"],
            name=op.f("fk_timestamp_leaves_tree_id_timestamp_trees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_leaves")),
        sa.UniqueConstraint("tree_id", "position", name=op.f("uq_timestamp_leaves_tree_id")),
    )
    op.create_index(
        op.f("ix_timestamp_leaves_submission_id"), "timestamp_leaves", ["submission_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_timestamp_leaves_tree_id"), "timestamp_leaves", ["tree_id"], unique=False
    )
    op.create_table(
        "timestamp_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_id", sa.Integer(), nullable=False),
        sa.Column("tsa_url", sa.String(length=255), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", sa.DateTime(), nullable=False),
        sa.Column("obtained_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tree_id"],
            ["timestamp_trees.id"],
            name=op.f("fk_timestamp_tokens_tree_id_timestamp_trees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_tokens")),
        sa.UniqueConstraint("tree_id", "tsa_url", name=op.f("uq_timestamp_tokens_tree_id")),
    )
    op.create_index(
        op.f("ix_timestamp_tokens_tree_id"), "timestamp_tokens", ["tree_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_timestamp_tokens_tree_id"), table_name="timestamp_tokens")
    op.drop_table("timestamp_tokens")
    op.drop_index(op.f("ix_timestamp_leaves_tree_id"), table_name="timestamp_leaves")
    op.drop_index(op.f("ix_timestamp_leaves_submission_id"), table_name="timestamp_leaves")
    op.drop_table("timestamp_leaves")
    op.drop_table("timestamp_trees")
