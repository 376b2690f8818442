"""Add source_sessions: the hashes of open source logins, so logging out revokes a login.

Revision ID: 0002
Revises: 0001
Created: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_source_sessions")),
    )
    op.create_index(
        op.f("ix_source_sessions_expires_at"), "source_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_source_sessions_expires_at"), table_name="source_sessions")
    op.drop_table("source_sessions")
