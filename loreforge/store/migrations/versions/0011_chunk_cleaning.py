"""chunk cleaning: a cleaned chunk keeps its original text and what the cleaning did (issue 15)

`chunks.original_text` holds the text before the first cleaning (NULL: never cleaned), `chunks.cleaning` how it
was cleaned (source, model, prompt name and hash, tokens, the figures that changed and whether that is flagged).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cleaning", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_column("cleaning")
        batch_op.drop_column("original_text")
