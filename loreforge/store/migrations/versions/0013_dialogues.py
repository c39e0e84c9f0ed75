"""multi-turn dialogues as dataset items (issue 15)

`dataset_items.kind` says what an item is: `qa` (a question and its answer; every item so far) or `dialogue` (a
conversation of several rounds: the earlier turns in `history`, the last user message and assistant reply in
`question` and `answer`, its system prompt in `system`). `dataset_items.meta` holds a dialogue's roles, scenario
and rounds. A question has at most one item of each kind: the unique key moves from `question_id` to
(`question_id`, `kind`).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="qa"))
        batch_op.add_column(sa.Column("meta", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_dataset_items_kind"), ["kind"], unique=False)
        batch_op.drop_constraint(batch_op.f("uq_dataset_items_question_id"), type_="unique")
        batch_op.create_unique_constraint("uq_dataset_items_question_kind", ["question_id", "kind"])


def downgrade() -> None:
    op.execute("DELETE FROM dataset_items WHERE kind <> 'qa'")  # a question held one item before: dialogues cannot stay
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dataset_items_question_kind", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_dataset_items_question_id"), ["question_id"])
        batch_op.drop_index(batch_op.f("ix_dataset_items_kind"))
        batch_op.drop_column("meta")
        batch_op.drop_column("kind")
