"""train runs: worker pid, heartbeat and live progress (background and multi-process runs)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("train_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("log_file", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("train_runs", schema=None) as batch_op:
        batch_op.drop_column("log_file")
        batch_op.drop_column("progress")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")
