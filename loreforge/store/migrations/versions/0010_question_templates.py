"""question templates: a fixed question applied to every chunk, with an answer type (issue 15)

`question_templates` holds a project's templates: the question, what it applies to (`source`: text chunks, or
images), the answer type (`text`, `label` from `labels` else "other", or `json` in the user's `json_format`), a
description for the model and an ordinal. `questions.template_id` links the questions a template made (SET NULL
when it is deleted: answered questions stay as plain questions).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("answer_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("json_format", sa.Text(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_question_templates_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_templates")),
    )
    with op.batch_alter_table("question_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_templates_project_id"), ["project_id"], unique=False)
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_questions_template_id"), ["template_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_questions_template_id_question_templates"), "question_templates",
                                    ["template_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_questions_template_id_question_templates"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_questions_template_id"))
        batch_op.drop_column("template_id")
    with op.batch_alter_table("question_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_templates_project_id"))
    op.drop_table("question_templates")
