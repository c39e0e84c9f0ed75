"""probes: stored, reusable probe sets for knowledge evaluation (issue 11)

- `probe_sets`: one named set per project (unique on project, name) with the kinds it holds, its language,
  how it was built (`params`) and what was built and dropped (`counts`: leakage is counted, never hidden).
- `probes`: the questions of a set in order (unique on set, position): kind, question type, question,
  reference, the checkable key value and its kind, choice options and the correct answer, the document,
  chunk and dataset item it came from (kept as NULL when those are deleted), the training question it was
  derived from, and its provenance.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_sets()
    _create_probes()


def _create_sets() -> None:
    op.create_table(
        "probe_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_probe_sets_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_sets")),
        sa.UniqueConstraint("project_id", "name", name="uq_probe_sets_project_name"),
    )
    with op.batch_alter_table("probe_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probe_sets_project_id"), ["project_id"], unique=False)


def _create_probes() -> None:
    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("qtype", sa.String(length=20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("key_kind", sa.String(length=20), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("chunk_id", sa.Integer(), nullable=True),
        sa.Column("dataset_item_id", sa.Integer(), nullable=True),
        sa.Column("tag", sa.String(length=300), nullable=True),
        sa.Column("source_question", sa.Text(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["probe_set_id"], ["probe_sets.id"], name=op.f("fk_probes_probe_set_id_probe_sets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], name=op.f("fk_probes_document_id_documents"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["chunk_id"], ["chunks.id"], name=op.f("fk_probes_chunk_id_chunks"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_item_id"], ["dataset_items.id"], name=op.f("fk_probes_dataset_item_id_dataset_items"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probes")),
        sa.UniqueConstraint("probe_set_id", "position", name="uq_probes_set_position"),
    )
    with op.batch_alter_table("probes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probes_probe_set_id"), ["probe_set_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("probes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probes_probe_set_id"))
    op.drop_table("probes")
    with op.batch_alter_table("probe_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probe_sets_project_id"))
    op.drop_table("probe_sets")
