"""genre–audience pairs: per document, the styles question generation multiplies by (issue 15)

`ga_pairs` holds each document's pairs (genre and audience, a title and a description each; `active` toggles
one), with their provenance. `questions.ga_pair_id` and `dataset_items.ga_pair_id` record the pair a row was made
in (SET NULL when the pair goes).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ga_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("genre_title", sa.String(length=300), nullable=False),
        sa.Column("genre_description", sa.Text(), nullable=False),
        sa.Column("audience_title", sa.String(length=300), nullable=False),
        sa.Column("audience_description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
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
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_ga_pairs_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_ga_pairs_document_id_documents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ga_pairs")),
    )
    with op.batch_alter_table("ga_pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ga_pairs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ga_pairs_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ga_pairs_input_hash"), ["input_hash"], unique=False)
    for table in ("questions", "dataset_items"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ga_pair_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_ga_pair_id"), ["ga_pair_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_ga_pair_id_ga_pairs"), "ga_pairs", ["ga_pair_id"], ["id"],
                                        ondelete="SET NULL")


def downgrade() -> None:
    for table in ("dataset_items", "questions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_ga_pair_id_ga_pairs"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_ga_pair_id"))
            batch_op.drop_column("ga_pair_id")
    with op.batch_alter_table("ga_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ga_pairs_input_hash"))
        batch_op.drop_index(batch_op.f("ix_ga_pairs_document_id"))
        batch_op.drop_index(batch_op.f("ix_ga_pairs_project_id"))
    op.drop_table("ga_pairs")
