"""dataset review: grounding flag, system prompt and history on dataset items

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grounding_ok", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("system", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("history", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_dataset_items_grounding_ok"), ["grounding_ok"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_items_grounding_ok"))
        batch_op.drop_column("history")
        batch_op.drop_column("system")
        batch_op.drop_column("grounding_ok")
