"""Add submissions.bundled: whether the item was in a transfer bundle that was downloaded.

"Download unread" used to leave out anything a staff member had opened, including files
downloaded one by one, which the workstation cannot import: such files could vanish from the
workflow. The next bundle now holds every item not yet in a downloaded bundle. Existing rows
start as not bundled, so nothing already received can be left out (a workstation skips items it
has already imported).

Revision ID: 0004
Revises: 0003
Created: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("bundled", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("bundled")
