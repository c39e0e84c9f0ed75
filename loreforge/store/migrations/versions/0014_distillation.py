"""distillation without documents: a topic's tag tree, questions per leaf, answers from the model's own knowledge
(issue 15)

`distill_tags` holds each project's distillation trees: a topic at depth 0, its sub-tags below (`parent_id`), with
provenance. `questions.distill_tag_id` links a distilled question to its leaf; `dataset_items.distilled` marks an
item answered from the model's own knowledge (never counted as grounded).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "distill_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_name", sa.String(length=100), nullable=True),
        sa.Column("prompt_hash", sa.String(length=64), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_distill_tags_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["distill_tags.id"], name=op.f("fk_distill_tags_parent_id_distill_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distill_tags")),
        sa.UniqueConstraint("project_id", "parent_id", "label", name="uq_distill_tags_project_parent_label"),
    )
    with op.batch_alter_table("distill_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_distill_tags_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_distill_tags_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_distill_tags_input_hash"), ["input_hash"], unique=False)
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distill_tag_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_questions_distill_tag_id"), ["distill_tag_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_questions_distill_tag_id_distill_tags"), "distill_tags", ["distill_tag_id"], ["id"],
                                    ondelete="SET NULL")
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distilled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("dataset_items", schema=None) as batch_op:
        batch_op.drop_column("distilled")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_questions_distill_tag_id_distill_tags"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_questions_distill_tag_id"))
        batch_op.drop_column("distill_tag_id")
    with op.batch_alter_table("distill_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distill_tags_input_hash"))
        batch_op.drop_index(batch_op.f("ix_distill_tags_parent_id"))
        batch_op.drop_index(batch_op.f("ix_distill_tags_project_id"))
    op.drop_table("distill_tags")
